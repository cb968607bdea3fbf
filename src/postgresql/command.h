// Running the PostgreSQL tools (initdb, pg_ctl, pg_basebackup, pg_rewind, postgres -V) as child
// processes with captured output and an optional deadline.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace stolon::postgresql {

struct CommandResult {
  int exit_code = -1;   // -1 when killed by a signal or by the deadline
  int term_signal = 0;  // the signal that ended the program (SIGKILL after the deadline), or 0
  bool timed_out = false;
  std::string output;  // stdout+stderr interleaved (the last 256 KiB)
  // The last `n` non-empty output lines joined by "\n" (for error messages).
  std::string Tail(size_t n = 10) const;
};

// Runs argv (argv[0] without a '/' is searched in PATH) with `env` added to our environment,
// stdin on /dev/null and no other inherited descriptors. `on_line` (optional) is called from this
// thread for each output line as it arrives. A zero timeout means no limit; on timeout the
// process group is killed. Error status only when the program cannot be started.
absl::StatusOr<CommandResult> RunCommand(
    const std::vector<std::string>& argv, const std::map<std::string, std::string>& env = {},
    std::chrono::milliseconds timeout = std::chrono::milliseconds(0),
    const std::function<void(const std::string&)>& on_line = nullptr);

// Where a spawned child runs: its own process group (RunCommand: a timeout kills the group, the
// tool's children included), or its own session (postgres: a Ctrl-C or SIGTERM aimed at the
// keeper's terminal or group does not reach it; the keeper stops it with pg_ctl).
enum class ChildGroup { kNewProcessGroup, kNewSession };

struct SpawnedChild {
  pid_t pid = -1;
  int output_fd =
      -1;  // read end of the child's stdout+stderr (close-on-exec); the caller closes it
};

// The one fork/exec of the program: argv (argv[0] without a '/' is searched in PATH) with `env`
// added to our environment, stdin on /dev/null, stdout and stderr to a pipe, no other inherited
// descriptor. An exec failure shows as exit code 127 with "exec failed: <argv[0]>" in the output.
absl::StatusOr<SpawnedChild> SpawnChild(const std::vector<std::string>& argv,
                                        const std::map<std::string, std::string>& env,
                                        ChildGroup group);

// Builds an envp vector: our environment with `overrides` applied ("K=V" strings).
std::vector<std::string> BuildEnv(const std::map<std::string, std::string>& overrides);

// Closes every descriptor >= 3 (used in children between fork and exec).
void CloseFromFd3();

}  // namespace stolon::postgresql
