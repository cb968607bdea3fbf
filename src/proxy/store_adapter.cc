#include "proxy/store_adapter.h"

#include "common/status.h"

namespace stolon::proxy {

absl::StatusOr<std::optional<cluster::ClusterData>> StoreProxyStore::GetClusterData() {
  ASSIGN_OR_RETURN(auto cd, store_.GetClusterData());
  if (!cd) return std::optional<cluster::ClusterData>();
  return std::optional<cluster::ClusterData>(std::move(cd->value));
}

absl::Status StoreProxyStore::SetProxyInfo(const cluster::ProxyInfo& info, Duration ttl) {
  return store_.SetProxyInfo(info, std::chrono::ceil<std::chrono::seconds>(ttl));
}

}  // namespace stolon::proxy
