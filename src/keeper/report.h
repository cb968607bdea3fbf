// What the keeper reports and when: the decisions inside its periodic jobs, as pure functions.
#pragma once

#include <optional>
#include <string>

#include "cluster/cluster.h"
#include "postgresql/util.h"

namespace stolon::keeper {

// Whether a fresh probe differs from the last one in what the sentinel acts on (the db, its
// generation, health or timeline): such a change is published at once rather than at the next
// info interval.
bool PgStateChanged(const std::optional<cluster::PostgresState>& before,
                    const cluster::PostgresState& now);

// The parts of the keeper info that do not change while the keeper runs.
struct KeeperIdentity {
  std::string uid;
  std::string boot_uuid;
  bool can_be_master = true;
  bool can_be_synchronous_replica = true;
};

// The keeper info to publish, or nullopt before the cluster is known (empty cluster uid):
// nothing is published then.
std::optional<cluster::KeeperInfo> MakeKeeperInfo(
    const KeeperIdentity& id, std::string info_uid, std::string cluster_uid,
    const std::optional<postgresql::PGVersion>& binary_version,
    std::optional<cluster::PostgresState> pg_state);

// "<db uid>/<generation>" of the db the cluster data assigns to `keeper_uid`, or "" when none:
// a change of this key (a new db spec for this keeper) wakes its convergence pass at once.
std::string DbWakeKey(const cluster::ClusterData& cd, const std::string& keeper_uid);

}  // namespace stolon::keeper
