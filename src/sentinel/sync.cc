// Synchronous standby management (4.8). Phase A reconciles the known-in-sync list with the spec;
// phase B, only once they agree, chooses the next spec list. A change of the set always goes
// through old ∪ new first, so some standby the master really had in sync stays electable.
#include <algorithm>

#include "sentinel/internal.h"

namespace stolon::sentinel::internal {
namespace {

struct SyncLimits {
  size_t min = 0;
  size_t max = 0;
  bool merge = true;
};

SyncLimits LimitsFor(const DB& master, const ClusterData& next, Ctx& ctx) {
  SyncLimits l{*ctx.spec.min_synchronous_standbys, *ctx.spec.max_synchronous_standbys, true};
  auto k = next.keepers.find(master.spec.keeper_uid);
  if (k != next.keepers.end()) {
    const auto& v = k->second.status.postgres_binary_version;
    if (v.maj == 9 && v.min <= 5) {
      // PostgreSQL <= 9.5 supports a single synchronous standby name.
      l = {1, 1, false};
    }
  }
  return l;
}

// Phase A: status := status ∩ spec, plus the spec members the master now reports in sync. If a
// not-yet-in-sync member vanished or is not good, give up on it: spec := status.
void ReconcileInSync(DB& master, const Buckets& b, const ClusterData& next, Ctx& ctx) {
  auto& status = master.status.synchronous_standbys;
  auto& spec = master.spec.synchronous_standbys;
  status = Intersect(status, spec);
  for (const auto& uid : Intersect(master.status.cur_synchronous_standbys, spec)) {
    if (!Contains(status, uid)) {
      ctx.log.Add("synchronous standby {} is now reported in sync by master {}", uid, master.uid);
      status.push_back(uid);
    }
  }
  bool give_up = false;
  for (const auto& uid : Difference(spec, status)) {
    if (next.dbs.count(uid) == 0 || b.good.count(uid) == 0) {
      ctx.log.Add(
          "synchronous standby {} will not get in sync ({}): setting the synchronous "
          "standbys to the ones known in sync {}",
          uid, next.dbs.count(uid) ? "not in good state" : "removed", Join(status));
      give_up = true;
    }
  }
  if (give_up) spec = Sorted(status);
}

// Phase B: the next spec list.
std::vector<std::string> ChooseSyncStandbys(const DB& master, const SyncLimits& l, const Buckets& b,
                                            const ClusterData& next, Ctx& ctx) {
  const std::vector<std::string> prev = master.spec.synchronous_standbys;
  std::vector<std::string> cur;
  for (const auto& uid : prev) {
    if (next.dbs.count(uid) && b.good.count(uid)) {
      cur.push_back(uid);
    } else {
      ctx.log.Add("removing synchronous standby {}: {}", uid,
                  next.dbs.count(uid) ? "not in good state" : "db removed");
    }
  }
  std::vector<const DB*> best = FindBestStandbys(next, master, ctx, /*log_rejections=*/false);
  if (cur.size() > l.max) {
    // Drop the ones furthest behind first.
    std::vector<std::string> keep;
    for (const DB* db : best) {
      if (Contains(cur, db->uid) && keep.size() < l.max) keep.push_back(db->uid);
    }
    for (const auto& uid : Difference(cur, keep)) {
      ctx.log.Add("removing synchronous standby {} in excess of maxSynchronousStandbys {}", uid,
                  l.max);
    }
    cur = keep;
  }
  for (const DB* db : best) {
    if (cur.size() >= l.max) break;
    if (Contains(cur, db->uid)) continue;
    auto k = next.keepers.find(db->spec.keeper_uid);
    if (k != next.keepers.end() && k->second.status.can_be_synchronous_replica == false) {
      ctx.log.Add(
          "not choosing db {} on keeper {} as synchronous standby: "
          "canBeSynchronousReplica is false",
          db->uid, db->spec.keeper_uid);
      continue;
    }
    ctx.log.Add("adding synchronous standby {} on keeper {} (xlogpos {})", db->uid,
                db->spec.keeper_uid, FormatLsn(db->status.xlog_pos));
    cur.push_back(db->uid);
  }
  for (const auto& [uid, db] : next.dbs) {
    if (cur.size() >= l.min) break;
    if (Contains(prev, uid) && !Contains(cur, uid)) {
      ctx.log.Add(
          "keeping previous synchronous standby {} (not good) to reach "
          "minSynchronousStandbys {}",
          uid, l.min);
      cur.push_back(uid);
    }
  }
  if (l.merge && !Difference(cur, prev).empty()) {
    for (const auto& [uid, db] : next.dbs) {
      if (Contains(prev, uid) && !Contains(cur, uid)) {
        ctx.log.Add("keeping previous synchronous standby {} until the new ones {} are in sync",
                    uid, Join(Difference(cur, prev)));
        cur.push_back(uid);
      }
    }
  }
  return Sorted(cur);
}

}  // namespace

void ClearSynchronousStandbys(DB& db) {
  db.spec.synchronous_replication = false;
  db.spec.synchronous_standbys.clear();
  db.spec.external_synchronous_standbys.clear();
}

void ManageSynchronousStandbys(const std::string& master_uid, const Buckets& b, ClusterData& next,
                               Ctx& ctx) {
  DB& master = next.dbs.at(master_uid);
  if (!*ctx.spec.synchronous_replication || *ctx.spec.role != cluster::kRoleMaster) {
    ClearSynchronousStandbys(master);
    master.status.synchronous_standbys.clear();
    return;
  }
  const SyncLimits l = LimitsFor(master, next, ctx);
  if (!SameSet(master.status.synchronous_standbys, master.spec.synchronous_standbys)) {
    ReconcileInSync(master, b, next, ctx);
  }
  if (!SameSet(master.status.synchronous_standbys, master.spec.synchronous_standbys)) {
    ctx.log.Add(
        "waiting for new defined synchronous standbys to be in sync: in sync {}, "
        "wanted {}",
        Join(master.status.synchronous_standbys), Join(master.spec.synchronous_standbys));
    return;
  }
  std::vector<std::string> cur = ChooseSyncStandbys(master, l, b, next, ctx);
  std::vector<std::string> external;
  if (cur.size() < l.min) {
    ctx.log.Add(
        "using fake synchronous standby {}: {} real synchronous standbys < "
        "minSynchronousStandbys {}",
        cluster::kFakeStandbyName, cur.size(), l.min);
    external.push_back(cluster::kFakeStandbyName);
  }
  if (cur != master.spec.synchronous_standbys) {
    ctx.log.Add("synchronous standbys of master {} changed: {} -> {}", master_uid,
                Join(master.spec.synchronous_standbys), Join(cur));
  }
  master.spec.synchronous_replication = true;
  master.spec.synchronous_standbys = std::move(cur);
  master.spec.external_synchronous_standbys = std::move(external);
  master.status.synchronous_standbys =
      Intersect(master.status.synchronous_standbys, master.spec.synchronous_standbys);
}

}  // namespace stolon::sentinel::internal
