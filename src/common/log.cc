#include "common/log.h"

#include <unistd.h>

#include "nlohmann/json.hpp"
#include "spdlog/pattern_formatter.h"
#include "spdlog/sinks/stdout_color_sinks.h"

namespace stolon {
namespace {

// Upper-case level names as zap prints them (zap has no trace level: trace prints as DEBUG).
std::string_view ZapLevelName(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
    case spdlog::level::debug:
      return "DEBUG";
    case spdlog::level::warn:
      return "WARN";
    case spdlog::level::err:
      return "ERROR";
    case spdlog::level::critical:
      return "FATAL";
    default:
      return "INFO";
  }
}

class UpperLevelFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const std::string_view name = ZapLevelName(msg.level);
    dest.append(name.data(), name.data() + name.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<UpperLevelFlag>();
  }
};

}  // namespace

absl::Status InitLogging(std::string_view level, bool color) {
  spdlog::level::level_enum lvl;
  if (level == "debug")
    lvl = spdlog::level::debug;
  else if (level == "info")
    lvl = spdlog::level::info;
  else if (level == "warn")
    lvl = spdlog::level::warn;
  else if (level == "error")
    lvl = spdlog::level::err;
  else
    return absl::InvalidArgumentError("invalid log level: \"" + std::string(level) +
                                      "\" (use debug, info, warn or error)");
  auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>(
      color ? spdlog::color_mode::always : spdlog::color_mode::never);
  auto logger = std::make_shared<spdlog::logger>("stolon", sink);
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  formatter->add_flag<UpperLevelFlag>('*').set_pattern("%Y-%m-%dT%H:%M:%S.%eZ\t%^%*%$\t%v");
  logger->set_formatter(std::move(formatter));
  logger->set_level(lvl);
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
  return absl::OkStatus();
}

std::string LogFields(std::initializer_list<std::pair<std::string_view, std::string>> fields) {
  std::string out = "\t{";
  bool first = true;
  for (const auto& [k, v] : fields) {
    if (!first) out += ", ";
    first = false;
    out += nlohmann::json(std::string(k)).dump();
    out += ": ";
    out += nlohmann::json(v).dump();
  }
  out += "}";
  return out;
}

}  // namespace stolon
