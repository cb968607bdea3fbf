#include "common/change_log.h"

#include "fmt/format.h"
#include "spdlog/spdlog.h"

namespace stolon {

void FailureLog::Note(const absl::Status& s) {
  const bool ok = s.ok();
  if (ok_ == ok) {
    if (!ok)
      spdlog::debug("{}", fmt::format(fmt::runtime(still_failing_), std::string(s.message())));
    return;
  }
  if (!ok) {
    spdlog::error("{}", fmt::format(fmt::runtime(failed_), std::string(s.message())));
  } else if (ok_.has_value()) {
    spdlog::info("{}", recovered_);
  }
  ok_ = ok;
}

}  // namespace stolon
