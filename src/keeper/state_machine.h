// The keeper's convergence pass (what stolon v0.17's postgresKeeperSM does): read the cluster
// data, find our keeper and db, and make the local PostgreSQL instance match the db spec (init,
// resync, start, promote, follow, parameters, pg_hba, replication slots). A pass that applied the
// spec fully saves the db generation in dbstate: that is the convergence acknowledgement the
// sentinel waits for. Any error logs and ends the pass without acknowledging.
//
// All I/O is behind KeeperStore and Instance, so the decisions are unit-tested with fakes.
// Not thread-safe: Pass() runs on the state machine's executor; the SharedState it updates is
// the only thing the other loops see.
#pragma once

#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "cluster/cluster.h"
#include "common/clock.h"
#include "common/duration.h"
#include "keeper/config.h"
#include "keeper/instance.h"
#include "keeper/local_state.h"

namespace stolon::keeper {

// The store operations the keeper needs.
class KeeperStore {
 public:
  virtual ~KeeperStore() = default;
  // The cluster data; nullopt when there is none yet. kUnavailable when the store is unreachable.
  virtual absl::StatusOr<std::optional<cluster::ClusterData>> GetClusterData() = 0;
  // Publishes our KeeperInfo under keepers/info/<uid> with a TTL (floored by the store).
  virtual absl::Status SetKeeperInfo(const std::string& uid, const cluster::KeeperInfo& ki,
                                     Duration ttl) = 0;
};

// What the convergence passes report for /metrics and /health.
struct PassReport {
  uint64_t passes = 0;                            // passes ended
  uint64_t failed_passes = 0;                     // of which ended with an error
  std::optional<WallTime> cluster_data_valid_at;  // last read of a usable cluster data
  std::optional<WallTime> last_success_at;        // last pass that ended without error
  std::optional<std::string> last_error;          // nullopt: no pass ended yet; "": it succeeded
  std::string target_role;  // our db's spec role in the last cluster data; "" without a db
  std::string local_role;   // the instance's role at the last pass (master, standby, undefined)
  int64_t wanted_generation = 0;  // our db's generation in the last cluster data; 0 without a db
  bool needs_reload = false;      // changed parameters/hba not applied by a reload yet
  bool needs_restart = false;     // parameters changed that only a restart applies
};

// State shared by the keeper's three loops (state machine, pg state probe, keeper info
// publisher). Thread-safe.
class SharedState {
 public:
  DBLocalState db_state() const;
  void set_db_state(DBLocalState s);
  std::string cluster_uid() const;
  void set_cluster_uid(std::string uid);
  Duration sleep_interval() const;
  void set_sleep_interval(Duration d);
  // The last probed PostgresState (nullopt until the first probe).
  std::optional<cluster::PostgresState> pg_state() const;
  void set_pg_state(std::optional<cluster::PostgresState> s);
  std::optional<postgresql::PGVersion> binary_version() const;
  void set_binary_version(postgresql::PGVersion v);
  PassReport pass_report() const;
  // Runs `f` on the report under the lock.
  void UpdatePassReport(const std::function<void(PassReport&)>& f);

 private:
  mutable absl::Mutex mu_;
  DBLocalState db_state_ ABSL_GUARDED_BY(mu_);
  std::string cluster_uid_ ABSL_GUARDED_BY(mu_);
  Duration sleep_interval_ ABSL_GUARDED_BY(mu_) = std::chrono::seconds(5);
  std::optional<cluster::PostgresState> pg_state_ ABSL_GUARDED_BY(mu_);
  std::optional<postgresql::PGVersion> binary_version_ ABSL_GUARDED_BY(mu_);
  PassReport pass_report_ ABSL_GUARDED_BY(mu_);
};

// What one pass did, for logs and tests.
enum class PassOutcome {
  kNoClusterData,     // nothing to do yet
  kNoKeeper,          // our keeper is not in the cluster data yet
  kNoDB,              // no db assigned: postgres stopped
  kBootUUIDMismatch,  // the cluster data does not know our boot yet: postgres stopped
  kNotInitialized,    // standby wanted but no local data (waiting for a resync db)
  kConverged,         // the db spec is applied and its generation acknowledged
};

class StateMachine {
 public:
  // `config` is the finalized keeper config; `keeper_state` the resolved keeperstate (uid and the
  // last known cluster uid). All references must outlive the state machine.
  StateMachine(const KeeperConfig& config, KeeperLocalState keeper_state, std::string boot_uuid,
               KeeperStore& store, Instance& pg, SharedState& shared);

  // One convergence pass. OK with the outcome when the pass ended normally (including the
  // "waiting" outcomes); an error status otherwise (already logged).
  absl::StatusOr<PassOutcome> Pass();

  // Loads dbstate from the data dir into the shared state (call once before the first pass).
  absl::Status LoadDBState();

  bool wait_sync_standbys_synced() const { return wait_sync_standbys_synced_; }

 private:
  absl::StatusOr<PassOutcome> PassInternal();
  absl::Status SaveDBState(const DBLocalState& s);
  absl::Status InitDB(const cluster::ClusterData& cd, const cluster::ClusterSpec& spec,
                      const cluster::DB& db);
  absl::Status InitNew(const cluster::ClusterSpec& spec, const cluster::DB& db);
  absl::Status InitExisting(const cluster::ClusterSpec& spec, const cluster::DB& db);
  absl::Status InitPITR(const cluster::ClusterSpec& spec, const cluster::DB& db);
  absl::Status InitResync(const cluster::ClusterData& cd, const cluster::ClusterSpec& spec,
                          const cluster::DB& db);
  // One resync attempt: pg_rewind when allowed, else pg_basebackup. Sets `rewound`.
  absl::Status Resync(const cluster::ClusterData& cd, const cluster::ClusterSpec& spec,
                      const cluster::DB& db, const cluster::DB& followed, bool try_pgrewind,
                      bool& rewound);
  absl::Status ReadInitPGParameters(const cluster::DB& db);
  // Moves PGDATA aside (kept until a db converges) when it is initialized, no older copy is
  // kept and the disk can hold both; removes it otherwise. `what` names it in the logs.
  absl::Status SetAsideOrRemove(const std::string& what);
  absl::Status ConvergeMaster(const cluster::ClusterData& cd, const cluster::ClusterSpec& spec,
                              const cluster::DB& db, const std::string& local_role, bool started);
  absl::StatusOr<bool> ConvergeStandby(const cluster::ClusterData& cd,
                                       const cluster::ClusterSpec& spec, const cluster::DB& db,
                                       const std::string& local_role, bool started);
  absl::Status RefreshSlots(const cluster::DB& db);
  absl::StatusOr<RecoveryOptions> StandbyRecoveryOptions(const cluster::ClusterData& cd,
                                                         const cluster::DB& db) const;
  PGParameters CreateParameters(const cluster::DB& db,
                                const std::optional<PGParameters>& init_params);
  std::vector<std::string> HBA(const cluster::ClusterData& cd, const cluster::DB& db,
                               bool only_internal) const;
  void NoteStoreResult(const absl::Status& s);
  // After synchronous_standby_names changed on the master: makes its synchronous standbys report
  // their position now (Instance::NudgeSyncStandbys); logged, never fails the pass.
  void NudgeSyncStandbys(const cluster::DB& db);

  const KeeperConfig& config_;
  KeeperLocalState keeper_state_;
  std::string boot_uuid_;
  KeeperStore& store_;
  Instance& pg_;
  SharedState& shared_;
  bool wait_sync_standbys_synced_ = false;
  std::optional<bool> store_reachable_;  // for logging only on changes
  bool store_read_failed_ = false;       // the current pass failed reading the cluster data
  std::optional<bool> restart_pending_;  // idem
};

// --- Pure helpers (exposed for tests).

// The pitr dataRestoreCommand with %d replaced by `pgdata` and %% by %.
std::string ExpandDataRestoreCommand(const std::string& command, const std::string& pgdata);

// Where our state stands relative to the followed db, from what each reports.
struct TimelineState {
  uint64_t timeline_id = 0;
  uint64_t xlog_pos = 0;
  cluster::TimelinesHistory history;
};
// stolon's isDifferentTimelineBranch: true when our timeline cannot be continued by following
// `followed` (it is ahead of the followed timeline, forked at another point, or the followed
// timeline forked before our position). Logs the reason.
bool IsDifferentTimelineBranch(const TimelineState& followed, const TimelineState& ours);

// Replication connection parameters to `followed` for db `db_uid` (primary_conninfo and
// pg_basebackup): user, password (unless trust), host/port = followed's advertised address,
// application_name = stolon_<db_uid>, sslmode = prefer.
postgresql::ConnParams ReplConnParams(const KeeperConfig& config, const cluster::DB& followed,
                                      const std::string& db_uid);
// Superuser connection parameters to `master` for pg_rewind (dbname postgres, sslmode prefer,
// options -c synchronous_commit=off).
postgresql::ConnParams SuConnParams(const KeeperConfig& config, const cluster::DB& master);

// The PostgresState published for the db in `dbls`, read from `pg`, with the fields stolon v0.17's
// keeper publishes. A failure of a step leaves healthy = false; the olderWalFile failure is only a
// warning.
cluster::PostgresState ProbePGState(Instance& pg, const DBLocalState& dbls,
                                    const KeeperConfig& config);

}  // namespace stolon::keeper
