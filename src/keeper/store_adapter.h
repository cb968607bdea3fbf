// KeeperStore over the domain store::Store: stolon's key layout and the info TTL floor.
#pragma once

#include <memory>

#include "keeper/store.h"
#include "store/kv_store.h"
#include "store/store.h"

namespace stolon::keeper {

class DomainKeeperStore final : public KeeperStore {
 public:
  // Takes ownership of `kv`; `base` is the cluster's key base.
  DomainKeeperStore(std::unique_ptr<store::KvStore> kv, std::string base)
      : kv_(std::move(kv)), store_(*kv_, std::move(base)) {}

  absl::StatusOr<std::optional<cluster::ClusterData>> GetClusterData() override;
  absl::Status SetKeeperInfo(const std::string& uid, const cluster::KeeperInfo& ki,
                             Duration ttl) override;

  store::KvStore& kv() { return *kv_; }
  const std::string& base() const { return store_.base(); }
  std::string ClusterDataKey() const { return store_.ClusterDataKey(); }

 private:
  std::unique_ptr<store::KvStore> kv_;
  store::Store store_;
};

}  // namespace stolon::keeper
