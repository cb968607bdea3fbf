#include "store/store.h"

#include "cluster/json.h"
#include "common/log.h"
#include "common/status.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"

namespace stolon::store {

Store::Store(KvStore& kv, std::string base) : kv_(kv), base_(std::move(base)) {}

absl::StatusOr<std::optional<Versioned<cluster::ClusterData>>> Store::GetClusterData() {
  using Result = std::optional<Versioned<cluster::ClusterData>>;
  const std::string key = ClusterDataKey();
  ASSIGN_OR_RETURN(std::optional<KvPair> kv, kv_.Get(key));
  if (!kv) return Result();
  auto cd = cluster::ParseClusterDataOrNull(kv->value);
  if (!cd.ok()) {
    return Annotate(cd.status(),
                    fmt::format("cannot decode the cluster data in store key {} (revision {}); "
                                "it was left untouched",
                                key, kv->mod_revision));
  }
  if (!cd->has_value()) return Result();
  return Result(Versioned<cluster::ClusterData>{std::move(**cd), kv->mod_revision});
}

absl::StatusOr<int64_t> Store::AtomicPutClusterData(const cluster::ClusterData& cd,
                                                    int64_t previous_revision) {
  return kv_.CompareAndSwap(ClusterDataKey(), cluster::EncodeClusterData(cd), previous_revision);
}

absl::StatusOr<int64_t> Store::PutClusterData(const cluster::ClusterData& cd) {
  return kv_.Put(ClusterDataKey(), cluster::EncodeClusterData(cd), std::nullopt);
}

absl::Status Store::SetKeeperInfo(const std::string& uid, const cluster::KeeperInfo& ki,
                                  std::chrono::seconds ttl) {
  return kv_.Put(KeepersInfoDir() + uid, cluster::EncodeKeeperInfo(ki), InfoTTL(ttl)).status();
}

absl::Status Store::SetSentinelInfo(const cluster::SentinelInfo& si, std::chrono::seconds ttl) {
  return kv_.Put(SentinelsInfoDir() + si.uid, cluster::EncodeSentinelInfo(si), InfoTTL(ttl))
      .status();
}

absl::Status Store::SetProxyInfo(const cluster::ProxyInfo& pi, std::chrono::seconds ttl) {
  return kv_.Put(ProxiesInfoDir() + pi.uid, cluster::EncodeProxyInfo(pi), InfoTTL(ttl)).status();
}

namespace {
// Decodes every entry under a directory with `parse`, skipping (and logging) bad ones.
template <typename T, typename Parse, typename Add>
absl::Status ForEachInfo(KvStore& kv, const std::string& dir, const char* what, Parse parse,
                         Add add) {
  ASSIGN_OR_RETURN(std::vector<KvPair> kvs, kv.List(dir));
  for (const KvPair& p : kvs) {
    absl::StatusOr<T> v = parse(p.value);
    if (!v.ok()) {
      spdlog::warn("ignoring {} that cannot be decoded{}", what,
                   LogFields({{"key", p.key}, {"error", std::string(v.status().message())}}));
      continue;
    }
    add(std::move(*v));
  }
  return absl::OkStatus();
}
}  // namespace

absl::StatusOr<cluster::KeepersInfo> Store::GetKeepersInfo() {
  cluster::KeepersInfo out;
  RETURN_IF_ERROR(ForEachInfo<cluster::KeeperInfo>(
      kv_, KeepersInfoDir(), "keeper info",
      [](const std::string& s) { return cluster::ParseKeeperInfo(s); },
      [&](cluster::KeeperInfo ki) {
        std::string uid = ki.uid;
        out[uid] = std::move(ki);
      }));
  return out;
}

absl::StatusOr<cluster::SentinelsInfo> Store::GetSentinelsInfo() {
  cluster::SentinelsInfo out;
  RETURN_IF_ERROR(ForEachInfo<cluster::SentinelInfo>(
      kv_, SentinelsInfoDir(), "sentinel info",
      [](const std::string& s) { return cluster::ParseSentinelInfo(s); },
      [&](cluster::SentinelInfo si) { out.push_back(std::move(si)); }));
  return out;
}

absl::StatusOr<cluster::ProxiesInfo> Store::GetProxiesInfo() {
  cluster::ProxiesInfo out;
  RETURN_IF_ERROR(ForEachInfo<cluster::ProxyInfo>(
      kv_, ProxiesInfoDir(), "proxy info",
      [](const std::string& s) { return cluster::ParseProxyInfo(s); },
      [&](cluster::ProxyInfo pi) {
        std::string uid = pi.uid;
        out[uid] = std::move(pi);
      }));
  return out;
}

std::unique_ptr<Election> Store::NewElection(ElectionOptions options, const Clock& clock) {
  return std::make_unique<Election>(kv_, SentinelLeaderKey(), std::move(options), clock);
}

absl::StatusOr<std::string> Store::GetSentinelLeader() {
  return ReadElectionLeader(kv_, SentinelLeaderKey());
}

}  // namespace stolon::store
