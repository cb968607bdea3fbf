// DomainKeeperStore: KeeperStore over the domain store::Store (stolon's key layout and TTL floor).
#pragma once

#include "keeper/state_machine.h"
#include "store/store.h"

namespace stolon::keeper {

class DomainKeeperStore final : public KeeperStore {
 public:
  // `store` must outlive this.
  explicit DomainKeeperStore(store::Store& store) : store_(store) {}

  absl::StatusOr<std::optional<cluster::ClusterData>> GetClusterData() override {
    auto v = store_.GetClusterData();
    if (!v.ok()) return v.status();
    if (!v->has_value()) return std::optional<cluster::ClusterData>();
    return std::optional<cluster::ClusterData>(std::move((*v)->value));
  }
  absl::Status SetKeeperInfo(const std::string& uid, const cluster::KeeperInfo& ki,
                             Duration ttl) override {
    return store_.SetKeeperInfo(uid, ki, std::chrono::ceil<std::chrono::seconds>(ttl));
  }

 private:
  store::Store& store_;
};

}  // namespace stolon::keeper
