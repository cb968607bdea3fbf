// Keeper integration: a standby cluster. Its db is created by pitr (dataRestoreCommand runs
// pg_basebackup from a primary of another cluster) and follows that primary externally.
#include <gtest/gtest.h>

#include "integration/keeper/harness.h"

namespace stolon::keeper::testing {
namespace {

TEST(KeeperStandbyCluster, PitrThenFollowExternalPrimary) {
  // The primary cluster: one master.
  TestCluster primary("primary");
  TestKeeper pk(primary.name(), primary.endpoints(), {"pkeeper", "md5", {}});
  ASSERT_TRUE(primary.Put().ok());
  pk.Start();
  ASSERT_TRUE(primary.RegisterKeeper("pkeeper")) << pk.Log();
  primary.AddMaster("pdb", "pkeeper", cluster::kInitModeNew);
  ASSERT_TRUE(primary.Put().ok());
  ASSERT_TRUE(primary.WaitConverged("pkeeper", "pdb", 90s)) << pk.Log();
  auto pconn = pk.Connect();
  ASSERT_TRUE(pconn.ok());
  ASSERT_TRUE(pconn->Exec("create table t (v text)").ok());
  ASSERT_TRUE(pconn->Exec("insert into t values ('before')").ok());

  // The standby cluster: its db restores from the primary and follows it.
  std::string port = std::to_string(pk.pg_port());
  cluster::PITRConfig pitr{
      std::string("PGPASSWORD=") + kReplPassword + " " + stolon::testing::PgBinDir() +
          "/pg_basebackup -D %d -h 127.0.0.1 -p " + port + " -U " + kReplUser + " -X stream",
      std::nullopt, std::nullopt};
  cluster::StandbySettings ss;
  ss.primary_conninfo = std::string("host=127.0.0.1 port=") + port + " user=" + kReplUser +
                        " password=" + kReplPassword + " sslmode=disable";
  TestCluster standby("standby");
  TestKeeper sk(standby.name(), standby.endpoints(), {"skeeper", "md5", {}});
  standby.cd.cluster.spec.role = cluster::kRoleStandby;
  standby.cd.cluster.spec.init_mode = cluster::kInitModePITR;
  standby.cd.cluster.spec.pitr_config = pitr;
  standby.cd.cluster.spec.standby_config = cluster::StandbyConfig{ss, std::nullopt};
  ASSERT_TRUE(standby.Put().ok());
  sk.Start();
  ASSERT_TRUE(standby.RegisterKeeper("skeeper")) << sk.Log();
  cluster::DB& db = standby.AddMaster("sdb", "skeeper", cluster::kInitModePITR);
  db.spec.role = cluster::kRoleStandby;
  db.spec.pitr_config = pitr;
  db.spec.follow_config = cluster::FollowConfig{cluster::kFollowExternal, "", ss, std::nullopt};
  ASSERT_TRUE(standby.Put().ok());
  ASSERT_TRUE(standby.WaitConverged("skeeper", "sdb", 90s)) << sk.Log();
  EXPECT_TRUE(sk.LogContains("executing pitr data restore command"));
  EXPECT_EQ(*sk.QueryOne("select pg_is_in_recovery()::text"), "true");
  EXPECT_TRUE(WaitQuery(sk, "select count(*) from t", "1"));
  ASSERT_TRUE(pconn->Exec("insert into t values ('after')").ok());
  EXPECT_TRUE(WaitQuery(sk, "select string_agg(v, ',' order by v) from t", "after,before"))
      << sk.Log();
  EXPECT_TRUE(WaitQuery(sk, "select status from pg_stat_wal_receiver", "streaming"));
}

}  // namespace
}  // namespace stolon::keeper::testing
