#include "proxy/daemon.h"

#include <sys/resource.h>

#include <optional>
#include <thread>

#include "common/status.h"
#include "proxy/server.h"
#include "proxy/store_adapter.h"
#include "spdlog/spdlog.h"
#include "store/change_notifier.h"
#include "store/store.h"
#include "store/store_config.h"

namespace stolon::proxy {
namespace {

// Thousands of client connections need two descriptors each: take the whole hard limit.
void RaiseFileLimit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

}  // namespace

// Everything the proxy runs, in the order it is built; destroyed in reverse.
struct ProxyDaemon::Parts {
  Parts(ProxyConfig c, Env& e, store::StoreConfig sc, std::unique_ptr<store::KvStore> k)
      : config(std::move(c)),
        env(e),
        store_config(std::move(sc)),
        kv(std::move(k)),
        domain_store(*kv, store_config.BasePath()),
        proxy_store(domain_store),
        server(config, proxy_store, env.ids->NewUid()) {}

  ProxyConfig config;
  Env& env;
  store::StoreConfig store_config;
  std::unique_ptr<store::KvStore> kv;
  store::Store domain_store;
  StoreProxyStore proxy_store;
  ProxyServer server;
  std::optional<store::ChangeNotifier> notifier;
  std::thread server_thread;
  int exit_code = 0;
};

absl::StatusOr<std::unique_ptr<Daemon>> ProxyDaemon::Create(ProxyConfig config, Env& env) {
  ASSIGN_OR_RETURN(store::StoreConfig store_config, store::StoreConfigFromFlags(config.common));
  auto kv = env.open_store(store_config);
  if (!kv.ok()) {
    return absl::Status(kv.status().code(),
                        "cannot create store: " + std::string(kv.status().message()));
  }
  return std::unique_ptr<Daemon>(new ProxyDaemon(
      std::make_unique<Parts>(std::move(config), env, std::move(store_config), std::move(*kv))));
}

ProxyDaemon::ProxyDaemon(std::unique_ptr<Parts> parts) : p_(std::move(parts)) {}
ProxyDaemon::~ProxyDaemon() = default;

absl::Status ProxyDaemon::Start() {
  Parts& p = *p_;
  RaiseFileLimit();
  RETURN_IF_ERROR(p.server.StartEndpoint());
  p.notifier.emplace(*p.kv, p.domain_store.ClusterDataKey(), [&p](const auto& events) {
    if (events.back().type == store::KvEvent::Type::kPut) {
      p.server.OnClusterDataChanged(events.back().kv.value);
    }
  });
  p.server_thread = std::thread([&p] { p.exit_code = p.server.Run(); });
  return absl::OkStatus();
}

int ProxyDaemon::Stop() {
  Parts& p = *p_;
  p.notifier.reset();
  p.server.Stop();
  p.server_thread.join();
  return p.exit_code;
}

}  // namespace stolon::proxy
