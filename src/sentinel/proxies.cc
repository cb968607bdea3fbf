// The proxy handshake (stolon's normal phase, step 5): a master is published to proxies only
// after every active proxy acknowledged the "no master" generation and, unlike stolon, only once
// the new master's keeper reported it converged to its current generation (its promotion done):
// before that the proxies would send clients to a server still in recovery ("cannot execute
// INSERT in a read-only transaction"). Then the enabled proxy list follows the active proxies.
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
    const DB& master = next.dbs.at(master_uid);
    if (!master.status.healthy || master.status.current_generation != master.generation) {
      ctx.log.Add(
          "waiting for master db {} on keeper {} to report its promotion before publishing it to "
          "the proxies: healthy {}, generation {} reported {}",
          master_uid, master.spec.keeper_uid, master.status.healthy, master.generation,
          master.status.current_generation);
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
