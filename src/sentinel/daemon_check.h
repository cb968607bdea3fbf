// SentinelChecker: one sentinel check (the steps of stolon v0.17's clusterSentinelCheck) as
// I/O around the pure ComputeClusterView:
//   1. quorum-read the cluster data; stop on a store error; an existing cd must have
//      formatVersion 1 and a valid spec; refresh sleepInterval and requestTimeout from it;
//   2. no cd: create it from the initial cluster spec with a create-if-absent CAS (also on a
//      non-leader: only one creation can win), or wait for `stolonctl init`;
//   3. publish this sentinel's SentinelInfo with TTL 2 x sleepInterval;
//   4. read every KeeperInfo and ProxyInfo;
//   5. stop when not the leader;
//   6. on the first check after leadership was (re)gained (the leadership count changed) start
//      from a fresh SentinelState (no timers, no histories; no health judgement in this check);
//   7. ComputeClusterView;
//   8. CAS-put the new cd against the revision read in step 1 (a lost CAS is logged and the next
//      check starts over from a fresh read: what keeps two would-be leaders safe);
//   9. keep view.state after a successful put, view.state_if_put_fails otherwise.
//
// Logging explains each outcome once per change rather than on every check: store problems when
// they start and end, decision lines of ComputeClusterView when they were not in the previous
// check's lines.
//
// Not thread-safe: one loop calls Check() repeatedly.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>

#include "cluster/cluster.h"
#include "common/change_log.h"
#include "common/clock.h"
#include "common/duration.h"
#include "common/ids.h"
#include "sentinel/cluster_view.h"
#include "store/election.h"
#include "store/store.h"

namespace stolon::sentinel {

// The leadership as the check loop sees it. Implementations are thread-safe.
class Leadership {
 public:
  virtual ~Leadership() = default;
  // Whether this sentinel leads right now.
  virtual bool IsLeader() const = 0;
  // How many times this sentinel became leader; a change means leadership was (re)gained.
  virtual uint64_t LeadershipCount() const = 0;
};

// Leadership from a running store::Election (which must outlive this object).
class ElectionLeadership final : public Leadership {
 public:
  explicit ElectionLeadership(const store::Election& election) : election_(election) {}
  bool IsLeader() const override { return election_.IsLeader(); }
  uint64_t LeadershipCount() const override { return election_.leadership_count(); }

 private:
  const store::Election& election_;
};

// What one check did.
enum class CheckOutcome {
  kStoreError,             // a store read or the SentinelInfo publication failed: stopped
  kInvalidClusterData,     // the stored cd cannot be acted on (format, spec): stopped
  kWaitingForClusterData,  // no cd and no initial cluster spec
  kCreatedClusterData,     // no cd: created it from the initial cluster spec
  kCreateLost,             // no cd, but another writer created one first
  kNotLeader,              // infos read, no decision (another sentinel leads)
  kComputeFailed,          // ComputeClusterView refused the cd (FailedPrecondition): no write
  kUpdated,                // the new cd was written
  kPutConflict,            // the cd changed since it was read (CAS lost): nothing written
  kPutFailed,              // the write failed otherwise (store unreachable): unknown result
};

// A short name of an outcome for logs and test messages ("updated", "put-conflict", ...).
const char* CheckOutcomeName(CheckOutcome o);

// Whether an outcome counts as a failed check (nothing could be decided or written): store
// errors, unusable cluster data, a refused computation, a lost or failed write.
bool IsFailedCheck(CheckOutcome o);

// What the checks did so far, for /metrics and /health.
struct CheckerStats {
  uint64_t checks = 0;         // checks run
  uint64_t failed_checks = 0;  // of which IsFailedCheck
  Duration last_check_duration{0};
  uint64_t failovers = 0;  // writes that replaced a previous master with another one
  // Keepers in the last cluster data read or written (healthy as the leader judged them).
  uint64_t keepers_total = 0;
  uint64_t keepers_healthy = 0;
  std::optional<CheckOutcome> last_outcome;  // nullopt before the first check ended
  std::string last_error;                    // why the last check failed ("" when it did not)
};

struct CheckerOptions {
  // This sentinel's uid (random 8 hex per start).
  std::string uid;
  // The spec to create the cd from when the store has none (--initial-cluster-spec).
  std::optional<cluster::ClusterSpec> initial_cluster_spec;
};

// The TTL of the sentinel's election session: half of failInterval, between 5s and 20s (stolon's
// fixed value). A killed leader is replaced within about this TTL; keeping it under failInterval
// means a leader's death adds less to a failover than the master's silence already costs. A
// shorter TTL cannot make two leaders act on one cluster data: every write is a compare-and-swap
// on the revision read, and a leader that cannot renew its session stops leading first.
std::chrono::seconds LeaderSessionTtl(std::optional<Duration> fail_interval);

class SentinelChecker {
 public:
  // `store`, `leadership`, `clock`, `ids` and `rng` must outlive the checker.
  SentinelChecker(store::Store& store, const Leadership& leadership, CheckerOptions options,
                  const Clock& clock, IdGenerator& ids, std::mt19937_64& rng);

  // Runs one check (steps 1-9 above). Never throws; every failure is logged and reported as the
  // outcome, and the next check starts over with a fresh read.
  CheckOutcome Check();

  // The interval between the end of a check and the start of the next: the cd's sleepInterval
  // (5s until a cd was read).
  Duration sleep_interval() const { return sleep_interval_; }
  // How long to wait after the last check: sleep_interval(), or less after a written cd when a
  // keeper or db would pass failInterval sooner (NextCheckDelay).
  Duration next_check_delay() const { return next_check_delay_.value_or(sleep_interval_); }
  // The cd's requestTimeout (10s until a cd was read). A check that takes longer is logged.
  Duration request_timeout() const { return request_timeout_; }
  // The in-memory state kept between checks (timers, histories).
  const SentinelState& state() const { return state_; }
  // When a check last wrote the cluster data (stolon's last_cluster_check_success metric);
  // nullopt before the first. Thread-safe (read by the metrics endpoint).
  std::optional<WallTime> last_success() const;
  // A snapshot of the counters. Thread-safe.
  CheckerStats stats() const;
  // True while the last written cd waits for the proxies to acknowledge a "no master" generation,
  // or for the new master's keeper to report its promotion, before the new master is published
  // to them: a proxy or keeper info change is then worth a check at once rather than after
  // sleepInterval. Thread-safe.
  bool awaiting_proxies() const { return awaiting_proxies_.load(); }
  // True while the last written cd has the master's synchronous standby set on its way
  // (SyncStandbysSettling): every step waits for a keeper to report, so a keeper info change is
  // then worth a check at once. Thread-safe.
  bool sync_standbys_settling() const { return sync_standbys_settling_.load(); }

 private:
  // Step 2: create the cd from the initial spec, or log that we wait for one.
  CheckOutcome CreateInitialClusterData();
  // Steps 6-9 for a leader.
  CheckOutcome Decide(const store::Versioned<cluster::ClusterData>& read,
                      const cluster::KeepersInfo& keepers, const cluster::ProxiesInfo& proxies);
  // Logs a failed step when it is not the problem logged last; returns kStoreError.
  CheckOutcome StoreProblem(const std::string& step, const absl::Status& s);
  // Check() without the bookkeeping of stats_.
  CheckOutcome CheckInternal();
  // Notes a failure reason for stats_.last_error.
  void NoteError(std::string why) { check_error_ = std::move(why); }
  void NoteKeepers(const cluster::ClusterData& cd);
  // Logs the end of a logged store problem (once).
  void StoreOk();
  // Logs `line` at info when `key` differs from the last logged key (once per change).
  void LogOnChange(const std::string& key, const std::string& line);
  // Logs the decision lines that were not in the previous check's lines.
  void LogDecisions(const std::vector<std::string>& decisions);

  store::Store& store_;
  const Leadership& leadership_;
  const CheckerOptions options_;
  const Clock& clock_;
  IdGenerator& ids_;
  std::mt19937_64& rng_;

  Duration sleep_interval_;
  Duration request_timeout_;
  SentinelState state_;
  uint64_t seen_leadership_count_ = 0;
  std::string store_problem_;  // the step whose failure was logged last ("" = none)
  ChangeLog status_log_;       // the key of the last LogOnChange line
  std::set<std::string> last_decisions_;
  std::atomic<int64_t> last_success_ns_{0};  // system_clock ns since the epoch; 0 = never
  std::string check_error_;                  // the current check's failure reason
  mutable std::mutex stats_mu_;
  CheckerStats stats_;  // guarded by stats_mu_
  std::atomic<bool> awaiting_proxies_{false};
  std::atomic<bool> sync_standbys_settling_{false};
  std::optional<Duration> next_check_delay_;  // set by a check that wrote the cd
};

}  // namespace stolon::sentinel
