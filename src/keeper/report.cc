#include "keeper/report.h"

#include <utility>

#include "fmt/format.h"

namespace stolon::keeper {

bool PgStateChanged(const std::optional<cluster::PostgresState>& before,
                    const cluster::PostgresState& now) {
  return !before || before->uid != now.uid || before->generation != now.generation ||
         before->healthy != now.healthy || before->timeline_id != now.timeline_id;
}

std::optional<cluster::KeeperInfo> MakeKeeperInfo(
    const KeeperIdentity& id, std::string info_uid, std::string cluster_uid,
    const std::optional<postgresql::PGVersion>& binary_version,
    std::optional<cluster::PostgresState> pg_state) {
  if (cluster_uid.empty()) return std::nullopt;
  cluster::KeeperInfo ki;
  ki.info_uid = std::move(info_uid);
  ki.uid = id.uid;
  ki.cluster_uid = std::move(cluster_uid);
  ki.boot_uuid = id.boot_uuid;
  if (binary_version) ki.postgres_binary_version = {binary_version->maj, binary_version->min};
  ki.postgres_state = std::move(pg_state);
  ki.can_be_master = id.can_be_master;
  ki.can_be_synchronous_replica = id.can_be_synchronous_replica;
  return ki;
}

std::string DbWakeKey(const cluster::ClusterData& cd, const std::string& keeper_uid) {
  std::string key;
  for (const auto& [db_uid, db] : cd.dbs) {
    if (db.spec.keeper_uid == keeper_uid) key = fmt::format("{}/{}", db_uid, db.generation);
  }
  return key;
}

}  // namespace stolon::keeper
