// Internals of ComputeClusterView, one group of functions per phase of a sentinel check. Not a
// public API: only the sentinel library and its unit tests include this header.
#pragma once

#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "cluster/cluster.h"
#include "common/status.h"
#include "fmt/format.h"
#include "sentinel/cluster_view.h"

namespace stolon::sentinel::internal {

using cluster::ClusterData;
using cluster::ClusterSpec;
using cluster::DB;

// Collects the decision lines of one check and mirrors each to spdlog (debug level).
class DecisionLog {
 public:
  template <typename... Args>
  void Add(fmt::format_string<Args...> f, Args&&... args) {
    Push(fmt::format(f, std::forward<Args>(args)...));
  }
  void Push(std::string line);
  std::vector<std::string> Take() { return std::move(lines_); }

 private:
  std::vector<std::string> lines_;
};

// Everything a phase needs besides the cd it works on.
struct Ctx {
  ClusterSpec spec;  // the cluster spec with defaults applied
  SentinelState& state;
  SteadyTime now;
  cluster::Time wall_now;
  DecisionLog& log;
  IdGenerator& ids;
  std::mt19937_64& rng;
};

// ---- health.cc: keeper and db health (4.2) and proxy liveness (4.5).
// Returns prev with keeper and db statuses refreshed; updates histories and timers in ctx.state.
ClusterData UpdateKeepersStatus(const ClusterData& prev, const cluster::KeepersInfo& infos,
                                Ctx& ctx);
cluster::ProxiesInfo ActiveProxiesInfos(const cluster::ProxiesInfo& infos, Ctx& ctx);

// ---- convergence.cc (4.3).
enum class Convergence { kConverging, kConverged, kFailed };
// Refreshes state.db_convergence_infos against cd (adds/resets entries of unconverged dbs,
// deletes converged and vanished ones).
void UpdateDbConvergenceInfos(const ClusterData& cd, SteadyTime now, SentinelState& state);
// timeout zero means no limit.
Convergence DbConvergenceState(const DB& db, Duration timeout, const Ctx& ctx);

// ---- classify.cc: db classification helpers (4.4).
enum class DbType { kMaster, kStandby };
enum class DbValidity { kValid, kInvalid, kUnknown };
enum class DbStatus { kGood, kFailed, kConverging };
DbType TypeOf(const DB& db);
// Why `db` is on a different timeline branch than `followed`; empty when it is not.
std::string DifferentTimelineBranch(const DB& followed, const DB& db);
// Validity relative to cd's master db; `why` receives the reason when invalid.
DbValidity ValidityOf(const ClusterData& cd, const DB& db, std::string* why = nullptr);
DbStatus StatusOf(const ClusterData& cd, const DB& db, const Ctx& ctx);
struct Buckets {
  std::map<std::string, const DB*> good, failed, converging;
  int unknown = 0;  // standby-type dbs that never reported (currentGeneration 0)
};
Buckets ValidStandbysByStatus(const ClusterData& cd, const Ctx& ctx);
Buckets ValidMastersByStatus(const ClusterData& cd, const Ctx& ctx);
// WAL segment number (timeline ignored, 16 MiB segments) holding `lsn`, as 16 hex digits.
std::string WalFileNameNoTimeline(uint64_t lsn);
// Whether standby `db` can still catch up with the master of `cd`; `why` explains a false.
bool DbCanSync(const ClusterData& cd, const DB& db, const Ctx& ctx, std::string* why);

// ---- initializing.cc (4.6).
absl::Status UpdateInitializing(const ClusterData& cd, ClusterData& next, Ctx& ctx);

// ---- failover.cc (4.7 steps 2-4).
// Whether the current master is usable; logs why not.
bool MasterOk(const ClusterData& cd, const DB& master, Ctx& ctx);
// Good valid standbys on the master's timeline, lag-filtered when async; highest xLogPos first.
std::vector<const DB*> FindBestStandbys(const ClusterData& cd, const DB& master, Ctx& ctx,
                                        bool log_rejections);
std::vector<const DB*> FindBestNewMasters(const ClusterData& cd, const DB& master, Ctx& ctx);
// Returns the uid of the db to elect, or "" when nobody is eligible.
std::string ChooseNewMaster(const ClusterData& cd, const DB& master, Ctx& ctx);
void ApplyNewMaster(const std::string& old_uid, const std::string& new_uid, ClusterData& next,
                    Ctx& ctx);

// ---- proxies.cc (4.7 step 5, proxy handshake).
void UpdateProxySpec(const std::string& master_uid, const cluster::ProxiesInfo& active,
                     ClusterData& next, Ctx& ctx);

// ---- standbys.cc (4.7 steps 1, 5a-5d, 5f, 5g, 6).
void RemoveDeadKeepers(const ClusterData& cd, ClusterData& next, Ctx& ctx);
void RemoveUnusableDbs(const ClusterData& cd, const std::string& master_uid, ClusterData& next,
                       Ctx& ctx);
void ManageStandbyCount(const std::string& master_uid, const Buckets& standbys, ClusterData& next,
                        Ctx& ctx);
void ReconfigureStandbys(const std::string& master_uid, ClusterData& next);
void UpdateMasterFollowers(const std::string& master_uid, ClusterData& next);

// ---- sync.cc (4.8).
void ManageSynchronousStandbys(const std::string& master_uid, const Buckets& standbys,
                               ClusterData& next, Ctx& ctx);
void ClearSynchronousStandbys(DB& master);

// ---- normal.cc (4.7).
absl::Status UpdateNormal(const ClusterData& cd, const cluster::ProxiesInfo& active,
                          ClusterData& next, Ctx& ctx);

// ---- finalize.cc (4.7 steps 7-8 and changeTime).
void SetDBSpecFromClusterSpec(ClusterData& next);
void BumpChangedGenerations(const ClusterData& cd, ClusterData& next, Ctx& ctx);
void UpdateChangeTimes(const ClusterData& prev, ClusterData& next, cluster::Time now);

// ---- small helpers (classify.cc).
bool Contains(const std::vector<std::string>& v, const std::string& s);
std::vector<std::string> Sorted(std::vector<std::string> v);
bool SameSet(const std::vector<std::string>& a, const std::vector<std::string>& b);
// Elements of a that are in b, in a's order.
std::vector<std::string> Intersect(const std::vector<std::string>& a,
                                   const std::vector<std::string>& b);
// Elements of a that are not in b, in a's order.
std::vector<std::string> Difference(const std::vector<std::string>& a,
                                    const std::vector<std::string>& b);
std::string Join(const std::vector<std::string>& v);
std::string Seconds(Duration d);  // "20s", "1m30s": Go duration format

}  // namespace stolon::sentinel::internal
