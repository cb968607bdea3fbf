#include "keeper/decide.h"

#include <set>

#include "common/log.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"

namespace stolon::keeper {

using cluster::ClusterData;
using cluster::DB;
using postgresql::ConnParams;
using postgresql::RecoveryMode;

Gate DecideGate(const ClusterData& cd, const std::string& keeper_uid,
                const std::string& boot_uuid) {
  Gate g;
  auto kit = cd.keepers.find(keeper_uid);
  if (kit == cd.keepers.end()) {
    g.outcome = PassOutcome::kNoKeeper;
    return g;
  }
  g.keeper = &kit->second;
  for (const auto& [uid, d] : cd.dbs) {
    if (d.spec.keeper_uid == keeper_uid) g.db = &d;
  }
  if (g.db == nullptr) {
    g.outcome = PassOutcome::kNoDB;
    g.stop_postgres = true;
  } else if (g.keeper->status.boot_uuid != boot_uuid) {
    g.outcome = PassOutcome::kBootUUIDMismatch;
    g.stop_postgres = true;
  }
  return g;
}

LocalDBPlan DecideLocalDB(const DBLocalState& dbls, const DB& db) {
  LocalDBPlan p;
  p.redo_interrupted = dbls.initializing;
  // After an interrupted attempt the state is cleared, so the db is initialized again.
  p.initialize = p.redo_interrupted || dbls.uid != db.uid;
  return p;
}

absl::StatusOr<InitKind> DecideInitKind(const DB& db) {
  const std::string& mode = db.spec.init_mode;
  if (mode == cluster::kInitModeNew) return InitKind::kNew;
  if (mode == cluster::kInitModeExisting) return InitKind::kExisting;
  if (mode == cluster::kInitModePITR) return InitKind::kPITR;
  if (mode == cluster::kInitModeResync) return InitKind::kResync;
  if (mode == cluster::kInitModeNone || mode.empty()) {
    return absl::FailedPreconditionError(fmt::format(
        "different local dbUID but init mode is none, this shouldn't happen. Something bad "
        "happened to the keeper data (data dir or state files removed?). Check that the keeper "
        "data is intact. Not starting postgres (db {:?})",
        db.uid));
  }
  return absl::InvalidArgumentError(fmt::format("unknown db init mode {:?}", mode));
}

absl::StatusOr<MasterPlan> PlanMaster(const std::string& local_role, bool started,
                                      bool synchronous_replication) {
  if (local_role == cluster::kRoleUndefined) {
    return absl::FailedPreconditionError(
        "our db requested role is master but the local instance is not initialized");
  }
  MasterPlan p;
  p.start = !started;
  p.hold_normal_users = !started && synchronous_replication;
  p.promote = local_role == cluster::kRoleStandby;
  // synchronous_standby_names must be in force before the instance accepts writes: promoted
  // first and reloaded later in the pass, it would acknowledge commits that no standby has.
  p.apply_sync_names_first = p.promote && synchronous_replication;
  return p;
}

absl::StatusOr<StandbyStep> PlanStandby(const std::string& local_role, bool started,
                                        bool recovery_options_changed, bool reloadable) {
  if (local_role == cluster::kRoleMaster) {
    return absl::FailedPreconditionError("cannot move from master role to standby role");
  }
  if (local_role == cluster::kRoleUndefined) return StandbyStep::kWaitForResync;
  if (!started) return StandbyStep::kStart;
  if (!recovery_options_changed) return StandbyStep::kKeep;
  return reloadable ? StandbyStep::kReload : StandbyStep::kRestart;
}

bool SyncStandbysInSync(const std::vector<std::string>& in_sync,
                        const std::vector<std::string>& wanted) {
  return std::set<std::string>(in_sync.begin(), in_sync.end()) ==
         std::set<std::string>(wanted.begin(), wanted.end());
}

std::vector<std::string> SyncStandbyNamesToNudge(const DB& db) {
  std::vector<std::string> names;
  for (const auto& uid : db.spec.synchronous_standbys) {
    names.push_back(std::string(cluster::kStolonPrefix) + uid);
  }
  for (const auto& name : db.spec.external_synchronous_standbys) {
    if (name != cluster::kFakeStandbyName) names.push_back(name);
  }
  return names;
}

postgresql::HBAOptions HBAOptionsFor(const KeeperConfig& config, const ClusterData& cd,
                                     const DB& db, bool only_internal) {
  postgresql::HBAOptions o;
  o.su_user = config.pg_su_username;
  o.su_auth_method = config.pg_su_auth_method;
  o.repl_user = config.pg_repl_username;
  o.repl_auth_method = config.pg_repl_auth_method;
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
  return o;
}

absl::StatusOr<postgresql::RecoveryOptions> StandbyRecoveryOptionsFor(const KeeperConfig& config,
                                                                      const ClusterData& cd,
                                                                      const DB& db) {
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
  ss.primary_conninfo = postgresql::ConnString(ReplConnParams(config, fit->second, db.uid));
  ss.primary_slot_name = std::string(cluster::kStolonPrefix) + db.uid;
  return postgresql::CreateRecoveryOptions(RecoveryMode::kStandby, ss, std::nullopt, std::nullopt);
}

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

bool CanTryPgRewind(const KeeperConfig& config, const ClusterData& cd, const DB& db,
                    bool initialized, const std::string& system_id, const DB& followed) {
  const bool master_exists =
      !cd.cluster.status.master.empty() && cd.dbs.count(cd.cluster.status.master) > 0;
  const bool have_credentials =
      !config.pg_su_username.empty() &&
      (!config.pg_su_password.empty() || config.pg_su_auth_method == postgresql::kAuthTrust);
  return initialized && system_id == followed.status.system_id && master_exists &&
         db.spec.use_pg_rewind && have_credentials;
}

}  // namespace stolon::keeper
