// The sentinel's decision: a pure function from the previous clusterdata, the component infos and
// the sentinel's in-memory timers to the next clusterdata (stolon's clusterSentinelCheck steps 6-7
// and 9: updateKeepersStatus, activeProxiesInfos, updateCluster, updateChangeTimes and the
// convergence bookkeeping). Everything else in the sentinel (store reads, CAS write, election) is
// I/O around ComputeClusterView.
//
// Deliberate departures from stolon v0.17 (see README):
// - Failover elects the eligible candidate with the HIGHEST xLogPos (stolon sorts ascending and
//   takes the lowest).
// - maxStandbyLag defaults to 1 MiB (ClusterSpec::WithDefaults).
// - canBeMaster=false excludes a keeper's db from every candidate bucket, old masters included.
// - Standby count management counts standbys that have not reported yet (currentGeneration 0)
//   as converging, so one missing standby does not spawn a new db on every free keeper while the
//   first one is still being resynced.
// - Proxy liveness uses each proxy's reported ProxyTimeout (the spec's proxyTimeout when the
//   proxy reports none) instead of a fixed constant.
#pragma once

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cluster/cluster.h"
#include "common/clock.h"
#include "common/duration.h"
#include "common/ids.h"

namespace stolon::sentinel {

// What the sentinel remembers about a keeper's published info: the infoUID it last saw, whether
// it saw it change (false for infos recorded on the first run after gaining leadership) and when.
struct KeeperInfoHistory {
  std::string info_uid;
  bool seen = false;
  SteadyTime first_seen{};
  bool operator==(const KeeperInfoHistory&) const = default;
};

// The proxy counterpart: the infoUID last seen and when it first appeared.
struct ProxyInfoHistory {
  std::string info_uid;
  SteadyTime first_seen{};
  bool operator==(const ProxyInfoHistory&) const = default;
};

// A db that has not converged yet: the spec generation it is converging to and since when.
struct DbConvergenceInfo {
  int64_t generation = 0;
  SteadyTime since{};
  bool operator==(const DbConvergenceInfo&) const = default;
};

// The leader sentinel's in-memory state between checks. All times are steady (monotonic).
// A value type: ComputeClusterView takes one and returns the next one.
struct SentinelState {
  // Keeper uid -> since when it has shown no sign of life (its info last changed), set once its
  // info is found stale.
  std::map<std::string, SteadyTime> keeper_error_timers;
  // DB uid -> when it first had no usable/healthy state.
  std::map<std::string, SteadyTime> db_error_timers;
  // DB uid -> consecutive checks with an unchanged xLogPos.
  std::map<std::string, int64_t> db_not_increasing_xlog_pos;
  std::map<std::string, KeeperInfoHistory> keeper_info_histories;
  std::map<std::string, DbConvergenceInfo> db_convergence_infos;
  std::map<std::string, ProxyInfoHistory> proxy_info_histories;
  // True on the first check after leadership was gained or regained: every timer and history
  // is reset, keeper infos are recorded as "not seen" and no health judgement is made.
  bool first_run = true;
  bool operator==(const SentinelState&) const = default;
};

// Injected time, ids and randomness (the random initial keeper choice).
struct Deps {
  const Clock& clock;
  IdGenerator& ids;
  std::mt19937_64& rng;
};

// The outcome of one check.
struct ClusterView {
  cluster::ClusterData cd;  // the next clusterdata to CAS-put
  SentinelState state;      // the next in-memory state (first_run cleared)
  // The state to keep instead when the CAS put of `cd` fails: the same histories and timers
  // (stolon keeps them), but convergence infos that still describe the stored `prev`.
  SentinelState state_if_put_fails;
  cluster::ProxiesInfo active_proxies;  // the proxies judged alive in this check
  // One line per decision, in order, explaining what was decided and why. Each line is also
  // logged through spdlog at debug level; the daemon logs them at info when they change.
  std::vector<std::string> decisions;
};

// Computes the next cluster view. `prev` is the clusterdata read from the store (formatVersion 1,
// spec valid); `keepers` and `proxies` are all infos currently in the store; `state` is the
// previous in-memory state (set first_run on the first check after gaining leadership).
//
// The returned state already holds the keeper/proxy histories and the convergence infos
// refreshed against the returned cd; keep `state_if_put_fails` when the put fails.
//
// Errors: FailedPrecondition when prev cannot be acted on (unknown phase or init mode, master db
// missing, no keeper to initialise on, existing-mode keeper unknown); the caller logs it, keeps
// its previous state and retries on the next check.
absl::StatusOr<ClusterView> ComputeClusterView(const cluster::ClusterData& prev,
                                               const cluster::KeepersInfo& keepers,
                                               const cluster::ProxiesInfo& proxies,
                                               const SentinelState& state, const Deps& deps);

// The in-memory state to keep when ComputeClusterView(prev, keepers, proxies, state, deps) failed.
// The health bookkeeping of the check still counts, as in stolon (whose timers and histories are
// updated before updateCluster can fail): the first-run reset and the "not seen" keeper infos,
// keeper/db error timers and proxy histories. first_run is false in the result. Without this, a
// first check that fails (e.g. initializing with no keeper registered yet, because the first run
// adds no keepers) would leave first_run set, and every later check would be a first run again.
SentinelState StateAfterFailedCompute(const cluster::ClusterData& prev,
                                      const cluster::KeepersInfo& keepers,
                                      const cluster::ProxiesInfo& proxies,
                                      const SentinelState& state, const Deps& deps);

// How long the leader waits before its next check: sleepInterval, or less when a keeper or db
// that `cd` still calls healthy would pass failInterval sooner (its failure is then declared on
// time instead of up to a sleepInterval late). `cd` and `state` are what the last check kept;
// never less than a few milliseconds.
Duration NextCheckDelay(const cluster::ClusterData& cd, const SentinelState& state, SteadyTime now);

// True while the master's synchronous standby set is on its way somewhere (spec and in-sync list
// differ, the fake standby stands in, or a listed standby or its keeper is unhealthy): each step
// waits for a keeper to report something, so a keeper info change is worth a check at once.
bool SyncStandbysSettling(const cluster::ClusterData& cd);

// Formats a WAL position like PostgreSQL: "0/3000060".
std::string FormatLsn(uint64_t lsn);
// Formats a byte count for humans: "0 bytes", "512 bytes", "1 MiB", "2.1 MiB".
std::string FormatBytes(int64_t bytes);

}  // namespace stolon::sentinel
