// The end of every check: copy the cluster spec into the db specs, bump the generation of every
// db whose spec changed, and stamp change times.
#include "sentinel/internal.h"

namespace stolon::sentinel::internal {

void SetDBSpecFromClusterSpec(ClusterData& next) {
  const ClusterSpec spec = next.cluster.spec.WithDefaults();
  for (auto& [uid, db] : next.dbs) {
    db.spec.request_timeout = *spec.request_timeout;
    db.spec.max_standbys = *spec.max_standbys;
    db.spec.use_pg_rewind = *spec.use_pg_rewind;
    db.spec.pg_parameters = spec.pg_parameters;
    db.spec.pg_hba = spec.pg_hba;
    if (db.spec.follow_config && db.spec.follow_config->type == cluster::kFollowExternal) {
      db.spec.follow_config->standby_settings.reset();
      db.spec.follow_config->archive_recovery_settings.reset();
      if (spec.standby_config) {
        db.spec.follow_config->standby_settings = spec.standby_config->standby_settings;
        db.spec.follow_config->archive_recovery_settings =
            spec.standby_config->archive_recovery_settings;
      }
    }
    db.spec.additional_wal_senders = *spec.additional_wal_senders;
    if (TypeOf(db) == DbType::kMaster) {
      db.spec.additional_replication_slots = spec.additional_master_replication_slots;
    } else {
      db.spec.additional_replication_slots.reset();
    }
  }
}

void BumpChangedGenerations(const ClusterData& cd, ClusterData& next, Ctx& ctx) {
  for (auto& [uid, db] : next.dbs) {
    auto prev = cd.dbs.find(uid);
    if (prev == cd.dbs.end() || prev->second.spec == db.spec) continue;
    ++db.generation;
    ctx.log.Add("db {} spec changed: generation {}", uid, db.generation);
  }
}

namespace {
// Equality as stored: the transient cur_synchronous_standbys is not part of the document.
bool SameStoredDb(DB a, DB b) {
  a.status.cur_synchronous_standbys.clear();
  b.status.cur_synchronous_standbys.clear();
  return a == b;
}
}  // namespace

void UpdateChangeTimes(const ClusterData& prev, ClusterData& next, cluster::Time now) {
  next.change_time = now;
  if (!(next.cluster == prev.cluster)) next.cluster.change_time = now;
  for (auto& [uid, db] : next.dbs) {
    auto p = prev.dbs.find(uid);
    if (p == prev.dbs.end() || !SameStoredDb(p->second, db)) db.change_time = now;
  }
  for (auto& [uid, k] : next.keepers) {
    auto p = prev.keepers.find(uid);
    if (p == prev.keepers.end() || !(p->second == k)) k.change_time = now;
  }
  if (!(next.proxy == prev.proxy)) next.proxy.change_time = now;
}

}  // namespace stolon::sentinel::internal
