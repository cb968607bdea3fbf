// The keeper's convergence pass (what stolon v0.17's postgresKeeperSM does): read the cluster
// data, find our keeper and db, and make the local PostgreSQL instance match the db spec (init,
// resync, start, promote, follow, parameters, pg_hba, replication slots). A pass that applied the
// spec fully saves the db generation in dbstate: that is the convergence acknowledgement the
// sentinel waits for. Any error logs and ends the pass without acknowledging.
//
// The decisions are pure functions (decide.h); this class acts on them. All I/O is behind
// KeeperStore, Instance, LocalStateStore and Clock, so a pass is unit-tested with fakes, in memory.
// Init and resync live in init.cc, the phases in state_machine.cc. Not thread-safe: Pass() runs on
// the state machine's executor; the SharedState it updates is the only thing the other loops see.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cluster/cluster.h"
#include "common/change_log.h"
#include "common/clock.h"
#include "keeper/config.h"
#include "keeper/decide.h"
#include "keeper/instance.h"
#include "keeper/local_state.h"
#include "keeper/shared_state.h"
#include "keeper/store.h"

namespace stolon::keeper {

class StateMachine {
 public:
  // `config` is the finalized keeper config; `keeper_state` the resolved keeperstate (uid and the
  // last known cluster uid); `local` where keeperstate and dbstate are saved; `clock` the time
  // of the pass report. All references must outlive the state machine.
  StateMachine(const KeeperConfig& config, KeeperLocalState keeper_state, std::string boot_uuid,
               KeeperStore& store, Instance& pg, SharedState& shared, LocalStateStore& local,
               const Clock& clock);

  // One convergence pass. OK with the outcome when the pass ended normally (including the
  // "waiting" outcomes); an error status otherwise (already logged).
  absl::StatusOr<PassOutcome> Pass();

  // Loads dbstate from the local state store into the shared state (call once before the first
  // pass).
  absl::Status LoadDBState();

  bool wait_sync_standbys_synced() const { return wait_sync_standbys_synced_; }

 private:
  absl::StatusOr<PassOutcome> PassInternal();
  // The phases of a pass, in order. Those returning an optional outcome end the pass early with
  // it; nullopt goes on to the next phase.
  // 1. The cluster data is present, of our format, with a valid spec (returned in `spec`).
  absl::StatusOr<std::optional<PassOutcome>> AcceptClusterData(
      const absl::StatusOr<std::optional<cluster::ClusterData>>& cd_or, cluster::ClusterSpec& spec);
  // 2-4. Our keeper and our db (returned in `db`) are in it, and it has seen this boot of ours.
  absl::StatusOr<std::optional<PassOutcome>> FindOurDB(const cluster::ClusterData& cd,
                                                       const cluster::DB*& db);
  // 6-7. The local db: a crashed init or resync is started again; a new db uid is initialized.
  absl::StatusOr<DBLocalState> PrepareLocalDB(const cluster::ClusterData& cd,
                                              const cluster::ClusterSpec& spec,
                                              const cluster::DB& db);
  // 8-10. The instance takes the db's role (master or standby).
  absl::StatusOr<std::optional<PassOutcome>> ConvergeRole(const cluster::ClusterData& cd,
                                                          const cluster::ClusterSpec& spec,
                                                          const cluster::DB& db);
  // 11-14. Parameters and pg_hba applied by a reload when they changed.
  absl::Status ApplyConfiguration(const cluster::ClusterData& cd, const cluster::DB& db,
                                  const PGParameters& params);
  // 12. After a restart with synchronous replication, normal users wait for the sync standbys.
  absl::Status UpdateSyncStandbysWait(const cluster::DB& db);
  // 15. Parameters that only a restart applies; then the data dirs a resync kept are removed.
  absl::Status ApplyRestart(const cluster::ClusterSpec& spec);
  // 16. The db's generation is acknowledged in the local state.
  absl::Status AcknowledgeGeneration(const cluster::DB& db, DBLocalState dbls);
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
  // After a pg_rewind: whether the instance must be copied in full after all (it is not ready,
  // waiting for WAL the master no longer has, or on another timeline branch than `followed`).
  bool NeedsFullCopyAfterRewind(const cluster::ClusterSpec& spec, const cluster::DB& followed);
  absl::Status ConvergeMaster(const cluster::ClusterData& cd, const cluster::ClusterSpec& spec,
                              const cluster::DB& db, const std::string& local_role, bool started);
  absl::StatusOr<bool> ConvergeStandby(const cluster::ClusterData& cd,
                                       const cluster::ClusterSpec& spec, const cluster::DB& db,
                                       const std::string& local_role, bool started);
  absl::Status RefreshSlots(const cluster::DB& db);
  // Starts the instance and waits until it accepts connections (dbWaitReadyTimeout).
  absl::Status StartAndWaitReady(const cluster::ClusterSpec& spec);
  PGParameters CreateParameters(const cluster::DB& db,
                                const std::optional<PGParameters>& init_params);
  std::vector<std::string> HBA(const cluster::ClusterData& cd, const cluster::DB& db,
                               bool only_internal) const;
  // After synchronous_standby_names changed on the master: makes its synchronous standbys report
  // their position now (Instance::NudgeSyncStandbys); logged, never fails the pass.
  void NudgeSyncStandbys(const cluster::DB& db);

  const KeeperConfig& config_;
  KeeperLocalState keeper_state_;
  std::string boot_uuid_;
  KeeperStore& store_;
  Instance& pg_;
  SharedState& shared_;
  LocalStateStore& local_;
  const Clock& clock_;
  bool wait_sync_standbys_synced_ = false;
  FailureLog store_log_{
      "cannot read the cluster data from the store: {}; leaving postgres as it is and retrying "
      "every sleep interval",
      "store still unreachable: {}", "store reachable again: converging to the cluster data"};
  bool store_read_failed_ = false;       // the current pass failed reading the cluster data
  std::optional<bool> restart_pending_;  // for logging only on changes
};

}  // namespace stolon::keeper
