#include "keeper/store_adapter.h"

namespace stolon::keeper {

absl::StatusOr<std::optional<cluster::ClusterData>> DomainKeeperStore::GetClusterData() {
  auto v = store_.GetClusterData();
  if (!v.ok()) return v.status();
  if (!v->has_value()) return std::optional<cluster::ClusterData>();
  return std::optional<cluster::ClusterData>(std::move((*v)->value));
}

absl::Status DomainKeeperStore::SetKeeperInfo(const std::string& uid, const cluster::KeeperInfo& ki,
                                              Duration ttl) {
  return store_.SetKeeperInfo(uid, ki, std::chrono::ceil<std::chrono::seconds>(ttl));
}

}  // namespace stolon::keeper
