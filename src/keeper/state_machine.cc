#include "keeper/state_machine.h"

#include <algorithm>
#include <set>

#include "common/log.h"
#include "common/status.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"

namespace stolon::keeper {

using cluster::ClusterData;
using cluster::ClusterSpec;
using cluster::DB;
using postgresql::ConnParams;
using postgresql::RecoveryMode;

// ---------------------------------------------------------------------------------------------
// SharedState

DBLocalState SharedState::db_state() const {
  absl::MutexLock l(&mu_);
  return db_state_;
}
void SharedState::set_db_state(DBLocalState s) {
  absl::MutexLock l(&mu_);
  db_state_ = std::move(s);
}
std::string SharedState::cluster_uid() const {
  absl::MutexLock l(&mu_);
  return cluster_uid_;
}
void SharedState::set_cluster_uid(std::string uid) {
  absl::MutexLock l(&mu_);
  cluster_uid_ = std::move(uid);
}
Duration SharedState::sleep_interval() const {
  absl::MutexLock l(&mu_);
  return sleep_interval_;
}
void SharedState::set_sleep_interval(Duration d) {
  absl::MutexLock l(&mu_);
  sleep_interval_ = d;
}
std::optional<cluster::PostgresState> SharedState::pg_state() const {
  absl::MutexLock l(&mu_);
  return pg_state_;
}
void SharedState::set_pg_state(std::optional<cluster::PostgresState> s) {
  absl::MutexLock l(&mu_);
  pg_state_ = std::move(s);
}
std::optional<postgresql::PGVersion> SharedState::binary_version() const {
  absl::MutexLock l(&mu_);
  return binary_version_;
}
void SharedState::set_binary_version(postgresql::PGVersion v) {
  absl::MutexLock l(&mu_);
  binary_version_ = v;
}

PassReport SharedState::pass_report() const {
  absl::MutexLock l(&mu_);
  return pass_report_;
}
void SharedState::UpdatePassReport(const std::function<void(PassReport&)>& f) {
  absl::MutexLock l(&mu_);
  f(pass_report_);
}

// ---------------------------------------------------------------------------------------------
// Pure helpers

std::string ExpandDataRestoreCommand(const std::string& command, const std::string& pgdata) {
  std::string out;
  for (size_t i = 0; i < command.size(); ++i) {
    if (command[i] == '%' && i + 1 < command.size()) {
      if (command[i + 1] == 'd') {
        out += pgdata;
        ++i;
        continue;
      }
      if (command[i + 1] == '%') {
        out += '%';
        ++i;
        continue;
      }
    }
    out += command[i];
  }
  return out;
}

namespace {

std::string ParameterOrEmpty(const PGParameters& p, const std::string& name) {
  auto it = p.find(name);
  return it == p.end() ? "" : it->second;
}

const cluster::TimelineHistoryEntry* FindTimeline(const cluster::TimelinesHistory& h,
                                                  uint64_t tli) {
  for (const auto& e : h) {
    if (e.timeline_id == tli) return &e;
  }
  return nullptr;
}

std::string U(uint64_t v) { return std::to_string(v); }

}  // namespace

bool IsDifferentTimelineBranch(const TimelineState& followed, const TimelineState& ours) {
  if (followed.timeline_id < ours.timeline_id) {
    spdlog::info("followed instance timeline < than our timeline{}",
                 LogFields({{"followedTimeline", U(followed.timeline_id)},
                            {"timeline", U(ours.timeline_id)}}));
    return true;
  }
  if (followed.timeline_id == ours.timeline_id) {
    // Same timeline: it must have forked from the previous one at the same point.
    if (ours.timeline_id <= 1) return false;
    const auto* fh = FindTimeline(followed.history, ours.timeline_id - 1);
    const auto* oh = FindTimeline(ours.history, ours.timeline_id - 1);
    if (fh == nullptr || oh == nullptr || fh->switch_point == oh->switch_point) return false;
    spdlog::info("followed instance timeline forked at a different xlog pos than our timeline{}",
                 LogFields({{"followedTimeline", U(followed.timeline_id)},
                            {"followedXlogpos", U(fh->switch_point)},
                            {"timeline", U(ours.timeline_id)},
                            {"xlogpos", U(oh->switch_point)}}));
    return true;
  }
  // The followed db is on a later timeline: it must have left ours after our position.
  if (const auto* fh = FindTimeline(followed.history, ours.timeline_id);
      fh != nullptr && fh->switch_point < ours.xlog_pos) {
    spdlog::info("followed instance timeline forked before our current state{}",
                 LogFields({{"followedTimeline", U(followed.timeline_id)},
                            {"followedXlogpos", U(fh->switch_point)},
                            {"timeline", U(ours.timeline_id)},
                            {"xlogpos", U(ours.xlog_pos)}}));
    return true;
  }
  return false;
}

ConnParams ReplConnParams(const KeeperConfig& config, const DB& followed,
                          const std::string& db_uid) {
  ConnParams p{{"user", config.pg_repl_username},
               {"host", followed.status.listen_address},
               {"port", followed.status.port},
               {"application_name", std::string(cluster::kStolonPrefix) + db_uid},
               {"sslmode", "prefer"}};
  if (config.pg_repl_auth_method != postgresql::kAuthTrust) {
    p["password"] = config.pg_repl_password;
  }
  return p;
}

ConnParams SuConnParams(const KeeperConfig& config, const DB& master) {
  ConnParams p{{"user", config.pg_su_username}, {"host", master.status.listen_address},
               {"port", master.status.port},    {"dbname", "postgres"},
               {"sslmode", "prefer"},           {"options", "-c synchronous_commit=off"}};
  if (config.pg_su_auth_method != postgresql::kAuthTrust) p["password"] = config.pg_su_password;
  return p;
}

cluster::PostgresState ProbePGState(Instance& pg, const DBLocalState& dbls,
                                    const KeeperConfig& config) {
  cluster::PostgresState st;
  st.uid = dbls.uid;
  st.generation = dbls.generation;
  st.listen_address = config.pg_advertise_address;
  st.port = config.pg_advertise_port;
  // During an init or resync the instance's state means nothing to the sentinel.
  if (dbls.initializing) return st;
  auto initialized = pg.IsInitialized();
  if (!initialized.ok() || !*initialized) return st;
  if (auto probe = pg.ProbeNewConnection(); !probe.ok()) {
    spdlog::warn("reporting postgres unhealthy: it accepts no new connection ({})",
                 std::string(probe.message()));
    return st;
  }
  auto params = pg.GetConfigFilePGParameters();
  if (!params.ok()) {
    spdlog::debug("cannot get configured pg parameters: {}", params.status().ToString());
    return st;
  }
  st.pg_parameters = postgresql::FilterManagedParameters(*params);
  auto sync = pg.GetSyncStandbys();
  if (!sync.ok()) {
    spdlog::debug("cannot get sync standbys: {}", sync.status().ToString());
    return st;
  }
  st.synchronous_standbys = *sync;
  auto sd = pg.GetSystemData();
  if (!sd.ok()) {
    spdlog::debug("error getting pg state: {}", sd.status().ToString());
    return st;
  }
  st.system_id = sd->system_id;
  st.timeline_id = sd->timeline_id;
  st.xlog_pos = sd->xlog_pos;
  if (sd->timeline_id > 1) {
    auto h = pg.GetTimelinesHistory(sd->timeline_id);
    if (!h.ok()) {
      spdlog::debug("error getting timeline history: {}", h.status().ToString());
      return st;
    }
    cluster::TimelinesHistory last = *h;
    if (last.size() > 2) last.erase(last.begin(), last.end() - 2);
    st.timelines_history = std::move(last);
  }
  if (auto w = pg.OlderWalFile(); w.ok()) {
    st.older_wal_file = *w;
  } else {
    spdlog::warn("cannot get the older wal file: {}", std::string(w.status().message()));
  }
  st.healthy = true;
  return st;
}

// ---------------------------------------------------------------------------------------------
// StateMachine

StateMachine::StateMachine(const KeeperConfig& config, KeeperLocalState keeper_state,
                           std::string boot_uuid, KeeperStore& store, Instance& pg,
                           SharedState& shared)
    : config_(config),
      keeper_state_(std::move(keeper_state)),
      boot_uuid_(std::move(boot_uuid)),
      store_(store),
      pg_(pg),
      shared_(shared) {
  shared_.set_cluster_uid(keeper_state_.cluster_uid);
}

void StateMachine::NudgeSyncStandbys(const cluster::DB& db) {
  std::vector<std::string> names;
  for (const auto& uid : db.spec.synchronous_standbys)
    names.push_back(std::string(cluster::kStolonPrefix) + uid);
  for (const auto& name : db.spec.external_synchronous_standbys) {
    if (name != cluster::kFakeStandbyName) names.push_back(name);
  }
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
  ASSIGN_OR_RETURN(auto s, LoadDBLocalState(config_.data_dir));
  shared_.set_db_state(s.value_or(DBLocalState{}));
  return absl::OkStatus();
}

absl::Status StateMachine::SaveDBState(const DBLocalState& s) {
  RETURN_IF_ERROR(Annotate(SaveDBLocalState(config_.data_dir, s), "cannot save db local state"));
  shared_.set_db_state(s);
  return absl::OkStatus();
}

void StateMachine::NoteStoreResult(const absl::Status& s) {
  bool ok = s.ok();
  if (store_reachable_ == ok) {
    if (!ok) spdlog::debug("store still unreachable: {}", std::string(s.message()));
    return;
  }
  if (!ok) {
    spdlog::error(
        "cannot read the cluster data from the store: {}; leaving postgres as it is "
        "and retrying every sleep interval",
        std::string(s.message()));
  } else if (store_reachable_.has_value()) {
    spdlog::info("store reachable again: converging to the cluster data");
  }
  store_reachable_ = ok;
}

absl::StatusOr<PassOutcome> StateMachine::Pass() {
  auto r = PassInternal();
  // A store read failure is logged by NoteStoreResult, once per change.
  if (!r.ok() && !store_read_failed_) {
    spdlog::error("keeper pass failed: {}", std::string(r.status().message()));
  }
  const WallTime now = std::chrono::system_clock::now();
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
  postgresql::HBAOptions o;
  o.su_user = config_.pg_su_username;
  o.su_auth_method = config_.pg_su_auth_method;
  o.repl_user = config_.pg_repl_username;
  o.repl_auth_method = config_.pg_repl_auth_method;
  o.access_mode = cd.cluster.spec.default_su_repl_access_mode.value_or(cluster::kAccessAll);
  o.is_master = db.spec.role == cluster::kRoleMaster ||
                (db.spec.follow_config && db.spec.follow_config->type == cluster::kFollowExternal);
  std::set<std::string> addrs;
  for (const auto& [uid, other] : cd.dbs) {
    if (uid != db.uid && !other.status.listen_address.empty()) {
      addrs.insert(other.status.listen_address);
    }
  }
  o.other_db_addresses.assign(addrs.begin(), addrs.end());
  o.pg_hba = db.spec.pg_hba;
  o.only_internal = only_internal;
  return postgresql::GenerateHBA(o);
}

absl::StatusOr<PassOutcome> StateMachine::PassInternal() {
  // 1. The cluster data.
  auto cd_or = store_.GetClusterData();
  store_read_failed_ = !cd_or.ok();
  NoteStoreResult(cd_or.status());
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
  ClusterSpec spec = cd.cluster.spec.WithDefaults();
  RETURN_IF_ERROR(Annotate(spec.Validate(), "invalid cluster spec"));
  shared_.set_sleep_interval(*spec.sleep_interval);
  shared_.UpdatePassReport([](PassReport& p) {
    p.cluster_data_valid_at = std::chrono::system_clock::now();
    // Until our db is found below.
    p.target_role.clear();
    p.wanted_generation = 0;
  });
  if (cd.cluster.uid != keeper_state_.cluster_uid) {
    keeper_state_.cluster_uid = cd.cluster.uid;
    RETURN_IF_ERROR(Annotate(SaveKeeperLocalState(config_.data_dir, keeper_state_),
                             "cannot save keeper local state"));
    shared_.set_cluster_uid(cd.cluster.uid);
  }

  // 2. Our keeper.
  auto kit = cd.keepers.find(keeper_state_.uid);
  if (kit == cd.keepers.end()) {
    spdlog::info("our keeper data is not available, waiting for it to appear");
    return PassOutcome::kNoKeeper;
  }

  // 3. Our db.
  const DB* dbp = nullptr;
  for (const auto& [uid, d] : cd.dbs) {
    if (d.spec.keeper_uid == keeper_state_.uid) dbp = &d;
  }
  if (dbp == nullptr) {
    spdlog::info("no db assigned");
    RETURN_IF_ERROR(Annotate(pg_.StopIfStarted(true), "failed to stop pg instance"));
    return PassOutcome::kNoDB;
  }
  const DB& db = *dbp;
  shared_.UpdatePassReport([&](PassReport& p) {
    p.target_role = db.spec.role;
    p.wanted_generation = db.generation;
  });

  // 4. The boot gate: act only on cluster data that has seen this boot of ours.
  if (kit->second.status.boot_uuid != boot_uuid_) {
    spdlog::info(
        "our db boot UID is different than the cluster data one, waiting for it to be "
        "updated{}",
        LogFields({{"bootUUID", boot_uuid_}, {"clusterBootUUID", kit->second.status.boot_uuid}}));
    RETURN_IF_ERROR(Annotate(pg_.StopIfStarted(true), "failed to stop pg instance"));
    return PassOutcome::kBootUUIDMismatch;
  }

  // 5. The hba to apply later.
  pg_.SetHBA(HBA(cd, db, wait_sync_standbys_synced_));

  // 6. A crashed init or resync: start it again from scratch.
  DBLocalState dbls = shared_.db_state();
  if (dbls.initializing) {
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
  if (dbls.uid != db.uid) {
    spdlog::info("current db UID different than cluster data db UID{}",
                 LogFields({{"db", dbls.uid}, {"cdDB", db.uid}}));
    wait_sync_standbys_synced_ = false;
    pg_.SetRecoveryOptions({});
    RETURN_IF_ERROR(InitDB(cd, spec, db));
    dbls = shared_.db_state();
  }

  // 8. Parameters and the local role.
  PGParameters params = CreateParameters(
      db, db.spec.include_previous_config ? dbls.init_pg_parameters : std::nullopt);
  pg_.SetParameters(params);
  ASSIGN_OR_RETURN(std::string local_role, pg_.LocalRole());
  shared_.UpdatePassReport([&](PassReport& p) { p.local_role = local_role; });
  ASSIGN_OR_RETURN(bool started, pg_.IsStarted());

  if (db.spec.role == cluster::kRoleMaster) {
    // 9.
    RETURN_IF_ERROR(ConvergeMaster(cd, spec, db, local_role, started));
  } else {
    // 10.
    ASSIGN_OR_RETURN(bool proceed, ConvergeStandby(cd, spec, db, local_role, started));
    if (!proceed) return PassOutcome::kNotInitialized;
  }

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

  // 12. After a restart with synchronous replication, user connections wait for the sync
  // standbys (invariant 8).
  if (db.spec.synchronous_replication && wait_sync_standbys_synced_) {
    ASSIGN_OR_RETURN(auto in_sync, pg_.GetSyncStandbys());
    std::set<std::string> got(in_sync.begin(), in_sync.end());
    std::set<std::string> want(db.spec.synchronous_standbys.begin(),
                               db.spec.synchronous_standbys.end());
    if (got == want) {
      spdlog::info("synchronous standbys are in sync, allowing connections from normal users");
      wait_sync_standbys_synced_ = false;
    } else {
      spdlog::info(
          "waiting for synchronous standbys to be in sync before allowing connections "
          "from normal users{}",
          LogFields({{"inSync", fmt::format("{}", fmt::join(got, ","))},
                     {"wanted", fmt::format("{}", fmt::join(want, ","))}}));
    }
  } else {
    wait_sync_standbys_synced_ = false;
  }

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

  // 15. Parameters that only a restart applies.
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

  // 16. Acknowledge the generation.
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
  return PassOutcome::kConverged;
}

absl::Status StateMachine::InitDB(const ClusterData& cd, const ClusterSpec& spec, const DB& db) {
  const std::string& mode = db.spec.init_mode;
  if (mode == cluster::kInitModeNew) return InitNew(spec, db);
  if (mode == cluster::kInitModeExisting) return InitExisting(spec, db);
  if (mode == cluster::kInitModePITR) return InitPITR(spec, db);
  if (mode == cluster::kInitModeResync) return InitResync(cd, spec, db);
  if (mode == cluster::kInitModeNone || mode.empty()) {
    return absl::FailedPreconditionError(fmt::format(
        "different local dbUID but init mode is none, this shouldn't happen. Something bad "
        "happened to the keeper data (data dir or state files removed?). Check that the keeper "
        "data is intact. Not starting postgres (db {:?})",
        db.uid));
  }
  return absl::InvalidArgumentError(fmt::format("unknown db init mode {:?}", mode));
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
  RETURN_IF_ERROR(StandbyRecoveryOptions(cd, db).status());
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
  bool master_exists = !cd.cluster.status.master.empty() && cd.dbs.count(cd.cluster.status.master);
  bool try_pgrewind = initialized && system_id == followed.status.system_id && master_exists;
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
  bool fallback = false;
  if (absl::Status s = pg_.WaitReady(*spec.db_wait_ready_timeout); !s.ok()) {
    spdlog::info(
        "instance not ready after pg_rewind (probably waiting for missing wal): doing a "
        "full resync{}",
        LogFields({{"error", std::string(s.message())}}));
    fallback = true;
  } else {
    auto sd = pg_.GetSystemData();
    if (sd.ok()) {
      TimelineState ours{sd->timeline_id, sd->xlog_pos, {}};
      if (sd->timeline_id > 1) {
        if (auto h = pg_.GetTimelinesHistory(sd->timeline_id); h.ok()) ours.history = *h;
      }
      TimelineState theirs{followed.status.timeline_id, followed.status.xlog_pos,
                           followed.status.timelines_history};
      if (IsDifferentTimelineBranch(theirs, ours)) {
        spdlog::info(
            "instance on a different timeline branch after pg_rewind: doing a full resync");
        fallback = true;
      }
    }
  }
  if (!fallback) return absl::OkStatus();
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
  ASSIGN_OR_RETURN(RecoveryOptions standby_ro, StandbyRecoveryOptions(cd, db));
  if (try_pgrewind && db.spec.use_pg_rewind && !config_.pg_su_username.empty() &&
      (!config_.pg_su_password.empty() || config_.pg_su_auth_method == postgresql::kAuthTrust)) {
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

absl::StatusOr<RecoveryOptions> StateMachine::StandbyRecoveryOptions(const ClusterData& cd,
                                                                     const DB& db) const {
  if (!db.spec.follow_config) {
    return absl::InvalidArgumentError("standby db without followConfig");
  }
  const auto& fc = *db.spec.follow_config;
  if (fc.type == cluster::kFollowExternal) {
    return postgresql::CreateRecoveryOptions(RecoveryMode::kStandby, fc.standby_settings,
                                             fc.archive_recovery_settings, std::nullopt);
  }
  auto fit = cd.dbs.find(fc.db_uid);
  if (fit == cd.dbs.end()) {
    return absl::NotFoundError(fmt::format("no db data available for followed db {:?}", fc.db_uid));
  }
  if (fit->second.status.listen_address.empty() || fit->second.status.port.empty()) {
    return absl::UnavailableError(fmt::format(
        "followed db {:?} has no known address yet: waiting for its keeper to report it",
        fc.db_uid));
  }
  cluster::StandbySettings ss;
  ss.primary_conninfo = postgresql::ConnString(ReplConnParams(config_, fit->second, db.uid));
  ss.primary_slot_name = std::string(cluster::kStolonPrefix) + db.uid;
  return postgresql::CreateRecoveryOptions(RecoveryMode::kStandby, ss, std::nullopt, std::nullopt);
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
  if (local_role == cluster::kRoleUndefined) {
    return absl::FailedPreconditionError(
        "our db requested role is master but the local instance is not initialized");
  }
  pg_.SetRecoveryOptions({});
  if (!started) {
    if (db.spec.synchronous_replication) {
      wait_sync_standbys_synced_ = true;
      spdlog::info(
          "not allowing connection as normal users since synchronous replication is "
          "enabled and instance was down");
      pg_.SetHBA(HBA(cd, db, true));
    }
    if (absl::Status s = pg_.Start(); !s.ok()) {
      spdlog::error("failed to start postgres{}", LogFields({{"error", std::string(s.message())}}));
      return Annotate(s, "failed to start postgres");
    }
    RETURN_IF_ERROR(Annotate(pg_.WaitReady(*spec.db_wait_ready_timeout),
                             "timeout waiting for instance to be ready"));
  }
  if (local_role == cluster::kRoleStandby) {
    if (db.spec.synchronous_replication) {
      // synchronous_standby_names must be in force before the instance accepts writes: promoted
      // first and reloaded later in the pass, it acknowledged commits that no standby had (seen
      // in bench/failover: an ack 0.15 s after the election, before any sync standby was named).
      spdlog::info("applying synchronous_standby_names {:?} before promotion",
                   postgresql::SynchronousStandbyNames(db.spec));
      RETURN_IF_ERROR(Annotate(pg_.Reload(), "failed to reload postgres instance"));
    }
    spdlog::info("promoting to master");
    RETURN_IF_ERROR(Annotate(pg_.Promote(), "failed to promote instance"));
    // The recovery parameters must leave postgresql.conf now that we are a primary.
    RETURN_IF_ERROR(Annotate(pg_.WriteConfs(), "failed to write the configuration"));
  } else {
    spdlog::debug("already master");
  }
  return RefreshSlots(db);
}

absl::StatusOr<bool> StateMachine::ConvergeStandby(const ClusterData& cd, const ClusterSpec& spec,
                                                   const DB& db, const std::string& local_role,
                                                   bool started) {
  if (local_role == cluster::kRoleMaster) {
    return absl::FailedPreconditionError("cannot move from master role to standby role");
  }
  if (local_role == cluster::kRoleUndefined) {
    spdlog::info(
        "our db requested role is standby but the local instance is not initialized: "
        "waiting for a db to resync");
    return false;
  }
  ASSIGN_OR_RETURN(RecoveryOptions ro, StandbyRecoveryOptions(cd, db));
  if (!started) {
    pg_.SetRecoveryOptions(ro);
    if (absl::Status s = pg_.Start(); !s.ok()) {
      spdlog::error("failed to start postgres{}", LogFields({{"error", std::string(s.message())}}));
      return Annotate(s, "failed to start postgres");
    }
    RETURN_IF_ERROR(Annotate(pg_.WaitReady(*spec.db_wait_ready_timeout),
                             "timeout waiting for instance to be ready"));
  } else if (pg_.CurRecoveryOptions() != ro) {
    spdlog::info("connection parameters changed. Reconfiguring.{}",
                 LogFields({{"followedDB", db.spec.follow_config->db_uid},
                            {"followType", db.spec.follow_config->type}}));
    auto version = pg_.BinaryVersion();
    const bool reload = version.ok() && postgresql::RecoveryChangeIsReloadable(
                                            pg_.CurRecoveryOptions(), ro, *version);
    pg_.SetRecoveryOptions(ro);
    if (reload) {
      // PostgreSQL >= 13 re-reads primary_conninfo on SIGHUP and restarts its WAL receiver: the
      // standby keeps serving reads and is following the new master within a second.
      RETURN_IF_ERROR(Annotate(pg_.Reload(), "failed to reload postgres instance"));
    } else {
      RETURN_IF_ERROR(Annotate(pg_.Restart(true), "failed to restart postgres instance"));
    }
  } else {
    pg_.SetRecoveryOptions(ro);
  }
  RETURN_IF_ERROR(RefreshSlots(db));
  return true;
}

}  // namespace stolon::keeper
