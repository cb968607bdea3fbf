#include "proxy/config.h"

#include <algorithm>
#include <cstdlib>

#include "fmt/format.h"

namespace stolon::proxy {

namespace {
const char* RealGetenv(const char* name) { return std::getenv(name); }
}  // namespace

ParsedFlags ParseProxyFlags(const std::vector<std::string>& argv,
                            const char* (*getenv_fn)(const char*)) {
  if (getenv_fn == nullptr) getenv_fn = RealGetenv;
  ParsedFlags out;
  ProxyConfig& c = out.config;
  CLI::App app{"Stolon proxy", "stolon-proxy"};
  app.set_version_flag("--version", STOLON_VERSION);
  AddCommonFlags(app, c.common, Component::kProxy);
  app.add_option("--listen-address", c.listen_address, "proxy listening address")
      ->capture_default_str();
  app.add_option("--port", c.port, "proxy listening port")->capture_default_str();
  // A Go bool flag: --stop-listening, --stop-listening=true|false.
  app.add_flag("--stop-listening", c.stop_listening, "stop listening on store error")
      ->default_str("true");
  app.add_option("--tcp-keepalive-idle", c.keepalive_idle,
                 "set tcp keepalive idle (seconds)")->capture_default_str();
  app.add_option("--tcp-keepalive-count", c.keepalive_count,
                 "set tcp keepalive probe count number")->capture_default_str();
  app.add_option("--tcp-keepalive-interval", c.keepalive_interval,
                 "set tcp keepalive interval (seconds)")->capture_default_str();

  std::vector<std::string> args(argv.begin() + (argv.empty() ? 0 : 1), argv.end());
  std::reverse(args.begin(), args.end());  // CLI11 consumes a reversed vector
  try {
    app.parse(args);
    // Environment: only for flags not given on the command line; empty values are ignored.
    for (CLI::Option* opt : app.get_options()) {
      if (opt->get_lnames().empty() || opt->count() > 0) continue;
      const std::string& name = opt->get_lnames().front();
      if (name == "help" || name == "version") continue;
      std::string key = EnvName("STPROXY", name);
      const char* v = getenv_fn(key.c_str());
      if (v == nullptr || *v == '\0') continue;
      try {
        opt->add_result(std::string(v));
        opt->run_callback();
      } catch (const CLI::Error& e) {
        out.exit = true;
        out.exit_code = 1;
        out.message = fmt::format("invalid value \"{}\" for {}: {}", v, key, e.what());
        return out;
      }
    }
  } catch (const CLI::CallForHelp&) {
    out.exit = true;
    out.message = app.help();
    return out;
  } catch (const CLI::CallForVersion&) {
    out.exit = true;
    out.message = std::string(STOLON_VERSION) + "\n";
    return out;
  } catch (const CLI::ParseError& e) {
    out.exit = true;
    out.exit_code = 1;
    out.message = fmt::format("{} (see stolon-proxy --help)", e.what());
    return out;
  }

  auto fail = [&](std::string msg) {
    out.exit = true;
    out.exit_code = 1;
    out.message = std::move(msg);
    return out;
  };
  if (c.keepalive_idle < 0) return fail("tcp keepalive idle value must be greater or equal to 0");
  if (c.keepalive_count < 0) return fail("tcp keepalive count value must be greater or equal to 0");
  if (c.keepalive_interval < 0)
    return fail("tcp keepalive interval value must be greater or equal to 0");
  if (c.port < 0 || c.port > 65535)
    return fail(fmt::format("invalid --port {}: must be between 0 and 65535", c.port));
  if (absl::Status st = ValidateCommonConfig(c.common); !st.ok()) return fail(std::string(st.message()));
  return out;
}

}  // namespace stolon::proxy
