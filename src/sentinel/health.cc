// Keeper and db health from info freshness (stolon's updateKeepersStatus) and proxy liveness
// (activeProxiesInfos).
#include "sentinel/internal.h"

namespace stolon::sentinel::internal {
namespace {

using cluster::KeepersInfo;

// Drops infos of keepers that belong to another (older or re-initialised) cluster.
KeepersInfo SameClusterInfos(const KeepersInfo& infos, const std::string& cluster_uid, Ctx& ctx) {
  KeepersInfo out;
  for (const auto& [uid, ki] : infos) {
    if (ki.cluster_uid != cluster_uid) {
      ctx.log.Add("ignoring keeper {}: its clusterUID {:?} is not the cluster's {:?}", uid,
                  ki.cluster_uid, cluster_uid);
      continue;
    }
    out.emplace(uid, ki);
  }
  return out;
}

// Keeps only fresh infos: an infoUID that changed since the last check, or that was first seen
// less than sleepInterval ago. Updates the histories.
KeepersInfo FreshInfos(const KeepersInfo& infos, Ctx& ctx) {
  KeepersInfo fresh;
  const Duration sleep = *ctx.spec.sleep_interval;
  for (const auto& [uid, ki] : infos) {
    auto it = ctx.state.keeper_info_histories.find(uid);
    if (it == ctx.state.keeper_info_histories.end() || it->second.info_uid != ki.info_uid) {
      ctx.state.keeper_info_histories[uid] = {ki.info_uid, true, ctx.now};
      fresh.emplace(uid, ki);
      continue;
    }
    const KeeperInfoHistory& h = it->second;
    if (!h.seen || ctx.now - h.first_seen > sleep) continue;  // not updated: stale
    fresh.emplace(uid, ki);
  }
  return fresh;
}

cluster::Keeper NewKeeperFromInfo(const cluster::KeeperInfo& ki, Ctx& ctx) {
  cluster::Keeper k;
  k.uid = ki.uid;
  k.generation = cluster::kInitialGeneration;
  k.status.healthy = true;
  k.status.last_healthy_time = ctx.wall_now;
  k.status.boot_uuid = ki.boot_uuid;
  return k;
}

bool TimerExpired(const std::map<std::string, SteadyTime>& timers, const std::string& uid,
                  const Ctx& ctx) {
  auto it = timers.find(uid);
  return it != timers.end() && ctx.now - it->second > *ctx.spec.fail_interval;
}

void SetTimer(std::map<std::string, SteadyTime>& timers, const std::string& uid, SteadyTime now) {
  timers.emplace(uid, now);  // keeps a running timer
}

// When the keeper last showed a sign of life: the check that first saw its current info change.
// failInterval counts from there, not from the later check that found the info stale, so a dead
// keeper is declared failed failInterval after it stopped publishing (one sleepInterval sooner
// than stolon). An info never seen changing (recorded on the first check after gaining
// leadership) counts from now: a new leader gives every keeper a full failInterval.
SteadyTime LastSignOfLife(const std::string& uid, const Ctx& ctx) {
  auto it = ctx.state.keeper_info_histories.find(uid);
  if (it == ctx.state.keeper_info_histories.end() || !it->second.seen) return ctx.now;
  return it->second.first_seen;
}

void UpdateKeeper(cluster::Keeper& k, const KeepersInfo& fresh, Ctx& ctx) {
  auto ki = fresh.find(k.uid);
  if (ki == fresh.end()) {
    SetTimer(ctx.state.keeper_error_timers, k.uid, LastSignOfLife(k.uid, ctx));
  } else {
    ctx.state.keeper_error_timers.erase(k.uid);
    k.status.boot_uuid = ki->second.boot_uuid;
    k.status.postgres_binary_version = ki->second.postgres_binary_version;
    k.status.can_be_master = ki->second.can_be_master;
    k.status.can_be_synchronous_replica = ki->second.can_be_synchronous_replica;
  }
  bool healthy = !TimerExpired(ctx.state.keeper_error_timers, k.uid, ctx);
  if (!healthy && k.status.healthy) {
    ctx.log.Add("keeper {} failed: no fresh info for {} (failInterval {})", k.uid,
                Seconds(ctx.now - ctx.state.keeper_error_timers.at(k.uid)),
                Seconds(*ctx.spec.fail_interval));
  }
  if (k.status.force_fail) {
    ctx.log.Add("keeper {} marked failed: forceFail requested (reset after this check)", k.uid);
    healthy = false;
    k.status.force_fail = false;
  }
  if (k.status.last_healthy_time == cluster::ZeroTime() || healthy) {
    k.status.last_healthy_time = ctx.wall_now;
  }
  if (healthy && !k.status.healthy) ctx.log.Add("keeper {} is healthy again", k.uid);
  k.status.healthy = healthy;
}

void UpdateDbFromState(DB& db, const cluster::PostgresState& ps, Ctx& ctx) {
  if (db.status.xlog_pos == ps.xlog_pos) {
    ++ctx.state.db_not_increasing_xlog_pos[db.uid];
  } else {
    ctx.state.db_not_increasing_xlog_pos.erase(db.uid);
  }
  db.status.listen_address = ps.listen_address;
  db.status.port = ps.port;
  db.status.current_generation = ps.generation;
  if (!ps.healthy) {
    SetTimer(ctx.state.db_error_timers, db.uid, ctx.now);
    return;
  }
  ctx.state.db_error_timers.erase(db.uid);
  db.status.system_id = ps.system_id;
  db.status.timeline_id = ps.timeline_id;
  db.status.xlog_pos = ps.xlog_pos;
  db.status.timelines_history = ps.timelines_history;
  db.status.pg_parameters = ps.pg_parameters;
  db.status.cur_synchronous_standbys = ps.synchronous_standbys;
  db.status.older_wal_file = ps.older_wal_file;
}

// Returns why the db has no usable state in this check ("" when it has one).
std::string UpdateDb(DB& db, const KeepersInfo& fresh, Ctx& ctx) {
  auto ki = fresh.find(db.spec.keeper_uid);
  std::string problem;
  if (ki == fresh.end()) {
    problem = "no fresh keeper info";
  } else if (!ki->second.postgres_state) {
    problem = "the keeper reports no postgres state";
  } else if (ki->second.postgres_state->uid != db.uid) {
    problem = fmt::format("the keeper reports db {:?}", ki->second.postgres_state->uid);
  }
  if (!problem.empty()) {
    SetTimer(ctx.state.db_error_timers, db.uid, ctx.now);
    return problem;
  }
  const cluster::PostgresState& ps = *ki->second.postgres_state;
  UpdateDbFromState(db, ps, ctx);
  return ps.healthy ? "" : "the keeper reports postgres unhealthy";
}

}  // namespace

ClusterData UpdateKeepersStatus(const ClusterData& prev, const KeepersInfo& all_infos, Ctx& ctx) {
  ClusterData cd = prev;
  KeepersInfo infos = SameClusterInfos(all_infos, prev.cluster.uid, ctx);
  if (ctx.state.first_run) {
    for (const auto& [uid, ki] : infos) {
      ctx.state.keeper_info_histories[uid] = {ki.info_uid, false, ctx.now};
    }
    ctx.log.Add(
        "first check after gaining leadership: recording {} keeper infos, no health "
        "judgement in this check",
        infos.size());
    return cd;
  }
  KeepersInfo fresh = FreshInfos(infos, ctx);
  for (const auto& [uid, ki] : fresh) {
    if (cd.keepers.count(uid) == 0) {
      ctx.log.Add("adding new keeper {}", uid);
      cd.keepers.emplace(uid, NewKeeperFromInfo(ki, ctx));
    }
  }
  for (auto& [uid, k] : cd.keepers) UpdateKeeper(k, fresh, ctx);
  std::map<std::string, std::string> problems;
  for (auto& [uid, db] : cd.dbs) problems[uid] = UpdateDb(db, fresh, ctx);
  for (auto& [uid, db] : cd.dbs) {
    auto k = cd.keepers.find(db.spec.keeper_uid);
    const bool keeper_ok = k != cd.keepers.end() && k->second.status.healthy;
    const bool timer_ok = !TimerExpired(ctx.state.db_error_timers, uid, ctx);
    const bool healthy = timer_ok && keeper_ok;
    if (!healthy && db.status.healthy) {
      ctx.log.Add("db {} on keeper {} failed: {}", uid, db.spec.keeper_uid,
                  !keeper_ok ? std::string("its keeper is unhealthy")
                             : fmt::format("{} for {} (failInterval {})", problems[uid],
                                           Seconds(ctx.now - ctx.state.db_error_timers.at(uid)),
                                           Seconds(*ctx.spec.fail_interval)));
    }
    db.status.healthy = healthy;
  }
  return cd;
}

cluster::ProxiesInfo ActiveProxiesInfos(const cluster::ProxiesInfo& infos, Ctx& ctx) {
  auto& hist = ctx.state.proxy_info_histories;
  for (auto it = hist.begin(); it != hist.end();) {
    it = infos.count(it->first) ? std::next(it) : hist.erase(it);
  }
  cluster::ProxiesInfo active;
  for (const auto& [uid, pi] : infos) {
    auto it = hist.find(uid);
    if (it == hist.end() || it->second.info_uid != pi.info_uid) {
      hist[uid] = {pi.info_uid, ctx.now};
      active.emplace(uid, pi);
      continue;
    }
    const Duration timeout =
        pi.proxy_timeout > Duration::zero() ? pi.proxy_timeout : *ctx.spec.proxy_timeout;
    if (ctx.now - it->second.first_seen > 2 * timeout) {
      ctx.log.Add("proxy {} is inactive: its info did not change for more than 2 x {}", uid,
                  Seconds(timeout));
      continue;
    }
    active.emplace(uid, pi);
  }
  return active;
}

}  // namespace stolon::sentinel::internal
