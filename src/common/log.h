// Logging set-up shared by every binary: spdlog on stderr in a layout close to stolon's
// (zap development console): "<ISO8601 UTC>\t<LEVEL>\t<message>\t{"key": "value"}".
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "spdlog/spdlog.h"

namespace stolon {

// Configures the default logger. `level` is one of debug, info, warn, error; anything else is
// InvalidArgument. `color` turns on ANSI level colours.
absl::Status InitLogging(std::string_view level, bool color);

// Renders structured fields the way stolon's logs show them: "\t{"role": "user02", "n": "1"}".
// Use as spdlog::info("replication role created{}", LogFields({{"role", name}})).
std::string LogFields(std::initializer_list<std::pair<std::string_view, std::string>> fields);

}  // namespace stolon
