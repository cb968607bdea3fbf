// Keeper and db housekeeping of the normal phase: dead keeper removal, removal of dbs that must
// not stay (old masters, invalid, unable to sync), standby count and standby reconfiguration.
#include "sentinel/internal.h"

namespace stolon::sentinel::internal {
namespace {

bool HasDb(const ClusterData& cd, const std::string& keeper_uid) {
  for (const auto& [uid, db] : cd.dbs) {
    if (db.spec.keeper_uid == keeper_uid) return true;
  }
  return false;
}

DB NewStandbyDb(const std::string& keeper_uid, const std::string& master_uid, Ctx& ctx) {
  DB db;
  db.uid = ctx.ids.NewUid();
  db.generation = cluster::kInitialGeneration;
  db.spec.keeper_uid = keeper_uid;
  db.spec.init_mode = cluster::kInitModeResync;
  db.spec.role = cluster::kRoleStandby;
  db.spec.follow_config = cluster::FollowConfig{cluster::kFollowInternal, master_uid, {}, {}};
  return db;
}

void RemoveExcessStandbys(const std::vector<std::string>& sync, const Buckets& b, ClusterData& next,
                          Ctx& ctx) {
  const size_t max = *ctx.spec.max_standbys_per_sender;
  std::vector<std::string> remove;
  for (const auto& [uid, db] : next.dbs) {
    if (TypeOf(db) != DbType::kStandby || Contains(sync, uid) || b.good.count(uid)) continue;
    ctx.log.Add(
        "removing non good standby db {} on keeper {}: {} good standbys already reach "
        "maxStandbysPerSender {}",
        uid, db.spec.keeper_uid, b.good.size(), max);
    remove.push_back(uid);
  }
  size_t excess = b.good.size() - max;
  for (const auto& [uid, db] : b.good) {
    if (excess == 0) break;
    if (Contains(sync, uid)) continue;
    ctx.log.Add(
        "removing good standby db {} on keeper {}: {} good standbys exceed "
        "maxStandbysPerSender {}",
        uid, db->spec.keeper_uid, b.good.size(), max);
    remove.push_back(uid);
    --excess;
  }
  for (const auto& uid : remove) next.dbs.erase(uid);
}

}  // namespace

void RemoveDeadKeepers(const ClusterData& cd, ClusterData& next, Ctx& ctx) {
  const Duration interval = *ctx.spec.dead_keeper_removal_interval;
  for (auto it = next.keepers.begin(); it != next.keepers.end();) {
    const cluster::Keeper& k = it->second;
    const bool dead = ctx.wall_now > k.status.last_healthy_time + interval;
    if (HasDb(cd, k.uid) || !dead) {
      ++it;
      continue;
    }
    ctx.log.Add(
        "removing dead keeper {}: no db and not healthy for more than "
        "deadKeeperRemovalInterval {}",
        k.uid, Seconds(interval));
    it = next.keepers.erase(it);
  }
}

void RemoveUnusableDbs(const ClusterData& cd, const std::string& master_uid, ClusterData& next,
                       Ctx& ctx) {
  std::erase_if(next.dbs, [&](const auto& e) {
    if (e.first == master_uid || TypeOf(e.second) != DbType::kMaster) return false;
    ctx.log.Add("removing old master db {} on keeper {}: master {} is healthy and converged",
                e.first, e.second.spec.keeper_uid, master_uid);
    return true;
  });
  std::vector<std::string> invalid;
  for (const auto& [uid, db] : next.dbs) {
    std::string why;
    if (uid == master_uid || ValidityOf(next, db, &why) != DbValidity::kInvalid) continue;
    ctx.log.Add("removing invalid db {} on keeper {}: {}", uid, db.spec.keeper_uid, why);
    invalid.push_back(uid);
  }
  for (const auto& uid : invalid) next.dbs.erase(uid);
  std::vector<std::string> cannot_sync;
  for (const auto& [uid, db] : next.dbs) {
    auto old = cd.dbs.find(uid);
    std::string why;
    if (old == cd.dbs.end() || DbCanSync(cd, old->second, ctx, &why)) continue;
    ctx.log.Add("removing db {} on keeper {}: it cannot sync: {}", uid, db.spec.keeper_uid, why);
    cannot_sync.push_back(uid);
  }
  for (const auto& uid : cannot_sync) next.dbs.erase(uid);
}

void ManageStandbyCount(const std::string& master_uid, const Buckets& b, ClusterData& next,
                        Ctx& ctx) {
  const std::vector<std::string> sync = next.dbs.at(master_uid).spec.synchronous_standbys;
  const size_t max = *ctx.spec.max_standbys_per_sender;
  if (b.good.size() >= max) {
    RemoveExcessStandbys(sync, b, next, ctx);
    return;
  }
  // Standbys that never reported count as converging (departure from stolon, see header).
  const size_t busy = b.good.size() + b.converging.size() + static_cast<size_t>(b.unknown);
  if (busy >= max) return;
  size_t missing = max - busy;
  std::vector<std::string> free_keepers;
  for (const auto& [uid, k] : next.keepers) {
    if (k.status.healthy && !HasDb(next, uid)) free_keepers.push_back(uid);
  }
  for (const auto& keeper : free_keepers) {
    if (missing == 0) break;
    DB db = NewStandbyDb(keeper, master_uid, ctx);
    ctx.log.Add(
        "adding new standby db {} on free keeper {} (resync from master {}): {} good + "
        "{} converging < maxStandbysPerSender {}",
        db.uid, keeper, master_uid, b.good.size(), busy - b.good.size(), max);
    next.dbs[db.uid] = std::move(db);
    --missing;
  }
}

void ReconfigureStandbys(const std::string& master_uid, ClusterData& next) {
  for (auto& [uid, db] : next.dbs) {
    if (TypeOf(db) != DbType::kStandby) continue;
    db.spec.role = cluster::kRoleStandby;
    db.spec.followers.clear();
    db.spec.follow_config = cluster::FollowConfig{cluster::kFollowInternal, master_uid, {}, {}};
    ClearSynchronousStandbys(db);
  }
}

void UpdateMasterFollowers(const std::string& master_uid, ClusterData& next) {
  DB& master = next.dbs.at(master_uid);
  master.spec.followers.clear();
  for (const auto& [uid, db] : next.dbs) {
    if (uid == master_uid || !db.spec.follow_config) continue;
    const auto& fc = *db.spec.follow_config;
    if (fc.type == cluster::kFollowInternal && fc.db_uid == master_uid) {
      master.spec.followers.push_back(uid);
    }
  }
}

}  // namespace stolon::sentinel::internal
