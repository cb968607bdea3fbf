// The store operations the keeper needs: read the cluster data, publish our KeeperInfo.
// DomainKeeperStore (store_adapter.h) implements them over etcd; tests use a fake.
#pragma once

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cluster/cluster.h"
#include "common/duration.h"

namespace stolon::keeper {

class KeeperStore {
 public:
  virtual ~KeeperStore() = default;
  // The cluster data; nullopt when there is none yet. kUnavailable when the store is unreachable.
  virtual absl::StatusOr<std::optional<cluster::ClusterData>> GetClusterData() = 0;
  // Publishes our KeeperInfo under keepers/info/<uid> with a TTL (floored by the store).
  virtual absl::Status SetKeeperInfo(const std::string& uid, const cluster::KeeperInfo& ki,
                                     Duration ttl) = 0;
};

}  // namespace stolon::keeper
