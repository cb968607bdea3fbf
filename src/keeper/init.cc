// The keeper pass's actions that create a db's data: initdb (new), an existing data dir, a
// point-in-time restore, and the resync from the followed db (pg_rewind, else pg_basebackup).
#include "common/log.h"
#include "common/status.h"
#include "fmt/format.h"
#include "keeper/state_machine.h"
#include "spdlog/spdlog.h"

namespace stolon::keeper {

using cluster::ClusterData;
using cluster::ClusterSpec;
using cluster::DB;
using postgresql::RecoveryMode;

absl::Status StateMachine::InitDB(const ClusterData& cd, const ClusterSpec& spec, const DB& db) {
  ASSIGN_OR_RETURN(const InitKind kind, DecideInitKind(db));
  switch (kind) {
    case InitKind::kNew:
      return InitNew(spec, db);
    case InitKind::kExisting:
      return InitExisting(spec, db);
    case InitKind::kPITR:
      return InitPITR(spec, db);
    case InitKind::kResync:
      return InitResync(cd, spec, db);
  }
  return absl::InternalError("unhandled init kind");
}

absl::Status StateMachine::ReadInitPGParameters(const DB& db) {
  if (!db.spec.include_previous_config) return absl::OkStatus();
  ASSIGN_OR_RETURN(auto params, pg_.GetConfigFilePGParameters());
  spdlog::info("got the previous configuration parameters{}",
               LogFields({{"count", std::to_string(params.size())}}));
  DBLocalState s = shared_.db_state();
  s.init_pg_parameters = std::move(params);
  return SaveDBState(s);
}

absl::Status StateMachine::InitNew(const ClusterSpec& spec, const DB& db) {
  spdlog::info("initializing the database cluster");
  RETURN_IF_ERROR(SaveDBState({db.uid, 0, true, std::nullopt}));
  pg_.SetParameters(CreateParameters(db, std::nullopt));
  RETURN_IF_ERROR(Annotate(pg_.StopIfStarted(true), "failed to stop pg instance"));
  RETURN_IF_ERROR(Annotate(pg_.RemoveAll(), "failed to remove the db directory"));
  postgresql::InitConfig init;
  if (db.spec.new_config) {
    init.locale = db.spec.new_config->locale;
    init.encoding = db.spec.new_config->encoding;
    init.data_checksums = db.spec.new_config->data_checksums;
  }
  RETURN_IF_ERROR(Annotate(pg_.Init(init), "failed to initialize postgres database cluster"));
  RETURN_IF_ERROR(Annotate(pg_.StartTmpMerged(), "failed to start instance"));
  RETURN_IF_ERROR(Annotate(pg_.WaitReady(*spec.db_wait_ready_timeout),
                           "timeout waiting for instance to be ready"));
  RETURN_IF_ERROR(ReadInitPGParameters(db));
  spdlog::info("setting roles");
  RETURN_IF_ERROR(Annotate(pg_.SetupRoles(), "failed to setup roles"));
  return Annotate(pg_.StopIfStarted(true), "failed to stop pg instance");
}

absl::Status StateMachine::InitExisting(const ClusterSpec& spec, const DB& db) {
  spdlog::info("using an existing database cluster");
  RETURN_IF_ERROR(SaveDBState({db.uid, 0, false, std::nullopt}));
  pg_.SetParameters(CreateParameters(db, std::nullopt));
  RETURN_IF_ERROR(Annotate(pg_.StopIfStarted(true), "failed to stop pg instance"));
  RETURN_IF_ERROR(Annotate(pg_.StartTmpMerged(), "failed to start instance"));
  RETURN_IF_ERROR(Annotate(pg_.WaitReady(*spec.db_wait_ready_timeout),
                           "timeout waiting for instance to be ready"));
  RETURN_IF_ERROR(ReadInitPGParameters(db));
  return Annotate(pg_.StopIfStarted(true), "failed to stop pg instance");
}

absl::Status StateMachine::InitPITR(const ClusterSpec& spec, const DB& db) {
  if (!db.spec.pitr_config || db.spec.pitr_config->data_restore_command.empty()) {
    return absl::InvalidArgumentError(
        "db init mode is pitr but the db spec has no pitrConfig "
        "with a dataRestoreCommand");
  }
  const auto& pitr = *db.spec.pitr_config;
  spdlog::info("restoring the database cluster (point in time recovery)");
  RETURN_IF_ERROR(SaveDBState({db.uid, 0, true, std::nullopt}));
  pg_.SetParameters(CreateParameters(db, std::nullopt));
  RETURN_IF_ERROR(Annotate(pg_.StopIfStarted(true), "failed to stop pg instance"));
  RETURN_IF_ERROR(Annotate(pg_.RemoveAll(), "failed to remove the db directory"));
  std::string command = ExpandDataRestoreCommand(pitr.data_restore_command, config_.PgDataDir());
  if (absl::Status s = pg_.RunDataRestoreCommand(command, *spec.sync_timeout); !s.ok()) {
    (void)pg_.RemoveAll();
    return Annotate(s, "failed to restore postgres database cluster");
  }
  bool external = db.spec.follow_config && db.spec.follow_config->type == cluster::kFollowExternal;
  RecoveryMode mode = external ? RecoveryMode::kStandby : RecoveryMode::kRecovery;
  std::optional<cluster::StandbySettings> standby;
  if (external) standby = db.spec.follow_config->standby_settings;
  pg_.SetRecoveryOptions(postgresql::CreateRecoveryOptions(
      mode, standby, pitr.archive_recovery_settings, pitr.recovery_target_settings));
  RETURN_IF_ERROR(Annotate(pg_.StartTmpMerged(), "failed to start instance"));
  if (mode == RecoveryMode::kRecovery) {
    spdlog::info("waiting for recovery to be completed");
    RETURN_IF_ERROR(Annotate(pg_.WaitRecoveryDone(*spec.sync_timeout), "recovery not finished"));
    spdlog::info("recovery completed");
  }
  RETURN_IF_ERROR(
      Annotate(pg_.WaitReady(*spec.sync_timeout), "timeout waiting for instance to be ready"));
  RETURN_IF_ERROR(ReadInitPGParameters(db));
  return Annotate(pg_.StopIfStarted(true), "failed to stop pg instance");
}

absl::Status StateMachine::InitResync(const ClusterData& cd, const ClusterSpec& spec,
                                      const DB& db) {
  if (!db.spec.follow_config) {
    return absl::InvalidArgumentError("db init mode is resync but the db spec has no followConfig");
  }
  // Nothing is touched until the followed db is known with an address.
  RETURN_IF_ERROR(StandbyRecoveryOptionsFor(config_, cd, db).status());
  RETURN_IF_ERROR(SaveDBState({db.uid, 0, true, std::nullopt}));
  RETURN_IF_ERROR(Annotate(pg_.StopIfStarted(true), "failed to stop pg instance"));
  pg_.SetParameters(CreateParameters(db, std::nullopt));
  ASSIGN_OR_RETURN(bool initialized, pg_.IsInitialized());
  std::string system_id;
  if (initialized) {
    ASSIGN_OR_RETURN(system_id, pg_.SystemIdFromControlFile());
  }
  auto fit = cd.dbs.find(db.spec.follow_config->db_uid);
  if (fit == cd.dbs.end()) {
    return absl::NotFoundError(
        fmt::format("no db data available for followed db {:?}", db.spec.follow_config->db_uid));
  }
  const DB& followed = fit->second;
  const bool try_pgrewind = CanTryPgRewind(config_, cd, db, initialized, system_id, followed);
  if (initialized && system_id != followed.status.system_id) {
    spdlog::info(
        "local system id differs from the followed db one: pg_rewind is not possible{}",
        LogFields({{"systemID", system_id}, {"followedSystemID", followed.status.system_id}}));
  }

  bool rewound = false;
  RETURN_IF_ERROR(Resync(cd, spec, db, followed, try_pgrewind, rewound));
  RETURN_IF_ERROR(Annotate(pg_.Start(), "failed to start postgres"));
  if (!rewound) {
    return Annotate(pg_.WaitReady(*spec.db_wait_ready_timeout),
                    "timeout waiting for instance to be ready");
  }

  // After a rewind the instance may wait for WAL the master no longer has, or end up on another
  // timeline branch: then fall back to a full copy.
  if (!NeedsFullCopyAfterRewind(spec, followed)) return absl::OkStatus();
  RETURN_IF_ERROR(Annotate(pg_.StopIfStarted(true), "failed to stop pg instance"));
  RETURN_IF_ERROR(Resync(cd, spec, db, followed, false, rewound));
  RETURN_IF_ERROR(Annotate(pg_.Start(), "failed to start postgres"));
  return Annotate(pg_.WaitReady(*spec.db_wait_ready_timeout),
                  "timeout waiting for instance to be ready");
}

absl::Status StateMachine::Resync(const ClusterData& cd, const ClusterSpec& spec, const DB& db,
                                  const DB& followed, bool try_pgrewind, bool& rewound) {
  rewound = false;
  // Also checks that the followed db has a known address before anything is touched.
  ASSIGN_OR_RETURN(RecoveryOptions standby_ro, StandbyRecoveryOptionsFor(config_, cd, db));
  if (try_pgrewind) {
    const DB& master = cd.dbs.at(cd.cluster.status.master);
    spdlog::info("syncing using pg_rewind{}",
                 LogFields({{"masterDB", master.uid}, {"keeper", master.spec.keeper_uid}}));
    absl::Status s =
        pg_.SyncFromFollowedPGRewind(SuConnParams(config_, master), *spec.sync_timeout);
    if (s.ok()) {
      rewound = true;
      pg_.SetRecoveryOptions(standby_ro);
      return absl::OkStatus();
    }
    spdlog::error("error syncing with pg_rewind, falling back to pg_basebackup: {}",
                  std::string(s.message()));
  }

  // OUR DEPARTURE (invariant 9): keep the previous data directory until the new copy has
  // started, unless the disk cannot hold both.
  RETURN_IF_ERROR(SetAsideOrRemove("the previous data directory"));
  spdlog::info("syncing from followed db{}",
               LogFields({{"followedDB", followed.uid}, {"keeper", followed.spec.keeper_uid}}));
  RETURN_IF_ERROR(Annotate(
      pg_.SyncFromFollowed(ReplConnParams(config_, followed, db.uid),
                           std::string(cluster::kStolonPrefix) + db.uid, *spec.sync_timeout),
      "sync error"));
  spdlog::info("sync succeeded");
  pg_.SetRecoveryOptions(standby_ro);
  return absl::OkStatus();
}

absl::Status StateMachine::SetAsideOrRemove(const std::string& what) {
  ASSIGN_OR_RETURN(bool initialized, pg_.IsInitialized());
  if (!initialized) return Annotate(pg_.RemoveAll(), "failed to remove the db directory");
  // Only the first copy is worth keeping: a later one derives from an interrupted attempt.
  ASSIGN_OR_RETURN(bool kept, pg_.HasMovedAside());
  if (kept) {
    spdlog::info("removing {}: an older copy is already kept aside until a db converges", what);
    return Annotate(pg_.RemoveAll(), "failed to remove the db directory");
  }
  auto space = pg_.HasSpaceForDataCopy();
  if (!space.ok() || !*space) {
    spdlog::warn(
        "not enough free disk space to keep {} during the resync: removing it first{}", what,
        space.ok() ? std::string() : LogFields({{"error", std::string(space.status().message())}}));
    return Annotate(pg_.RemoveAll(), "failed to remove the db directory");
  }
  ASSIGN_OR_RETURN(std::string old, pg_.MoveAside());
  spdlog::info("keeping {} until the new copy has started{}", what, LogFields({{"path", old}}));
  return absl::OkStatus();
}

bool StateMachine::NeedsFullCopyAfterRewind(const ClusterSpec& spec, const DB& followed) {
  if (absl::Status s = pg_.WaitReady(*spec.db_wait_ready_timeout); !s.ok()) {
    spdlog::info(
        "instance not ready after pg_rewind (probably waiting for missing wal): doing a "
        "full resync{}",
        LogFields({{"error", std::string(s.message())}}));
    return true;
  }
  auto sd = pg_.GetSystemData();
  if (!sd.ok()) return false;
  TimelineState ours{sd->timeline_id, sd->xlog_pos, {}};
  if (sd->timeline_id > 1) {
    if (auto h = pg_.GetTimelinesHistory(sd->timeline_id); h.ok()) ours.history = *h;
  }
  TimelineState theirs{followed.status.timeline_id, followed.status.xlog_pos,
                       followed.status.timelines_history};
  if (!IsDifferentTimelineBranch(theirs, ours)) return false;
  spdlog::info("instance on a different timeline branch after pg_rewind: doing a full resync");
  return true;
}

}  // namespace stolon::keeper
