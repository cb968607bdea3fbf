// ProxyStore over the domain store (store::Store): the clusterdata at <base>/clusterdata and this
// proxy's info at <base>/proxies/info/<uid>, as stolon lays them out.
#pragma once

#include "proxy/checker.h"
#include "store/store.h"

namespace stolon::proxy {

class StoreProxyStore final : public ProxyStore {
 public:
  // `store` must outlive this object.
  explicit StoreProxyStore(store::Store& store) : store_(store) {}

  // store::Store::GetClusterData without the revision (missing key or JSON null: nullopt; decode
  // errors keep their codes: kFailedPrecondition for a wrong formatVersion, else kInvalidArgument).
  absl::StatusOr<std::optional<cluster::ClusterData>> GetClusterData() override;
  // Published with a fresh lease of `ttl` rounded up to whole seconds (floored to 20s by the
  // store).
  absl::Status SetProxyInfo(const cluster::ProxyInfo& info, Duration ttl) override;

 private:
  store::Store& store_;
};

}  // namespace stolon::proxy
