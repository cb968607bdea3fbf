// Whole-file reads and crash-safe replacement of small files (state, configuration).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace stolon {

// The contents of `path`. NotFound when it does not exist; Internal for any other error, with
// the path and the system's reason.
absl::StatusOr<std::string> ReadFile(const std::string& path);

// As ReadFile, but a missing file is an empty optional rather than an error.
absl::StatusOr<std::optional<std::string>> ReadFileIfExists(const std::string& path);

// The system calls AtomicWriteFile makes that can fail after the data is written; a test swaps
// them to check that a failure leaves the previous file intact.
struct AtomicWriteSyscalls {
  int (*fsync)(int fd);
  int (*rename)(const char* from, const char* to);
};
const AtomicWriteSyscalls& DefaultAtomicWriteSyscalls();

// Replaces `path` with `content` so that after a crash it holds either the old or the new
// content, never a mix: a temporary file in the same directory, written, fsynced and given
// `mode`, renamed over `path`, then the directory fsynced so the rename itself is durable.
// Every failing step is reported (naming the file and the reason); on failure before the
// rename the temporary file is removed and `path` is untouched.
absl::Status AtomicWriteFile(const std::string& path, std::string_view content, mode_t mode = 0600,
                             const AtomicWriteSyscalls& sys = DefaultAtomicWriteSyscalls());

}  // namespace stolon
