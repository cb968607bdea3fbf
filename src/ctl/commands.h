// stolonctl's command line: global flags (stolon v0.17 names, STOLONCTL_* env), the subcommands,
// their output and exit codes. Runs in-process with injected streams and store so tests can drive
// it without spawning the binary.
#pragma once

#include <functional>
#include <iosfwd>
#include <memory>

#include "absl/status/statusor.h"
#include "common/flags.h"
#include "store/store.h"
#include "store/store_config.h"

namespace stolon::ctl {

// Streams of one invocation.
struct CtlIo {
  std::istream& in;
  std::ostream& out;
  std::ostream& err;
};

// Opens the KvStore described by the validated store settings. The default opens etcd; tests
// pass one that hands out a shared in-memory store.
using StoreFactory =
    std::function<absl::StatusOr<std::unique_ptr<store::KvStore>>(const store::StoreConfig&)>;
StoreFactory DefaultStoreFactory();

// Runs stolonctl with `args` (without the program name). Returns the process exit code:
// 0 on success (and for --help/--version), 1 on any error, a command-line one included (one line
// "stolonctl: <problem>" on `io.err`).
int RunStolonctl(const std::vector<std::string>& args, CtlIo io, const StoreFactory& factory);

// The bash completion script printed by `stolonctl completion bash`.
std::string BashCompletionScript();

}  // namespace stolon::ctl
