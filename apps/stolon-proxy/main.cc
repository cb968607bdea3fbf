// stolon-proxy: forwards client connections to the elected master only (proxy/daemon.h).
#include "common/flags.h"
#include "daemon/daemon.h"
#include "proxy/config.h"
#include "proxy/daemon.h"
#include "spdlog/spdlog.h"

int main(int argc, char** argv) {
  using namespace stolon;
  proxy::ParsedFlags flags = proxy::ParseProxyFlags(std::vector<std::string>(argv, argv + argc));
  if (flags.exit) return PrintParseResult({true, flags.exit_code, flags.message});
  const DaemonNames names{"stolon-proxy", "stolon proxy"};
  if (absl::Status st = InitLoggingFromFlags(flags.config.common); !st.ok()) {
    return StartFailure(names, st);
  }
  if (flags.config.common.debug) spdlog::warn("--debug is deprecated, use --log-level=debug");
  return RunMain(names, [&](Env& env) { return proxy::ProxyDaemon::Create(flags.config, env); });
}
