// The proxy handshake (4.7 step 5): a master is published to proxies only after every active
// proxy acknowledged the "no master" generation; then the enabled proxy list follows the
// active proxies.
#include "sentinel/internal.h"

namespace stolon::sentinel::internal {

void UpdateProxySpec(const std::string& master_uid, const cluster::ProxiesInfo& active,
                     ClusterData& next, Ctx& ctx) {
  cluster::Proxy& proxy = next.proxy;
  if (proxy.spec.master_db_uid.empty()) {
    std::vector<std::string> unconverged;
    for (const auto& [uid, pi] : active) {
      if (pi.generation != proxy.generation) {
        unconverged.push_back(fmt::format("{} at generation {}", uid, pi.generation));
      }
    }
    if (!unconverged.empty()) {
      ctx.log.Add("waiting for proxies to be converged to the current generation {}: {}",
                  proxy.generation, Join(unconverged));
      return;
    }
    proxy.spec.master_db_uid = master_uid;
    ++proxy.generation;
    ctx.log.Add(
        "all {} active proxies acknowledged generation {}: publishing master db {} "
        "(proxy generation {})",
        active.size(), proxy.generation - 1, master_uid, proxy.generation);
    return;
  }
  std::vector<std::string> enabled;
  for (const auto& [uid, pi] : active) enabled.push_back(uid);  // map order: sorted
  if (enabled != proxy.spec.enabled_proxies) {
    ctx.log.Add("enabled proxies {} -> {} (proxy generation {})", Join(proxy.spec.enabled_proxies),
                Join(enabled), proxy.generation + 1);
    proxy.spec.enabled_proxies = std::move(enabled);
    ++proxy.generation;
  }
}

}  // namespace stolon::sentinel::internal
