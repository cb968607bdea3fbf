// The initializing phase: create the first master db (initMode new, existing or pitr) and wait
// for it to converge before switching the cluster to the normal phase.
#include "sentinel/internal.h"

namespace stolon::sentinel::internal {
namespace {

// A random keeper among the healthy ones that may be master (sorted by uid, then a random
// index). Unlike stolon, a keeper started with --can-be-master=false never gets the first master
// db: it could not take over that role later either.
absl::StatusOr<std::string> ChooseInitialKeeper(const ClusterData& cd, Ctx& ctx) {
  if (cd.keepers.empty()) {
    return absl::FailedPreconditionError(
        "cannot choose initial master: no keepers registered; start a keeper with this "
        "cluster name and store");
  }
  std::vector<std::string> eligible;
  for (const auto& [uid, k] : cd.keepers) {
    if (k.status.can_be_master.has_value() && !*k.status.can_be_master) continue;
    if (!k.status.healthy) continue;
    eligible.push_back(uid);
  }
  if (eligible.empty()) {
    return absl::FailedPreconditionError(fmt::format(
        "cannot choose initial master: none of the {} registered keepers is healthy with "
        "canBeMaster; start a keeper with --can-be-master=true",
        cd.keepers.size()));
  }
  return eligible[static_cast<size_t>(ctx.rng() % eligible.size())];
}

DB NewMasterDb(const std::string& keeper_uid, const std::string& init_mode, Ctx& ctx) {
  DB db;
  db.uid = ctx.ids.NewUid();
  db.generation = cluster::kInitialGeneration;
  db.spec.keeper_uid = keeper_uid;
  db.spec.init_mode = init_mode;
  db.spec.role = cluster::kRoleMaster;
  db.spec.include_previous_config = *ctx.spec.merge_pg_parameters;
  return db;
}

cluster::FollowConfig ExternalFollowConfig(const ClusterSpec& spec) {
  cluster::FollowConfig fc;
  fc.type = cluster::kFollowExternal;
  if (spec.standby_config) {
    fc.standby_settings = spec.standby_config->standby_settings;
    fc.archive_recovery_settings = spec.standby_config->archive_recovery_settings;
  }
  return fc;
}

absl::StatusOr<DB> CreateInitialDb(const ClusterData& cd, Ctx& ctx) {
  const std::string& mode = *ctx.spec.init_mode;
  if (mode == cluster::kInitModeExisting) {
    const std::string wanted =
        ctx.spec.existing_config ? ctx.spec.existing_config->keeper_uid : std::string();
    if (cd.keepers.count(wanted) == 0) {
      return absl::FailedPreconditionError(fmt::format(
          "keeper {:?} state not available: start that keeper (existingConfig.keeperUID) "
          "so that it registers",
          wanted));
    }
    ctx.log.Add("initializing cluster using keeper {} (existingConfig) as master db owner", wanted);
    return NewMasterDb(wanted, cluster::kInitModeExisting, ctx);
  }
  ASSIGN_OR_RETURN(std::string keeper, ChooseInitialKeeper(cd, ctx));
  if (mode == cluster::kInitModeNew) {
    DB db = NewMasterDb(keeper, cluster::kInitModeNew, ctx);
    db.spec.new_config = ctx.spec.new_config;
    ctx.log.Add("initializing cluster: new db {} on randomly chosen keeper {} (initMode new)",
                db.uid, keeper);
    return db;
  }
  DB db = NewMasterDb(keeper, cluster::kInitModePITR, ctx);
  db.spec.pitr_config = ctx.spec.pitr_config;
  if (*ctx.spec.role == cluster::kRoleStandby) {
    db.spec.role = cluster::kRoleStandby;
    db.spec.follow_config = ExternalFollowConfig(ctx.spec);
  }
  ctx.log.Add("initializing cluster: db {} on randomly chosen keeper {} restored by pitr, role {}",
              db.uid, keeper, db.spec.role);
  return db;
}

void CompleteInitialization(DB& db, ClusterData& next, Ctx& ctx) {
  db.spec.init_mode = cluster::kInitModeNone;
  db.spec.include_previous_config = false;
  if (*ctx.spec.merge_pg_parameters) next.cluster.spec.pg_parameters = db.status.pg_parameters;
  next.cluster.status.phase = cluster::kPhaseNormal;
  ctx.log.Add("db {} on keeper {} initialized: cluster phase is now normal", db.uid,
              db.spec.keeper_uid);
}

}  // namespace

absl::Status UpdateInitializing(const ClusterData& cd, ClusterData& next, Ctx& ctx) {
  const std::string& mode = *ctx.spec.init_mode;
  if (mode != cluster::kInitModeNew && mode != cluster::kInitModeExisting &&
      mode != cluster::kInitModePITR) {
    return absl::FailedPreconditionError(fmt::format("unknown init mode {:?}", mode));
  }
  if (cd.cluster.status.master.empty()) {
    ASSIGN_OR_RETURN(DB db, CreateInitialDb(cd, ctx));
    next.cluster.status.master = db.uid;
    next.dbs[db.uid] = std::move(db);
    return absl::OkStatus();
  }
  auto it = next.dbs.find(cd.cluster.status.master);
  if (it == next.dbs.end()) {
    return absl::FailedPreconditionError(
        fmt::format("master db {:?} does not exist", cd.cluster.status.master));
  }
  DB& db = it->second;
  Duration timeout = Duration::zero();  // pitr: wait forever
  if (mode == cluster::kInitModeNew) timeout = *ctx.spec.init_timeout;
  if (mode == cluster::kInitModeExisting) timeout = *ctx.spec.convergence_timeout;
  switch (DbConvergenceState(db, timeout, ctx)) {
    case Convergence::kConverged:
      if (db.status.healthy) {
        CompleteInitialization(db, next, ctx);
      } else {
        ctx.log.Add("waiting for db {} on keeper {}: converged but not healthy yet", db.uid,
                    db.spec.keeper_uid);
      }
      break;
    case Convergence::kConverging:
      ctx.log.Add("waiting for db {} on keeper {} to initialize", db.uid, db.spec.keeper_uid);
      break;
    case Convergence::kFailed:
      if (mode == cluster::kInitModeExisting) {
        // stolon has no failure path for existing: keep waiting.
        ctx.log.Add(
            "waiting for db {} on keeper {} to initialize (convergenceTimeout {} "
            "exceeded; initMode existing has no retry)",
            db.uid, db.spec.keeper_uid, Seconds(timeout));
        break;
      }
      ctx.log.Add(
          "db {} on keeper {} failed to initialize within initTimeout {}: removing it "
          "so that another keeper is tried",
          db.uid, db.spec.keeper_uid, Seconds(timeout));
      next.dbs.clear();
      next.cluster.status.master.clear();
      break;
  }
  return absl::OkStatus();
}

}  // namespace stolon::sentinel::internal
