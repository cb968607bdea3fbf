// "Log once per change", for loops that meet the same condition at every iteration: a store that
// stays unreachable, a cluster data that stays invalid, a stale pid file that stays there.
// Not thread-safe: one per loop.
#pragma once

#include <optional>
#include <string>

#include "absl/status/status.h"

namespace stolon {

// Whether a described state differs from the last one seen. The first call returns true.
class ChangeLog {
 public:
  bool Changed(const std::string& key) {
    if (seen_ && last_ == key) return false;
    last_ = key;
    seen_ = true;
    return true;
  }
  // The next Changed() returns true, whatever its key.
  void Forget() { seen_ = false; }

 private:
  std::string last_;
  bool seen_ = false;
};

// An operation that fails for a while and then works again (a store call). The first failure
// logs an error, repeated failures only a debug line, the first success after a failure one info
// line; a success from the start logs nothing.
class FailureLog {
 public:
  // `failed` is a fmt format with one {} for the error ("cannot publish keeper info: {} (will
  // retry)"); `still_failing` likewise, at debug level; `recovered` is logged as is.
  FailureLog(std::string failed, std::string still_failing, std::string recovered)
      : failed_(std::move(failed)),
        still_failing_(std::move(still_failing)),
        recovered_(std::move(recovered)) {}
  void Note(const absl::Status& s);

 private:
  std::string failed_;
  std::string still_failing_;
  std::string recovered_;
  std::optional<bool> ok_;
};

}  // namespace stolon
