// KvKeeperStore: KeeperStore over a KvStore with stolon's key layout
// (<base>/clusterdata, <base>/keepers/info/<uid>).
#pragma once

#include <string>

#include "keeper/state_machine.h"
#include "store/kv_store.h"

namespace stolon::keeper {

class KvKeeperStore final : public KeeperStore {
 public:
  // `kv` must outlive this. `base` is the cluster's key base ("stolon/cluster/<name>").
  KvKeeperStore(store::KvStore& kv, std::string base) : kv_(kv), base_(std::move(base)) {}

  absl::StatusOr<std::optional<cluster::ClusterData>> GetClusterData() override;
  absl::Status SetKeeperInfo(const std::string& uid, const cluster::KeeperInfo& ki,
                             Duration ttl) override;

 private:
  store::KvStore& kv_;
  std::string base_;
};

}  // namespace stolon::keeper
