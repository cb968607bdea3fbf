// Master health and new master choice (4.7 steps 2-4).
#include <algorithm>

#include "sentinel/internal.h"

namespace stolon::sentinel::internal {
namespace {

bool SyncRepl(const ClusterSpec& spec) {
  return *spec.synchronous_replication && *spec.role == cluster::kRoleMaster;
}

int64_t Lag(const DB& master, const DB& db) {
  return static_cast<int64_t>(master.status.xlog_pos - db.status.xlog_pos);
}

// Timeline and (async only) lag filter shared by standbys and old masters.
bool PassesTimelineAndLag(const DB& master, const DB& db, Ctx& ctx, bool log_rejections) {
  if (db.status.timeline_id != master.status.timeline_id) {
    if (log_rejections) {
      ctx.log.Add("not eligible: db {} on keeper {} is on timeline {}, the master on {}", db.uid,
                  db.spec.keeper_uid, db.status.timeline_id, master.status.timeline_id);
    }
    return false;
  }
  if (SyncRepl(ctx.spec)) return true;
  const int64_t lag = Lag(master, db);
  if (lag > static_cast<int64_t>(*ctx.spec.max_standby_lag)) {
    if (log_rejections) {
      ctx.log.Add(
          "not eligible: db {} on keeper {} lag {} > maxStandbyLag {} (xlogpos {}, "
          "master {})",
          db.uid, db.spec.keeper_uid, FormatBytes(lag), FormatBytes(*ctx.spec.max_standby_lag),
          FormatLsn(db.status.xlog_pos), FormatLsn(master.status.xlog_pos));
    }
    return false;
  }
  return true;
}

bool CanBeMaster(const ClusterData& cd, const DB& db, Ctx& ctx) {
  auto k = cd.keepers.find(db.spec.keeper_uid);
  if (k != cd.keepers.end() && k->second.status.can_be_master.has_value() &&
      !*k->second.status.can_be_master) {
    ctx.log.Add(
        "not eligible: db {} on keeper {}: the keeper cannot be master (canBeMaster "
        "false)",
        db.uid, db.spec.keeper_uid);
    return false;
  }
  return true;
}

void SortByXLogPosDesc(std::vector<const DB*>& dbs) {
  std::stable_sort(dbs.begin(), dbs.end(), [](const DB* a, const DB* b) {
    return a->status.xlog_pos > b->status.xlog_pos;
  });
}

// Logs why standby-type dbs are not in the good bucket.
void LogNonGoodStandbys(const ClusterData& cd, const Buckets& b, Ctx& ctx) {
  for (const auto& [uid, db] : cd.dbs) {
    if (TypeOf(db) != DbType::kStandby || b.good.count(uid)) continue;
    std::string why;
    switch (ValidityOf(cd, db, &why)) {
      case DbValidity::kUnknown:
        why = "it never reported a state";
        break;
      case DbValidity::kInvalid:
        break;
      case DbValidity::kValid:
        why = b.converging.count(uid) ? "it is still converging" : "it is failed";
        break;
    }
    ctx.log.Add("not eligible: db {} on keeper {}: {}", uid, db.spec.keeper_uid, why);
  }
}

}  // namespace

bool MasterOk(const ClusterData& cd, const DB& master, Ctx& ctx) {
  bool ok = true;
  if (!master.status.healthy) {
    ctx.log.Add("master db {} on keeper {} is failed", master.uid, master.spec.keeper_uid);
    ok = false;
  }
  (void)cd;
  if (DbConvergenceState(master, *ctx.spec.convergence_timeout, ctx) == Convergence::kFailed) {
    ctx.log.Add(
        "master db {} on keeper {} did not converge to generation {} within "
        "convergenceTimeout {}",
        master.uid, master.spec.keeper_uid, master.generation,
        Seconds(*ctx.spec.convergence_timeout));
    ok = false;
  }
  return ok;
}

std::vector<const DB*> FindBestStandbys(const ClusterData& cd, const DB& master, Ctx& ctx,
                                        bool log_rejections) {
  Buckets b = ValidStandbysByStatus(cd, ctx);
  if (log_rejections) LogNonGoodStandbys(cd, b, ctx);
  std::vector<const DB*> out;
  for (const auto& [uid, db] : b.good) {
    if (PassesTimelineAndLag(master, *db, ctx, log_rejections)) out.push_back(db);
  }
  SortByXLogPosDesc(out);
  return out;
}

std::vector<const DB*> FindBestNewMasters(const ClusterData& cd, const DB& master, Ctx& ctx) {
  std::vector<const DB*> out;
  for (const DB* db : FindBestStandbys(cd, master, ctx, /*log_rejections=*/true)) {
    if (CanBeMaster(cd, *db, ctx)) out.push_back(db);
  }
  // Old masters that are good again may be re-elected (the elected one may never converge).
  Buckets masters = ValidMastersByStatus(cd, ctx);
  for (const auto& [uid, db] : masters.good) {
    if (uid == master.uid) continue;
    if (!PassesTimelineAndLag(master, *db, ctx, true) || !CanBeMaster(cd, *db, ctx)) continue;
    out.push_back(db);
  }
  SortByXLogPosDesc(out);
  return out;
}

std::string ChooseNewMaster(const ClusterData& cd, const DB& master, Ctx& ctx) {
  std::vector<const DB*> candidates = FindBestNewMasters(cd, master, ctx);
  if (candidates.empty()) {
    ctx.log.Add("no eligible masters: no good standby on the master's timeline{}",
                SyncRepl(ctx.spec) ? "" : " within maxStandbyLag");
    return "";
  }
  const DB* chosen = nullptr;
  if (master.spec.synchronous_replication) {
    std::vector<std::string> allowed =
        Intersect(master.status.synchronous_standbys, master.spec.synchronous_standbys);
    for (const DB* db : candidates) {
      if (Contains(allowed, db->uid)) {
        chosen = db;
        break;
      }
      ctx.log.Add(
          "not eligible: db {} on keeper {} is not a known in-sync synchronous standby "
          "(in sync {} and spec {})",
          db->uid, db->spec.keeper_uid, Join(master.status.synchronous_standbys),
          Join(master.spec.synchronous_standbys));
    }
    if (chosen == nullptr) {
      ctx.log.Add(
          "no eligible masters: none of the candidates is in the master's reported "
          "in-sync synchronous standbys {} that the spec {} lists",
          Join(master.status.synchronous_standbys), Join(master.spec.synchronous_standbys));
      return "";
    }
  } else {
    chosen = candidates.front();
  }
  ctx.log.Add("electing db {} on keeper {} as the new master: xlogpos {}, lag {}", chosen->uid,
              chosen->spec.keeper_uid, FormatLsn(chosen->status.xlog_pos),
              FormatBytes(std::max<int64_t>(0, Lag(master, *chosen))));
  return chosen->uid;
}

void ApplyNewMaster(const std::string& old_uid, const std::string& new_uid, ClusterData& next,
                    Ctx& ctx) {
  DB& old_master = next.dbs.at(old_uid);
  old_master.spec.followers.clear();
  DB& nm = next.dbs.at(new_uid);
  nm.spec.role = cluster::kRoleMaster;
  nm.spec.follow_config.reset();
  if (*ctx.spec.role == cluster::kRoleStandby) {
    nm.spec.role = cluster::kRoleStandby;
    cluster::FollowConfig fc;
    fc.type = cluster::kFollowExternal;
    if (ctx.spec.standby_config) {
      fc.standby_settings = ctx.spec.standby_config->standby_settings;
      fc.archive_recovery_settings = ctx.spec.standby_config->archive_recovery_settings;
    }
    nm.spec.follow_config = fc;
  }
  next.cluster.status.master = new_uid;
  if (!next.proxy.spec.master_db_uid.empty()) {
    next.proxy.spec.master_db_uid.clear();
    ++next.proxy.generation;
    ctx.log.Add("telling proxies there is no master: masterDbUid cleared, proxy generation {}",
                next.proxy.generation);
  }
  if (!SyncRepl(ctx.spec)) {
    ClearSynchronousStandbys(nm);
    return;
  }
  nm.spec.synchronous_replication = true;
  nm.spec.synchronous_standbys.clear();
  nm.spec.external_synchronous_standbys.clear();
  for (const auto& uid : old_master.spec.synchronous_standbys) {
    nm.spec.synchronous_standbys.push_back(uid == new_uid ? old_uid : uid);
  }
  if (nm.spec.synchronous_standbys.empty() && *ctx.spec.min_synchronous_standbys > 0) {
    nm.spec.external_synchronous_standbys = {cluster::kFakeStandbyName};
  }
  nm.spec.synchronous_standbys = Sorted(nm.spec.synchronous_standbys);
  ctx.log.Add("new master {} starts with synchronous standbys {} external {}", new_uid,
              Join(nm.spec.synchronous_standbys), Join(nm.spec.external_synchronous_standbys));
}

}  // namespace stolon::sentinel::internal
