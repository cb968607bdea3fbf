#include "proxy/kv_proxy_store.h"

#include "cluster/json.h"
#include "common/status.h"

namespace stolon::proxy {

KvProxyStore::KvProxyStore(store::KvStore& kv, std::string base_path)
    : kv_(kv), base_(std::move(base_path)) {}

absl::StatusOr<std::optional<cluster::ClusterData>> KvProxyStore::GetClusterData() {
  ASSIGN_OR_RETURN(std::optional<store::KvPair> kv, kv_.Get(base_ + "/clusterdata"));
  if (!kv) return std::optional<cluster::ClusterData>();
  return cluster::ParseClusterDataOrNull(kv->value);
}

absl::Status KvProxyStore::SetProxyInfo(const cluster::ProxyInfo& info, Duration ttl) {
  auto secs = std::chrono::ceil<std::chrono::seconds>(ttl);
  return kv_.Put(base_ + "/proxies/info/" + info.uid, cluster::EncodeProxyInfo(info), secs).status();
}

}  // namespace stolon::proxy
