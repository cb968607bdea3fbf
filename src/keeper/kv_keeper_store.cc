#include "keeper/kv_keeper_store.h"

#include <algorithm>

#include "cluster/json.h"
#include "common/status.h"

namespace stolon::keeper {

absl::StatusOr<std::optional<cluster::ClusterData>> KvKeeperStore::GetClusterData() {
  ASSIGN_OR_RETURN(auto kv, kv_.Get(base_ + "/clusterdata"));
  if (!kv.has_value()) return std::optional<cluster::ClusterData>();
  return cluster::ParseClusterDataOrNull(kv->value);
}

absl::Status KvKeeperStore::SetKeeperInfo(const std::string& uid, const cluster::KeeperInfo& ki,
                                          Duration ttl) {
  // Whole seconds, rounded up, floored to stolon's MinTTL of 20s.
  auto secs = std::max(std::chrono::seconds(20), std::chrono::ceil<std::chrono::seconds>(ttl));
  return kv_.Put(base_ + "/keepers/info/" + uid, cluster::EncodeKeeperInfo(ki), secs).status();
}

}  // namespace stolon::keeper
