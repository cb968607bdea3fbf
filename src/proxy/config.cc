#include "proxy/config.h"

#include "CLI/CLI.hpp"
#include "fmt/format.h"
#include "store/store_config.h"

namespace stolon::proxy {

ParsedFlags ParseProxyFlags(const std::vector<std::string>& argv,
                            const char* (*getenv_fn)(const char*)) {
  ParsedFlags out;
  ProxyConfig& c = out.config;
  CLI::App app{"Stolon proxy", "stolon-proxy"};
  AddCommonFlags(app, c.common, Component::kProxy);
  app.add_option("--listen-address", c.listen_address, "proxy listening address")
      ->capture_default_str();
  app.add_option("--port", c.port, "proxy listening port")->capture_default_str();
  // A Go bool flag: --stop-listening, --stop-listening=true|false.
  app.add_flag("--stop-listening", c.stop_listening, "stop listening on store error")
      ->default_str("true");
  app.add_option("--tcp-keepalive-idle", c.keepalive_idle, "set tcp keepalive idle (seconds)")
      ->capture_default_str();
  app.add_option("--tcp-keepalive-count", c.keepalive_count, "set tcp keepalive probe count number")
      ->capture_default_str();
  app.add_option("--tcp-keepalive-interval", c.keepalive_interval,
                 "set tcp keepalive interval (seconds)")
      ->capture_default_str();
  app.add_option("--relay-threads", c.relay_threads,
                 "threads relaying client connections (0: one per CPU)")
      ->capture_default_str();

  std::vector<std::string> args(argv.begin() + (argv.empty() ? 0 : 1), argv.end());
  FlagParseResult parsed = ParseCommandLine(app, args, "stolon-proxy", "STPROXY", getenv_fn);
  if (parsed.exit) {
    out.exit = true;
    out.exit_code = parsed.exit_code;
    out.message = std::move(parsed.message);
    return out;
  }

  auto fail = [&](std::string msg) {
    out.exit = true;
    out.exit_code = 1;
    out.message = "stolon-proxy: " + std::move(msg);
    return out;
  };
  if (c.keepalive_idle < 0) return fail("tcp keepalive idle value must be greater or equal to 0");
  if (c.keepalive_count < 0) return fail("tcp keepalive count value must be greater or equal to 0");
  if (c.keepalive_interval < 0)
    return fail("tcp keepalive interval value must be greater or equal to 0");
  if (c.relay_threads < 0 || c.relay_threads > 256)
    return fail(fmt::format("invalid --relay-threads {}: must be between 0 (one per CPU) and 256",
                            c.relay_threads));
  if (c.port < 0 || c.port > 65535)
    return fail(fmt::format("invalid --port {}: must be between 0 and 65535", c.port));
  if (absl::Status st = ValidateCommonConfig(c.common); !st.ok())
    return fail(std::string(st.message()));
  if (auto sc = store::StoreConfigFromFlags(c.common); !sc.ok()) {
    return fail(std::string(sc.status().message()));
  }
  return out;
}

}  // namespace stolon::proxy
