// Multi-step scenarios: the clock advances, keepers and proxies react, and the invariant
// checker runs after every check (inside Sim::Step).
#include "sim.h"

namespace stolon::sentinel::testing {
namespace {

TEST(Scenario, AsyncFailoverEndToEnd) {
  Sim s;
  s.Healthy(2);
  s.keepers["keeper2"].xlog = kXLog + 16;
  s.Step();
  // The master's keeper dies.
  s.keepers["keeper0"].publishes = false;
  s.StepAfter(5s);
  EXPECT_EQ(s.Master(), "db0");
  EXPECT_TRUE(s.cd.keepers.at("keeper0").status.healthy);
  s.StepAfter(10s);
  EXPECT_EQ(s.Master(), "db0");      // failInterval not yet passed
  s.proxies["proxy0"].acks = false;  // the proxy is slow to apply the next generation
  s.StepAfter(11s);
  SCOPED_TRACE(s.Decisions());
  EXPECT_FALSE(s.cd.keepers.at("keeper0").status.healthy);
  ASSERT_EQ(s.Master(), "db2");
  EXPECT_EQ(s.cd.proxy.spec.master_db_uid, "");
  const int64_t empty_gen = s.cd.proxy.generation;
  // The proxy has not acknowledged the empty-master generation yet.
  s.StepAfter(5s);
  EXPECT_EQ(s.cd.proxy.spec.master_db_uid, "");
  EXPECT_TRUE(s.Decided("waiting for proxies to be converged to the current generation"));
  // The proxy acknowledges: the master is published, the old master removed, db1 follows db2.
  s.proxies["proxy0"].acks = true;
  s.StepAfter(5s);
  EXPECT_EQ(s.cd.proxy.spec.master_db_uid, "db2");
  EXPECT_EQ(s.cd.proxy.generation, empty_gen + 1);
  EXPECT_FALSE(s.HasDb("db0"));
  EXPECT_EQ(s.Db("db1").spec.follow_config->db_uid, "db2");
  EXPECT_EQ(s.Db("db2").spec.followers, std::vector<std::string>{"db1"});
  // keeper0 comes back: it is free and gets a resync standby of db2.
  s.keepers["keeper0"].publishes = true;
  s.StepAfter(5s);
  EXPECT_TRUE(
      s.Decided("adding new standby db new0 on free keeper keeper0 (resync from master "
                "db2)"));
  EXPECT_EQ(s.Db("new0").spec.init_mode, cluster::kInitModeResync);
  s.StepAfter(5s);  // the keeper resynced and reports the generation: the standby is good
  EXPECT_EQ(s.Db("new0").spec.init_mode, cluster::kInitModeNone);
  EXPECT_EQ(s.Db("new0").spec.follow_config->db_uid, "db2");
  EXPECT_EQ(s.Db("db2").spec.followers, (std::vector<std::string>{"db1", "new0"}));
}

TEST(Scenario, SyncFailoverElectsTheInSyncStandby) {
  Sim s;
  ClusterSpec spec = BaseSpec();
  spec.synchronous_replication = true;
  s.HealthySync(2, spec);
  s.keepers["keeper2"].xlog = kXLog + 1000;  // further ahead but not synchronous
  s.Step();
  s.keepers["keeper0"].publishes = false;
  for (int i = 0; i < 4; ++i) s.StepAfter(5s);
  // 20s since keeper0's info last changed: not yet more than failInterval.
  EXPECT_EQ(s.Master(), "db0");
  s.StepAfter(5s);  // 25s: failed, counted from its last sign of life
  ASSERT_EQ(s.Master(), "db1");
  const DB& nm = s.Db("db1");
  EXPECT_EQ(nm.spec.synchronous_standbys, std::vector<std::string>{"db0"});
  s.StepAfter(5s);
  EXPECT_EQ(s.cd.proxy.spec.master_db_uid, "db1");
  EXPECT_FALSE(s.HasDb("db0"));
  // db0 gone from dbs: the sync set gives up on it and picks db2 (old ∪ new first).
  s.keepers["keeper1"].sync_standbys = {"db2"};
  for (int i = 0; i < 3; ++i) s.StepAfter(5s);
  EXPECT_EQ(s.Db("db1").spec.synchronous_standbys, std::vector<std::string>{"db2"});
  EXPECT_EQ(s.Db("db1").status.synchronous_standbys, std::vector<std::string>{"db2"});
}

TEST(Scenario, InitNewThenStandbysThenProxies) {
  Sim s;
  s.NewCluster(BaseSpec(), cluster::kPhaseInitializing);
  for (int i = 0; i < 3; ++i) s.AddKeeper(fmt::format("keeper{}", i));
  s.AddProxy("proxy0");
  s.Step();
  const std::string master = s.Master();
  ASSERT_FALSE(master.empty());
  s.StepAfter(5s);  // the keeper initialised and reports the generation
  EXPECT_EQ(s.cd.cluster.status.phase, cluster::kPhaseNormal);
  s.StepAfter(5s);  // proxies at generation 0 acknowledge: master published; standbys added
  EXPECT_EQ(s.cd.proxy.spec.master_db_uid, master);
  EXPECT_EQ(s.cd.dbs.size(), 3u);
  s.StepAfter(5s);
  EXPECT_EQ(s.cd.proxy.spec.enabled_proxies, std::vector<std::string>{"proxy0"});
  s.StepAfter(5s);
  for (const auto& [uid, db] : s.cd.dbs) {
    EXPECT_EQ(db.spec.init_mode, cluster::kInitModeNone) << uid;
  }
  EXPECT_EQ(s.Db(master).spec.followers.size(), 2u);
}

TEST(Scenario, LeadershipRegainedRestartsTimers) {
  Sim s;
  s.Healthy(2);
  s.Step();
  s.keepers["keeper0"].publishes = false;
  s.StepAfter(15s);
  // A new leader: the previous 15s of silence are forgotten.
  s.state.first_run = true;
  s.StepAfter(5s);
  EXPECT_TRUE(s.Decided("no health judgement"));
  s.StepAfter(15s);  // the new leader starts keeper0's error timer now
  EXPECT_EQ(s.Master(), "db0");
  s.StepAfter(15s);
  EXPECT_EQ(s.Master(), "db0");
  s.StepAfter(6s);  // 21s since the new leader first saw keeper0 silent
  EXPECT_NE(s.Master(), "db0");
}

TEST(Scenario, NewMasterNeverConvergesAnotherIsElected) {
  Sim s;
  s.Healthy(2);
  s.keepers["keeper1"].xlog = kXLog + 32;
  s.Step();
  s.FailKeeper("keeper0");
  s.keepers["keeper1"].converges = false;  // db1 will never apply its promotion
  s.StepAfter(1s);
  ASSERT_EQ(s.Master(), "db1");
  s.StepAfter(20s);
  EXPECT_EQ(s.Master(), "db1");
  s.StepAfter(15s);  // > convergenceTimeout since the promotion generation
  SCOPED_TRACE(s.Decisions());
  EXPECT_EQ(s.Master(), "db2");
  EXPECT_TRUE(s.Decided("did not converge"));
}

TEST(Scenario, StandbyClusterInitAndPromote) {
  Sim s;
  ClusterSpec spec = BaseSpec();
  spec.init_mode = cluster::kInitModePITR;
  spec.pitr_config = cluster::PITRConfig{"restore.sh", {}, {}};
  spec.role = cluster::kRoleStandby;
  spec.standby_config = cluster::StandbyConfig{cluster::StandbySettings{"host=remote", "", ""}, {}};
  s.NewCluster(spec, cluster::kPhaseInitializing);
  s.AddKeeper("keeper0");
  s.AddKeeper("keeper1");
  s.Step();
  const std::string m = s.Master();
  EXPECT_EQ(s.Db(m).spec.role, cluster::kRoleStandby);
  s.StepAfter(5s);
  EXPECT_EQ(s.cd.cluster.status.phase, cluster::kPhaseNormal);
  s.StepAfter(5s);
  EXPECT_EQ(s.cd.dbs.size(), 2u);  // the other keeper follows internally
  EXPECT_EQ(s.Db(m).spec.role, cluster::kRoleStandby);
  // Promote: stolonctl update sets the cluster role to master.
  s.cd.cluster.spec.role = cluster::kRoleMaster;
  s.StepAfter(5s);
  EXPECT_EQ(s.Db(m).spec.role, cluster::kRoleMaster);
  EXPECT_FALSE(s.Db(m).spec.follow_config.has_value());
  EXPECT_TRUE(s.Decided("promoting db"));
}

}  // namespace
}  // namespace stolon::sentinel::testing
