// A 3-keeper clusterdata used by the stolonctl unit tests: keeper0 master (db0), keeper1 and
// keeper2 standbys following it, keeper3 without a db.
#pragma once

#include "cluster/cluster.h"

namespace stolon::ctl::testing {

inline cluster::ClusterData ThreeKeeperCluster() {
  cluster::ClusterData cd;
  cd.cluster.uid = "c0ffee00";
  cd.cluster.generation = 1;
  cd.cluster.spec.init_mode = "new";
  cd.cluster.spec.synchronous_replication = true;
  cd.cluster.status.phase = "normal";
  cd.cluster.status.master = "db0";
  const char* keepers[] = {"keeper0", "keeper1", "keeper2", "keeper3"};
  for (int i = 0; i < 4; ++i) {
    cluster::Keeper k;
    k.uid = keepers[i];
    k.generation = 1;
    k.status.healthy = i != 2;
    cd.keepers[k.uid] = k;
  }
  for (int i = 0; i < 3; ++i) {
    cluster::DB db;
    db.uid = "db" + std::to_string(i);
    db.generation = 3 + i;
    db.spec.keeper_uid = keepers[i];
    db.spec.role = i == 0 ? "master" : "standby";
    db.status.healthy = i != 2;
    db.status.current_generation = i == 2 ? 4 : 3 + i;
    if (i != 2) {
      db.status.listen_address = "127.0.0.1";
      db.status.port = std::to_string(5500 + i);
    }
    if (i > 0) db.spec.follow_config = cluster::FollowConfig{"internal", "db0", {}, {}};
    cd.dbs[db.uid] = db;
  }
  cd.dbs["db0"].spec.followers = {"db1", "db2"};
  cd.dbs["db0"].spec.synchronous_standbys = {"db1"};
  cd.proxy.generation = 4;
  cd.proxy.spec.master_db_uid = "db0";
  cd.proxy.spec.enabled_proxies = {"p0000001"};
  return cd;
}

}  // namespace stolon::ctl::testing
