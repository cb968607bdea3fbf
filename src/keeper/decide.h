// The keeper pass's decisions, as pure functions of what it read: the cluster data, the keeper
// config, the local state and what PostgreSQL reported. StateMachine (state_machine.cc, init.cc)
// acts on them. Nothing here touches the instance, the store or a file; each function is
// table-tested in tests/unit/keeper/decide_test.cc.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cluster/cluster.h"
#include "keeper/config.h"
#include "keeper/local_state.h"
#include "postgresql/config.h"
#include "postgresql/conninfo.h"

namespace stolon::keeper {

// What one pass did, for logs and tests.
enum class PassOutcome {
  kNoClusterData,     // nothing to do yet
  kNoKeeper,          // our keeper is not in the cluster data yet
  kNoDB,              // no db assigned: postgres stopped
  kBootUUIDMismatch,  // the cluster data does not know our boot yet: postgres stopped
  kNotInitialized,    // standby wanted but no local data (waiting for a resync db)
  kConverged,         // the db spec is applied and its generation acknowledged
};

// Phase "find our db": whether the cluster data lets this keeper act.
struct Gate {
  std::optional<PassOutcome> outcome;  // set: the pass ends here with it
  bool stop_postgres = false;          // stop the instance before ending
  const cluster::Keeper* keeper = nullptr;
  const cluster::DB* db = nullptr;  // our db, when assigned
};
// Our keeper must be in `cd` (else kNoKeeper, postgres left alone), a db must be assigned to it
// (else kNoDB, postgres stopped) and the cluster data must have seen this boot of ours (else
// kBootUUIDMismatch, postgres stopped: it may hold a role the sentinel already gave away).
Gate DecideGate(const cluster::ClusterData& cd, const std::string& keeper_uid,
                const std::string& boot_uuid);

// Phase "prepare the local db".
struct LocalDBPlan {
  bool redo_interrupted = false;  // an init or resync crashed: set its data aside, start over
  bool initialize = false;        // the data dir does not hold `db` yet: initialize it
};
LocalDBPlan DecideLocalDB(const DBLocalState& dbls, const cluster::DB& db);

// How a db with init mode `mode` is initialized; an error for none/unknown modes (a db uid that
// changed under a db that should already exist means the keeper's data was lost).
enum class InitKind { kNew, kExisting, kPITR, kResync };
absl::StatusOr<InitKind> DecideInitKind(const cluster::DB& db);

// Phase "converge the role", master wanted.
struct MasterPlan {
  bool start = false;              // the instance is stopped
  bool hold_normal_users = false;  // start with internal rules only until sync standbys catch up
  bool apply_sync_names_first = false;  // reload synchronous_standby_names before promoting
  bool promote = false;                 // the instance is a standby
};
// FailedPrecondition when the instance has no data (`local_role` undefined).
absl::StatusOr<MasterPlan> PlanMaster(const std::string& local_role, bool started,
                                      bool synchronous_replication);

// Phase "converge the role", standby wanted.
enum class StandbyStep {
  kWaitForResync,  // no local data: wait for the sentinel to assign a resync db
  kStart,          // stopped: start following
  kReload,         // following with other recovery options that a reload applies (PG >= 13)
  kRestart,        // following with other recovery options that need a restart
  kKeep,           // following as wanted
};
// FailedPrecondition for a master (a master never becomes a standby in place).
absl::StatusOr<StandbyStep> PlanStandby(const std::string& local_role, bool started,
                                        bool recovery_options_changed, bool reloadable);

// Whether the sync standbys the master reports are those the spec wants (order does not count).
bool SyncStandbysInSync(const std::vector<std::string>& in_sync,
                        const std::vector<std::string>& wanted);

// The application_name/slot names of the spec's synchronous standbys, for the nudge after a
// synchronous_standby_names change (the fake standby name excluded).
std::vector<std::string> SyncStandbyNamesToNudge(const cluster::DB& db);

// The pg_hba options for `db`: our users and auth methods, the access mode of the spec, whether
// the db acts as master, the other dbs' addresses, the spec's rules (`only_internal`: none).
postgresql::HBAOptions HBAOptionsFor(const KeeperConfig& config, const cluster::ClusterData& cd,
                                     const cluster::DB& db, bool only_internal);

// The recovery options of a standby: following the external cluster of its followConfig, or the
// followed db through its slot. NotFound/Unavailable while the followed db is unknown or has no
// address yet.
absl::StatusOr<postgresql::RecoveryOptions> StandbyRecoveryOptionsFor(
    const KeeperConfig& config, const cluster::ClusterData& cd, const cluster::DB& db);

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

// Whether a resync may try pg_rewind: the data dir is initialized with the followed db's system
// id, a master exists, the db spec allows it and we have superuser credentials for it.
bool CanTryPgRewind(const KeeperConfig& config, const cluster::ClusterData& cd,
                    const cluster::DB& db, bool initialized, const std::string& system_id,
                    const cluster::DB& followed);

}  // namespace stolon::keeper
