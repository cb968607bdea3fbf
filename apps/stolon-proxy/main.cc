// stolon-proxy: parses flags and runs a ProxyServer (src/proxy/server.h) until SIGINT/SIGTERM.
#include <sys/resource.h>

#include <cstdio>
#include <exception>

#include "common/flags.h"
#include "common/ids.h"
#include "proxy/config.h"
#include "proxy/server.h"
#include "proxy/store_adapter.h"
#include "spdlog/spdlog.h"
#include "store/change_notifier.h"
#include "store/store.h"
#include "store/store_config.h"

namespace {

// Thousands of client connections need two descriptors each: take the whole hard limit.
void RaiseFileLimit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

int Fail(const std::string& msg) {
  std::fprintf(stderr, "stolon-proxy: %s\n", msg.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace stolon;
  proxy::ParsedFlags flags = proxy::ParseProxyFlags(std::vector<std::string>(argv, argv + argc));
  if (flags.exit) return PrintParseResult({true, flags.exit_code, flags.message});
  const proxy::ProxyConfig& config = flags.config;
  if (absl::Status st = InitLoggingFromFlags(config.common); !st.ok())
    return Fail(std::string(st.message()));
  if (config.common.debug) spdlog::warn("--debug is deprecated, use --log-level=debug");
  absl::StatusOr<store::StoreConfig> sc = store::StoreConfigFromFlags(config.common);
  if (!sc.ok()) return Fail(std::string(sc.status().message()));
  absl::StatusOr<std::unique_ptr<store::KvStore>> kv = store::NewKvStore(*sc);
  if (!kv.ok()) return Fail("cannot create store: " + std::string(kv.status().message()));
  RaiseFileLimit();
  try {
    store::Store domain_store(**kv, sc->BasePath());
    proxy::StoreProxyStore proxy_store(domain_store);
    proxy::ProxyServer server(config, proxy_store, NewUid());
    store::ChangeNotifier notifier(**kv, domain_store.ClusterDataKey(), [&](const auto& events) {
      if (events.back().type == store::KvEvent::Type::kPut) {
        server.OnClusterDataChanged(events.back().kv.value);
      }
    });
    return server.Run();
  } catch (const std::exception& e) {
    spdlog::critical("stolon-proxy failed: {}", e.what());
    return 1;
  }
}
