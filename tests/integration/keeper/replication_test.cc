// Keeper integration: a standby following the master through its slot, promotion by a db spec
// change, and the old master rejoining by pg_rewind, then by pg_basebackup (rewind disabled),
// with the rows of both timelines.
#include <gtest/gtest.h>

#include <filesystem>

#include "integration/keeper/harness.h"

namespace stolon::keeper::testing {
namespace {

using stolon::testing::WaitFor;

TEST(KeeperReplication, FollowPromoteRewindAndBasebackup) {
  TestCluster tc;
  tc.cd.cluster.spec.use_pg_rewind = true;  // wal_log_hints on from the start
  TestKeeper k1(tc.name(), tc.endpoints(), {"keeper1", "md5", {}});
  TestKeeper k2(tc.name(), tc.endpoints(), {"keeper2", "md5", {}});
  ASSERT_TRUE(tc.Put().ok());
  k1.Start();
  k2.Start();
  ASSERT_TRUE(tc.RegisterKeeper("keeper1")) << k1.Log();
  ASSERT_TRUE(tc.RegisterKeeper("keeper2")) << k2.Log();

  // Master db1 on keeper1, with a slot for its future follower db2.
  tc.AddMaster("db1", "keeper1", cluster::kInitModeNew).spec.followers = {"db2"};
  ASSERT_TRUE(tc.Put().ok());
  ASSERT_TRUE(tc.WaitConverged("keeper1", "db1", 90s)) << k1.Log();
  EXPECT_EQ(
      *k1.QueryOne("select count(*) from pg_replication_slots where slot_name = 'stolon_db2'"),
      "1");
  auto conn1 = k1.Connect();
  ASSERT_TRUE(conn1.ok());
  ASSERT_TRUE(conn1->Exec("create table t (v text)").ok());
  ASSERT_TRUE(conn1->Exec("insert into t values ('one')").ok());

  // Standby db2 on keeper2: a base backup through the slot, then streaming.
  tc.RefreshDBStatus();
  tc.AddStandby("db2", "keeper2", "db1", cluster::kInitModeResync);
  ASSERT_TRUE(tc.Put().ok());
  ASSERT_TRUE(tc.WaitConverged("keeper2", "db2", 90s)) << k2.Log();
  EXPECT_EQ(*k2.QueryOne("select pg_is_in_recovery()::text"), "true");
  EXPECT_TRUE(WaitQuery(k2, "select count(*) from t", "1"));
  ASSERT_TRUE(conn1->Exec("insert into t values ('one-b')").ok());
  EXPECT_TRUE(WaitQuery(k2, "select count(*) from t", "2")) << "streaming";
  EXPECT_TRUE(WaitQuery(
      k1, "select active::text from pg_replication_slots where slot_name = 'stolon_db2'", "true"));
  EXPECT_TRUE(k2.LogContains("syncing from followed db"));

  // Promote db2: it becomes the master; db1 is removed (its keeper stops postgres).
  tc.RefreshDBStatus();
  tc.cd.dbs.erase("db1");
  auto& db2 = tc.cd.dbs["db2"];
  db2.spec.role = cluster::kRoleMaster;
  db2.spec.follow_config.reset();
  db2.spec.init_mode = cluster::kInitModeNone;
  db2.generation++;
  tc.cd.cluster.status.master = "db2";
  ASSERT_TRUE(tc.Put().ok());
  EXPECT_TRUE(WaitQuery(k2, "select pg_is_in_recovery()::text", "false", 60s)) << k2.Log();
  ASSERT_TRUE(tc.WaitConverged("keeper2", "db2"));
  EXPECT_TRUE(k2.LogContains("promoting to master"));
  EXPECT_TRUE(WaitFor([&] { return !k1.PostgresRunning(); }, 30s)) << k1.Log();
  EXPECT_TRUE(k1.LogContains("no db assigned"));
  conn1 = absl::UnavailableError("closed");
  auto conn2 = k2.Connect();
  ASSERT_TRUE(conn2.ok());
  ASSERT_TRUE(conn2->Exec("insert into t values ('two')").ok());

  // The old master rejoins as db3 through pg_rewind.
  ASSERT_TRUE(WaitFor(
      [&] {
        tc.RefreshDBStatus();
        return tc.cd.dbs["db2"].status.timeline_id == 2;
      },
      30s));
  tc.AddStandby("db3", "keeper1", "db2", cluster::kInitModeResync).spec.use_pg_rewind = true;
  ASSERT_TRUE(tc.Put().ok());
  ASSERT_TRUE(tc.WaitConverged("keeper1", "db3", 120s)) << k1.Log();
  EXPECT_TRUE(k1.LogContains("syncing using pg_rewind")) << k1.Log();
  EXPECT_FALSE(k1.LogContains("error syncing with pg_rewind")) << k1.Log();
  EXPECT_TRUE(WaitQuery(k1, "select string_agg(v, ',' order by v) from t", "one,one-b,two"))
      << k1.Log();
  ASSERT_TRUE(conn2->Exec("insert into t values ('three')").ok());
  EXPECT_TRUE(WaitQuery(k1, "select count(*) from t", "4"));
  EXPECT_EQ(*k1.QueryOne("select pg_is_in_recovery()::text"), "true");

  // Rewind disabled: db4 on keeper1 is a fresh base backup; the previous data directory is kept
  // until the new copy started, then removed.
  tc.RefreshDBStatus();
  tc.cd.dbs.erase("db3");
  tc.cd.dbs["db2"].spec.followers.clear();
  tc.AddStandby("db4", "keeper1", "db2", cluster::kInitModeResync).spec.use_pg_rewind = false;
  ASSERT_TRUE(tc.Put().ok());
  ASSERT_TRUE(tc.WaitConverged("keeper1", "db4", 120s)) << k1.Log();
  EXPECT_TRUE(k1.LogContains("keeping the previous data directory until the new copy has started"))
      << k1.Log();
  EXPECT_TRUE(k1.LogContains("removed the previous data directory kept during the resync"));
  int old_dirs = 0;
  for (const auto& e : std::filesystem::directory_iterator(k1.data_dir())) {
    if (e.path().filename().string().rfind("postgres.old-", 0) == 0) ++old_dirs;
  }
  EXPECT_EQ(old_dirs, 0);
  EXPECT_TRUE(WaitQuery(k1, "select string_agg(v, ',' order by v) from t", "one,one-b,three,two"));
  EXPECT_TRUE(WaitQuery(
      k2, "select count(*) from pg_replication_slots where slot_name = 'stolon_db4'", "1"));
  EXPECT_TRUE(WaitQuery(
      k2, "select count(*) from pg_replication_slots where slot_name = 'stolon_db3'", "0"))
      << "the slot of the removed follower is dropped";
}

}  // namespace
}  // namespace stolon::keeper::testing

namespace stolon::keeper::testing {
namespace {

// Invariant 8: after a synchronous master restarts, only internal connections are allowed until
// its synchronous standbys are in sync again.
TEST(KeeperReplication, SyncMasterRestartWaitsForSyncStandby) {
  TestCluster tc;
  TestKeeper k1(tc.name(), tc.endpoints(), {"keeper1", "md5", {}});
  TestKeeper k2(tc.name(), tc.endpoints(), {"keeper2", "md5", {}});
  ASSERT_TRUE(tc.Put().ok());
  k1.Start();
  k2.Start();
  ASSERT_TRUE(tc.RegisterKeeper("keeper1")) << k1.Log();
  ASSERT_TRUE(tc.RegisterKeeper("keeper2")) << k2.Log();
  tc.AddMaster("db1", "keeper1", cluster::kInitModeNew).spec.followers = {"db2"};
  ASSERT_TRUE(tc.Put().ok());
  ASSERT_TRUE(tc.WaitConverged("keeper1", "db1", 90s)) << k1.Log();
  ASSERT_TRUE(k1.Connect()->Exec("create role user01 login password 'pw01'").ok());
  tc.RefreshDBStatus();
  tc.AddStandby("db2", "keeper2", "db1", cluster::kInitModeResync);
  ASSERT_TRUE(tc.Put().ok());
  ASSERT_TRUE(tc.WaitConverged("keeper2", "db2", 90s)) << k2.Log();

  auto& db1 = tc.cd.dbs["db1"];
  db1.spec.synchronous_replication = true;
  db1.spec.synchronous_standbys = {"db2"};
  db1.generation++;
  ASSERT_TRUE(tc.Put().ok());
  ASSERT_TRUE(WaitQuery(k1, "show synchronous_standby_names", "stolon_db2")) << k1.Log();
  ASSERT_TRUE(WaitQuery(
      k1, "select sync_state from pg_stat_replication where application_name = 'stolon_db2'",
      "sync"));
  EXPECT_TRUE(k1.Connect("user01", "pw01").ok());

  // The standby goes away, then the master restarts.
  k2.Stop();
  k1.Stop();
  k1.Start();
  ASSERT_TRUE(tc.RegisterKeeper("keeper1")) << k1.Log();
  ASSERT_TRUE(WaitQuery(k1, "select 1", "1", 60s)) << k1.Log();
  auto refused = k1.Connect("user01", "pw01");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(std::string(refused.status().message()).find("no pg_hba.conf entry"), std::string::npos)
      << refused.status();
  EXPECT_TRUE(
      k1.LogContains("not allowing connection as normal users since synchronous "
                     "replication is enabled and instance was down"));

  // The standby is back and in sync: normal users are allowed again.
  k2.Start();
  ASSERT_TRUE(tc.RegisterKeeper("keeper2")) << k2.Log();
  EXPECT_TRUE(stolon::testing::WaitFor([&] { return k1.Connect("user01", "pw01").ok(); }, 60s))
      << k1.Log();
}

}  // namespace
}  // namespace stolon::keeper::testing
