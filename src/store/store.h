// Store: stolon's domain store on a KvStore, with stolon's key layout under
// base = path.Join(store-prefix, cluster-name):
//   <base>/clusterdata                  ClusterData JSON, written with CAS by the leader sentinel
//   <base>/keepers/info/<keeperUID>     KeeperInfo JSON, TTL
//   <base>/sentinels/info/<sentinelUID> SentinelInfo JSON, TTL
//   <base>/proxies/info/<proxyUID>      ProxyInfo JSON, TTL
//   <base>/sentinel-leader/<lease hex>  sentinel leader election (Election)
// Info TTLs are floored to kMinTTL (20s), as stolon does. Thread-safe (as the KvStore).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "cluster/cluster.h"
#include "store/election.h"
#include "store/kv_store.h"

namespace stolon::store {

// The smallest TTL an info key gets (stolon's MinTTL).
inline constexpr std::chrono::seconds kMinTTL{20};

// A value read from the store with the revision to pass back for a compare-and-swap.
template <typename T>
struct Versioned {
  T value;
  int64_t revision = 0;  // the key's mod revision
  bool operator==(const Versioned&) const = default;
};

class Store {
 public:
  // `kv` must outlive the store. `base` is the cluster's key base, e.g. "stolon/cluster/c1"
  // (StoreConfig::BasePath()), used as given.
  Store(KvStore& kv, std::string base);

  const std::string& base() const { return base_; }
  KvStore& kv() { return kv_; }
  std::string ClusterDataKey() const { return base_ + "/clusterdata"; }
  std::string KeepersInfoDir() const { return base_ + "/keepers/info/"; }
  std::string SentinelsInfoDir() const { return base_ + "/sentinels/info/"; }
  std::string ProxiesInfoDir() const { return base_ + "/proxies/info/"; }
  std::string SentinelLeaderKey() const { return base_ + "/sentinel-leader"; }

  // The cluster data with its revision. nullopt when there is none yet (missing key or JSON
  // null): a normal state, not an error. A document that does not decode is kInvalidArgument
  // (kFailedPrecondition for an unsupported formatVersion) naming the key; it is never
  // overwritten by this call.
  absl::StatusOr<std::optional<Versioned<cluster::ClusterData>>> GetClusterData();
  // Writes the cluster data only if it still has `previous_revision` (0: only if there is none).
  // Returns the new revision; kAborted when someone else wrote in between.
  absl::StatusOr<int64_t> AtomicPutClusterData(const cluster::ClusterData& cd,
                                               int64_t previous_revision);
  // Writes the cluster data unconditionally (stolonctl init/recovery paths). Returns the revision.
  absl::StatusOr<int64_t> PutClusterData(const cluster::ClusterData& cd);

  // Publishes a component's info with a TTL (floored to kMinTTL).
  absl::Status SetKeeperInfo(const std::string& uid, const cluster::KeeperInfo& ki,
                             std::chrono::seconds ttl);
  absl::Status SetSentinelInfo(const cluster::SentinelInfo& si, std::chrono::seconds ttl);
  absl::Status SetProxyInfo(const cluster::ProxyInfo& pi, std::chrono::seconds ttl);

  // The live infos. An entry that does not decode is skipped with a warning, so one bad entry
  // does not hide the others. Keepers and proxies are keyed by the uid inside the info.
  absl::StatusOr<cluster::KeepersInfo> GetKeepersInfo();
  absl::StatusOr<cluster::SentinelsInfo> GetSentinelsInfo();
  absl::StatusOr<cluster::ProxiesInfo> GetProxiesInfo();

  // A sentinel leader election on <base>/sentinel-leader (not started).
  std::unique_ptr<Election> NewElection(ElectionOptions options = {},
                                        const Clock& clock = RealClock::Instance());
  // The current leader sentinel's uid; kNotFound when none.
  absl::StatusOr<std::string> GetSentinelLeader();

  // The TTL actually used for an info key: at least kMinTTL.
  static std::chrono::seconds InfoTTL(std::chrono::seconds ttl) { return std::max(ttl, kMinTTL); }

 private:
  KvStore& kv_;
  const std::string base_;
};

}  // namespace stolon::store
