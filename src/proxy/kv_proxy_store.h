// ProxyStore over the generic KvStore: the clusterdata at <base>/clusterdata and this proxy's
// info at <base>/proxies/info/<uid> (stolon's key layout), JSON as stolon writes it.
#pragma once

#include <string>

#include "proxy/checker.h"
#include "store/kv_store.h"

namespace stolon::proxy {

class KvProxyStore final : public ProxyStore {
 public:
  // `kv` must outlive this object; `base_path` is StoreConfig::BasePath() ("stolon/cluster/<name>").
  KvProxyStore(store::KvStore& kv, std::string base_path);

  // Linearizable Get of the clusterdata key; a missing key or JSON null is nullopt. Decode errors
  // keep the codes of cluster::ParseClusterDataOrNull (FailedPrecondition for a wrong
  // formatVersion, InvalidArgument otherwise).
  absl::StatusOr<std::optional<cluster::ClusterData>> GetClusterData() override;
  // Put with a fresh lease of `ttl` (rounded up to whole seconds).
  absl::Status SetProxyInfo(const cluster::ProxyInfo& info, Duration ttl) override;

 private:
  store::KvStore& kv_;
  std::string base_;
};

}  // namespace stolon::proxy
