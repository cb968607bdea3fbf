#include "keeper/state_machine.h"

#include <algorithm>

#include "common/log.h"
#include "common/status.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"

namespace stolon::keeper {

using cluster::ClusterData;
using cluster::ClusterSpec;
using cluster::DB;

namespace {

std::string ParameterOrEmpty(const PGParameters& p, const std::string& name) {
  auto it = p.find(name);
  return it == p.end() ? "" : it->second;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// StateMachine

StateMachine::StateMachine(const KeeperConfig& config, KeeperLocalState keeper_state,
                           std::string boot_uuid, KeeperStore& store, Instance& pg,
                           SharedState& shared, LocalStateStore& local, const Clock& clock)
    : config_(config),
      keeper_state_(std::move(keeper_state)),
      boot_uuid_(std::move(boot_uuid)),
      store_(store),
      pg_(pg),
      shared_(shared),
      local_(local),
      clock_(clock) {
  shared_.set_cluster_uid(keeper_state_.cluster_uid);
}

void StateMachine::NudgeSyncStandbys(const cluster::DB& db) {
  const std::vector<std::string> names = SyncStandbyNamesToNudge(db);
  if (names.empty()) return;
  // A standby the master now counts as synchronous may have flushed a waiting commit's WAL long
  // ago and would only say so at its next status report (wal_receiver_status_interval): make it
  // report now. Best effort: the commit is released at that report anyway.
  auto nudged = pg_.NudgeSyncStandbys(names, std::chrono::milliseconds(500));
  if (!nudged.ok()) {
    spdlog::warn("cannot make the synchronous standbys report their position: {}",
                 std::string(nudged.status().message()));
  } else if (*nudged) {
    spdlog::info(
        "synchronous standbys changed: committed a marker transaction so that they "
        "report their position at once");
  }
}

absl::Status StateMachine::LoadDBState() {
  ASSIGN_OR_RETURN(auto s, local_.LoadDBState());
  shared_.set_db_state(s.value_or(DBLocalState{}));
  return absl::OkStatus();
}

absl::Status StateMachine::SaveDBState(const DBLocalState& s) {
  RETURN_IF_ERROR(Annotate(local_.SaveDBState(s), "cannot save db local state"));
  shared_.set_db_state(s);
  return absl::OkStatus();
}

absl::StatusOr<PassOutcome> StateMachine::Pass() {
  auto r = PassInternal();
  // A store read failure is logged by store_log_, once per change.
  if (!r.ok() && !store_read_failed_) {
    spdlog::error("keeper pass failed: {}", std::string(r.status().message()));
  }
  const WallTime now = clock_.WallNow();
  shared_.UpdatePassReport([&](PassReport& p) {
    ++p.passes;
    if (r.ok()) {
      p.last_error = "";
      p.last_success_at = now;
    } else {
      ++p.failed_passes;
      p.last_error = std::string(r.status().message());
    }
  });
  return r;
}

PGParameters StateMachine::CreateParameters(const DB& db,
                                            const std::optional<PGParameters>& init_params) {
  postgresql::LocalInstance local;
  local.listen_address = config_.pg_listen_address;
  local.port = config_.pg_port;
  if (auto v = pg_.BinaryVersion(); v.ok()) local.binary_version = *v;
  return postgresql::CreatePGParameters(db.spec, init_params.value_or(PGParameters{}), local);
}

std::vector<std::string> StateMachine::HBA(const ClusterData& cd, const DB& db,
                                           bool only_internal) const {
  return postgresql::GenerateHBA(HBAOptionsFor(config_, cd, db, only_internal));
}

absl::StatusOr<PassOutcome> StateMachine::PassInternal() {
  const auto cd_or = store_.GetClusterData();
  ClusterSpec spec;
  ASSIGN_OR_RETURN(std::optional<PassOutcome> early, AcceptClusterData(cd_or, spec));
  if (early) return *early;
  const ClusterData& cd = **cd_or;
  const DB* dbp = nullptr;
  ASSIGN_OR_RETURN(early, FindOurDB(cd, dbp));
  if (early) return *early;
  const DB& db = *dbp;
  // 5. The hba to apply later.
  pg_.SetHBA(HBA(cd, db, wait_sync_standbys_synced_));
  ASSIGN_OR_RETURN(DBLocalState dbls, PrepareLocalDB(cd, spec, db));
  // 8. Parameters, then the role.
  const PGParameters params = CreateParameters(
      db, db.spec.include_previous_config ? dbls.init_pg_parameters : std::nullopt);
  pg_.SetParameters(params);
  ASSIGN_OR_RETURN(early, ConvergeRole(cd, spec, db));
  if (early) return *early;
  RETURN_IF_ERROR(ApplyConfiguration(cd, db, params));
  RETURN_IF_ERROR(ApplyRestart(spec));
  RETURN_IF_ERROR(AcknowledgeGeneration(db, std::move(dbls)));
  return PassOutcome::kConverged;
}

absl::StatusOr<std::optional<PassOutcome>> StateMachine::AcceptClusterData(
    const absl::StatusOr<std::optional<ClusterData>>& cd_or, ClusterSpec& spec) {
  store_read_failed_ = !cd_or.ok();
  store_log_.Note(cd_or.status());
  if (!cd_or.ok()) return cd_or.status();
  if (!cd_or->has_value()) {
    spdlog::info("no cluster data available, waiting for it to appear");
    return PassOutcome::kNoClusterData;
  }
  const ClusterData& cd = **cd_or;
  if (cd.format_version != cluster::kCurrentCDFormatVersion) {
    return absl::FailedPreconditionError(
        fmt::format("unsupported clusterdata format version {}", cd.format_version));
  }
  spec = cd.cluster.spec.WithDefaults();
  RETURN_IF_ERROR(Annotate(spec.Validate(), "invalid cluster spec"));
  shared_.set_sleep_interval(*spec.sleep_interval);
  const WallTime now = clock_.WallNow();
  shared_.UpdatePassReport([now](PassReport& p) {
    p.cluster_data_valid_at = now;
    // Until our db is found below.
    p.target_role.clear();
    p.wanted_generation = 0;
  });
  if (cd.cluster.uid != keeper_state_.cluster_uid) {
    keeper_state_.cluster_uid = cd.cluster.uid;
    RETURN_IF_ERROR(
        Annotate(local_.SaveKeeperState(keeper_state_), "cannot save keeper local state"));
    shared_.set_cluster_uid(cd.cluster.uid);
  }
  return std::nullopt;
}

absl::StatusOr<std::optional<PassOutcome>> StateMachine::FindOurDB(const ClusterData& cd,
                                                                   const DB*& db) {
  const Gate gate = DecideGate(cd, keeper_state_.uid, boot_uuid_);
  db = gate.db;
  if (gate.db != nullptr) {
    shared_.UpdatePassReport([&](PassReport& p) {
      p.target_role = gate.db->spec.role;
      p.wanted_generation = gate.db->generation;
    });
  }
  if (!gate.outcome) return std::nullopt;
  switch (*gate.outcome) {
    case PassOutcome::kNoKeeper:
      spdlog::info("our keeper data is not available, waiting for it to appear");
      break;
    case PassOutcome::kNoDB:
      spdlog::info("no db assigned");
      break;
    default:
      spdlog::info(
          "our db boot UID is different than the cluster data one, waiting for it to be "
          "updated{}",
          LogFields(
              {{"bootUUID", boot_uuid_}, {"clusterBootUUID", gate.keeper->status.boot_uuid}}));
  }
  if (gate.stop_postgres) {
    RETURN_IF_ERROR(Annotate(pg_.StopIfStarted(true), "failed to stop pg instance"));
  }
  return *gate.outcome;
}

absl::StatusOr<DBLocalState> StateMachine::PrepareLocalDB(const ClusterData& cd,
                                                          const ClusterSpec& spec, const DB& db) {
  // 6. A crashed init or resync: start it again from scratch.
  DBLocalState dbls = shared_.db_state();
  const LocalDBPlan plan = DecideLocalDB(dbls, db);
  if (plan.redo_interrupted) {
    spdlog::info(
        "db was left initializing by a previous run (crash during init or resync): "
        "removing its data directory to start again{}",
        LogFields({{"db", dbls.uid}}));
    RETURN_IF_ERROR(Annotate(pg_.StopIfStarted(true), "failed to stop pg instance"));
    RETURN_IF_ERROR(SetAsideOrRemove("the data directory of the interrupted init or resync"));
    dbls = DBLocalState{};
    RETURN_IF_ERROR(SaveDBState(dbls));
  }
  // 7. First pass for this db: initialize it as its init mode says.
  if (plan.initialize) {
    spdlog::info("current db UID different than cluster data db UID{}",
                 LogFields({{"db", dbls.uid}, {"cdDB", db.uid}}));
    wait_sync_standbys_synced_ = false;
    pg_.SetRecoveryOptions({});
    RETURN_IF_ERROR(InitDB(cd, spec, db));
    dbls = shared_.db_state();
  }
  return dbls;
}

absl::StatusOr<std::optional<PassOutcome>> StateMachine::ConvergeRole(const ClusterData& cd,
                                                                      const ClusterSpec& spec,
                                                                      const DB& db) {
  ASSIGN_OR_RETURN(std::string local_role, pg_.LocalRole());
  shared_.UpdatePassReport([&](PassReport& p) { p.local_role = local_role; });
  ASSIGN_OR_RETURN(bool started, pg_.IsStarted());
  if (db.spec.role == cluster::kRoleMaster) {
    // 9.
    RETURN_IF_ERROR(ConvergeMaster(cd, spec, db, local_role, started));
    return std::nullopt;
  }
  // 10.
  ASSIGN_OR_RETURN(bool proceed, ConvergeStandby(cd, spec, db, local_role, started));
  if (!proceed) return PassOutcome::kNotInitialized;
  return std::nullopt;
}

absl::Status StateMachine::ApplyConfiguration(const ClusterData& cd, const DB& db,
                                              const PGParameters& params) {
  // 11. Parameters.
  bool needs_reload = false;
  if (pg_.CurParameters() != params) {
    spdlog::info("postgres parameters changed, reloading postgres instance");
    for (const auto& name : postgresql::ChangedParameters(pg_.CurParameters(), params)) {
      spdlog::debug("changed parameter{}", LogFields({{"name", name}}));
    }
    needs_reload = true;
  } else {
    spdlog::info("postgres parameters not changed");
  }
  RETURN_IF_ERROR(UpdateSyncStandbysWait(db));
  // 13. pg_hba.
  std::vector<std::string> hba = HBA(cd, db, wait_sync_standbys_synced_);
  pg_.SetHBA(hba);
  if (pg_.CurHBA() != hba) {
    spdlog::info("postgres hba entries changed, reloading postgres instance");
    needs_reload = true;
  }
  // 14. Reload.
  if (needs_reload) {
    const std::string old_sync_names =
        ParameterOrEmpty(pg_.CurParameters(), "synchronous_standby_names");
    shared_.UpdatePassReport([](PassReport& p) { p.needs_reload = true; });
    RETURN_IF_ERROR(Annotate(pg_.Reload(), "failed to reload postgres instance"));
    shared_.UpdatePassReport([](PassReport& p) { p.needs_reload = false; });
    if (db.spec.role == cluster::kRoleMaster &&
        ParameterOrEmpty(params, "synchronous_standby_names") != old_sync_names) {
      NudgeSyncStandbys(db);
    }
  }
  return absl::OkStatus();
}

absl::Status StateMachine::UpdateSyncStandbysWait(const DB& db) {
  // (invariant 8)
  if (!db.spec.synchronous_replication || !wait_sync_standbys_synced_) {
    wait_sync_standbys_synced_ = false;
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(auto in_sync, pg_.GetSyncStandbys());
  if (SyncStandbysInSync(in_sync, db.spec.synchronous_standbys)) {
    spdlog::info("synchronous standbys are in sync, allowing connections from normal users");
    wait_sync_standbys_synced_ = false;
  } else {
    spdlog::info(
        "waiting for synchronous standbys to be in sync before allowing connections "
        "from normal users{}",
        LogFields({{"inSync", fmt::format("{}", fmt::join(in_sync, ","))},
                   {"wanted", fmt::format("{}", fmt::join(db.spec.synchronous_standbys, ","))}}));
  }
  return absl::OkStatus();
}

absl::Status StateMachine::ApplyRestart(const ClusterSpec& spec) {
  ASSIGN_OR_RETURN(bool restart_required, pg_.IsRestartRequired());
  if (restart_required != restart_pending_.value_or(false)) {
    if (restart_required) {
      spdlog::info(spec.automatic_pg_restart.value_or(false)
                       ? "postgres parameters that require a restart changed: restarting "
                         "(automaticPgRestart is on)"
                       : "postgres parameters that require a restart changed: not restarting "
                         "since automaticPgRestart is off (restart postgres to apply them)");
    }
  }
  restart_pending_ = restart_required;
  shared_.UpdatePassReport([&](PassReport& p) { p.needs_restart = restart_required; });
  if (restart_required && spec.automatic_pg_restart.value_or(false)) {
    spdlog::info("restarting postgres");
    RETURN_IF_ERROR(Annotate(pg_.Restart(true), "failed to restart postgres instance"));
    RETURN_IF_ERROR(
        Annotate(pg_.WaitReady(*spec.db_wait_ready_timeout), "postgres not ready after restart"));
    restart_pending_ = false;
    shared_.UpdatePassReport([](PassReport& p) { p.needs_restart = false; });
  }
  // The instance runs the new copy: previous data directories kept by a resync can go now.
  ASSIGN_OR_RETURN(auto removed, pg_.RemoveMovedAside());
  for (const auto& path : removed) {
    spdlog::info("removed the previous data directory kept during the resync{}",
                 LogFields({{"path", path}}));
  }
  return absl::OkStatus();
}

absl::Status StateMachine::AcknowledgeGeneration(const DB& db, DBLocalState dbls) {
  if (dbls.generation != db.generation || dbls.initializing) {
    spdlog::info("db converged{}",
                 LogFields({{"db", db.uid}, {"generation", std::to_string(db.generation)}}));
  }
  dbls.uid = db.uid;
  dbls.generation = db.generation;
  dbls.initializing = false;
  RETURN_IF_ERROR(SaveDBState(dbls));
  // Converged: the instance now has the wanted role (a promotion happened in this pass).
  shared_.UpdatePassReport([&](PassReport& p) { p.local_role = db.spec.role; });
  return absl::OkStatus();
}

absl::Status StateMachine::RefreshSlots(const DB& db) {
  std::vector<std::string> additional =
      db.spec.additional_replication_slots.value_or(std::vector<std::string>{});
  auto r = pg_.RefreshReplicationSlots(db.spec.followers, additional);
  if (!r.ok()) return Annotate(r.status(), "error updating replication slots");
  for (const auto& s : r->created)
    spdlog::info("created replication slot{}", LogFields({{"slot", s}}));
  for (const auto& s : r->dropped)
    spdlog::info("dropped replication slot{}", LogFields({{"slot", s}}));
  // A failed drop was logged, with its error, by RefreshReplicationSlots.
  return absl::OkStatus();
}

absl::Status StateMachine::ConvergeMaster(const ClusterData& cd, const ClusterSpec& spec,
                                          const DB& db, const std::string& local_role,
                                          bool started) {
  ASSIGN_OR_RETURN(const MasterPlan plan,
                   PlanMaster(local_role, started, db.spec.synchronous_replication));
  pg_.SetRecoveryOptions({});
  if (plan.start) {
    if (plan.hold_normal_users) {
      wait_sync_standbys_synced_ = true;
      spdlog::info(
          "not allowing connection as normal users since synchronous replication is "
          "enabled and instance was down");
      pg_.SetHBA(HBA(cd, db, true));
    }
    RETURN_IF_ERROR(StartAndWaitReady(spec));
  }
  if (!plan.promote) {
    spdlog::debug("already master");
    return RefreshSlots(db);
  }
  if (plan.apply_sync_names_first) {
    // Promoted first and reloaded later in the pass, the instance acknowledged commits that no
    // standby had (seen in bench/failover: an ack 0.15 s after the election).
    spdlog::info("applying synchronous_standby_names {:?} before promotion",
                 postgresql::SynchronousStandbyNames(db.spec));
    RETURN_IF_ERROR(Annotate(pg_.Reload(), "failed to reload postgres instance"));
  }
  spdlog::info("promoting to master");
  RETURN_IF_ERROR(Annotate(pg_.Promote(), "failed to promote instance"));
  // The recovery parameters must leave postgresql.conf now that we are a primary.
  RETURN_IF_ERROR(Annotate(pg_.WriteConfs(), "failed to write the configuration"));
  return RefreshSlots(db);
}

absl::Status StateMachine::StartAndWaitReady(const ClusterSpec& spec) {
  if (absl::Status s = pg_.Start(); !s.ok()) {
    spdlog::error("failed to start postgres{}", LogFields({{"error", std::string(s.message())}}));
    return Annotate(s, "failed to start postgres");
  }
  return Annotate(pg_.WaitReady(*spec.db_wait_ready_timeout),
                  "timeout waiting for instance to be ready");
}

absl::StatusOr<bool> StateMachine::ConvergeStandby(const ClusterData& cd, const ClusterSpec& spec,
                                                   const DB& db, const std::string& local_role,
                                                   bool started) {
  RecoveryOptions ro;
  bool changed = false;
  bool reloadable = false;
  if (local_role != cluster::kRoleMaster && local_role != cluster::kRoleUndefined) {
    ASSIGN_OR_RETURN(ro, StandbyRecoveryOptionsFor(config_, cd, db));
    changed = started && pg_.CurRecoveryOptions() != ro;
    if (changed) {
      auto version = pg_.BinaryVersion();
      reloadable = version.ok() &&
                   postgresql::RecoveryChangeIsReloadable(pg_.CurRecoveryOptions(), ro, *version);
    }
  }
  ASSIGN_OR_RETURN(const StandbyStep step, PlanStandby(local_role, started, changed, reloadable));
  if (step == StandbyStep::kWaitForResync) {
    spdlog::info(
        "our db requested role is standby but the local instance is not initialized: "
        "waiting for a db to resync");
    return false;
  }
  if (step == StandbyStep::kReload || step == StandbyStep::kRestart) {
    spdlog::info("connection parameters changed. Reconfiguring.{}",
                 LogFields({{"followedDB", db.spec.follow_config->db_uid},
                            {"followType", db.spec.follow_config->type}}));
  }
  pg_.SetRecoveryOptions(ro);
  if (step == StandbyStep::kStart) {
    RETURN_IF_ERROR(StartAndWaitReady(spec));
  } else if (step == StandbyStep::kReload) {
    // PostgreSQL >= 13 re-reads primary_conninfo on SIGHUP and restarts its WAL receiver: the
    // standby keeps serving reads and is following the new master within a second.
    RETURN_IF_ERROR(Annotate(pg_.Reload(), "failed to reload postgres instance"));
  } else if (step == StandbyStep::kRestart) {
    RETURN_IF_ERROR(Annotate(pg_.Restart(true), "failed to restart postgres instance"));
  }
  RETURN_IF_ERROR(RefreshSlots(db));
  return true;
}

}  // namespace stolon::keeper
