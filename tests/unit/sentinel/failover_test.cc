// Master failure and new master choice (one check per case).
#include "sim.h"

namespace stolon::sentinel::testing {
namespace {

class FailoverTest : public ::testing::TestWithParam<Case> {};

TEST_P(FailoverTest, Check) {
  Sim sim;
  GetParam().setup(sim);
  sim.Step();
  SCOPED_TRACE(sim.Decisions());
  GetParam().check(sim);
}

// Three standbys, master keeper0 failed; standby positions set per case.
void MasterDown(Sim& s, ClusterSpec spec = BaseSpec()) {
  s.Healthy(3, spec);
  s.FailKeeper("keeper0");
}

void SyncMasterDown(Sim& s, ClusterSpec spec = BaseSpec()) {
  s.HealthySync(3, spec);
  s.FailKeeper("keeper0");
}

const std::vector<Case> kCases = {
    {"healthy master is kept", [](Sim& s) { s.Healthy(2); },
     [](Sim& s) {
       EXPECT_EQ(s.Master(), "db0");
       EXPECT_FALSE(s.Decided("electing"));
       EXPECT_EQ(s.cd.proxy.generation, 2);
     }},
    {"failover picks the highest xlogpos",
     [](Sim& s) {
       MasterDown(s);
       s.keepers["keeper1"].xlog = kXLog - 100;
       s.keepers["keeper2"].xlog = kXLog - 10;
       s.keepers["keeper3"].xlog = kXLog - 50;
     },
     [](Sim& s) {
       EXPECT_EQ(s.Master(), "db2");
       EXPECT_TRUE(
           s.Decided("electing db db2 on keeper keeper2 as the new master: xlogpos "
                     "0/3000056, lag 10 bytes"));
     }},
    {"no eligible standby when all standbys failed",
     [](Sim& s) {
       MasterDown(s);
       for (const char* k : {"keeper1", "keeper2", "keeper3"}) s.FailKeeper(k);
     },
     [](Sim& s) {
       EXPECT_EQ(s.Master(), "db0");
       EXPECT_TRUE(s.Decided("no eligible masters"));
       EXPECT_TRUE(s.Decided("not eligible: db db1 on keeper keeper1: it is failed"));
       EXPECT_EQ(s.cd.proxy.spec.master_db_uid, "db0");
     }},
    {"standby lagging more than maxStandbyLag is not eligible",
     [](Sim& s) {
       MasterDown(s);
       s.cd.dbs["db0"].status.xlog_pos = kXLog + 2'200'000;
       s.keepers["keeper1"].xlog = kXLog;
       s.keepers["keeper2"].xlog = kXLog + 1'500'000;
       s.keepers["keeper3"].xlog = kXLog;
     },
     [](Sim& s) {
       EXPECT_EQ(s.Master(), "db2");
       EXPECT_TRUE(
           s.Decided("not eligible: db db1 on keeper keeper1 lag 2.1 MiB > "
                     "maxStandbyLag 1 MiB"));
     }},
    {"every standby lagging means no election",
     [](Sim& s) {
       MasterDown(s);
       s.cd.dbs["db0"].status.xlog_pos = kXLog + 5'000'000;
     },
     [](Sim& s) {
       EXPECT_EQ(s.Master(), "db0");
       EXPECT_TRUE(
           s.Decided("no eligible masters: no good standby on the master's timeline "
                     "within maxStandbyLag"));
     }},
    {"maxStandbyLag from the spec is honoured",
     [](Sim& s) {
       ClusterSpec spec = BaseSpec();
       spec.max_standby_lag = 4'000'000;
       MasterDown(s, spec);
       s.cd.dbs["db0"].status.xlog_pos = kXLog + 3'000'000;
       s.keepers["keeper3"].xlog = kXLog + 1;
     },
     [](Sim& s) { EXPECT_EQ(s.Master(), "db3"); }},
    {"standby on another timeline is not eligible",
     [](Sim& s) {
       MasterDown(s);
       s.cd.dbs["db0"].status.timeline_id = 2;
       s.keepers["keeper1"].timeline = 2;
       s.keepers["keeper2"].xlog = kXLog + 5;  // higher but on timeline 1
     },
     [](Sim& s) {
       EXPECT_EQ(s.Master(), "db1");
       EXPECT_TRUE(
           s.Decided("not eligible: db db2 on keeper keeper2 is on timeline 1, the "
                     "master on 2"));
     }},
    {"standby with another systemID is not eligible",
     [](Sim& s) {
       MasterDown(s);
       s.keepers["keeper1"].system_id = "111";
       s.keepers["keeper1"].xlog = kXLog + 5;
     },
     [](Sim& s) {
       EXPECT_NE(s.Master(), "db1");
       EXPECT_NE(s.Master(), "db0");
       EXPECT_TRUE(s.Decided("its systemID 111 differs"));
     }},
    {"keeper with canBeMaster false is not elected",
     [](Sim& s) {
       MasterDown(s);
       s.keepers["keeper1"].can_be_master = false;
       s.keepers["keeper1"].xlog = kXLog + 5;
       s.keepers["keeper2"].xlog = kXLog + 1;
     },
     [](Sim& s) {
       EXPECT_EQ(s.Master(), "db2");
       EXPECT_TRUE(s.Decided("the keeper cannot be master (canBeMaster false)"));
     }},
    {"converging standby is not eligible",
     [](Sim& s) {
       MasterDown(s);
       s.cd.dbs["db1"].generation = 2;
       s.keepers["keeper1"].converges = false;
       s.keepers["keeper1"].reported_generation["db1"] = 1;
       s.keepers["keeper1"].xlog = kXLog + 5;
       s.state.db_convergence_infos["db1"] = {2, s.clock.Now()};
     },
     [](Sim& s) {
       EXPECT_NE(s.Master(), "db1");
       EXPECT_TRUE(s.Decided("not eligible: db db1 on keeper keeper1: it is still converging"));
     }},
    {"election clears the proxy master and bumps the proxy generation",
     [](Sim& s) { MasterDown(s); },
     [](Sim& s) {
       EXPECT_NE(s.Master(), "db0");
       EXPECT_EQ(s.cd.proxy.spec.master_db_uid, "");
       EXPECT_EQ(s.cd.proxy.generation, 3);
       EXPECT_TRUE(s.Decided("telling proxies there is no master"));
     }},
    {"old master keeps its role and loses its followers", [](Sim& s) { MasterDown(s); },
     [](Sim& s) {
       const DB& old = s.Db("db0");
       EXPECT_EQ(old.spec.role, cluster::kRoleMaster);
       EXPECT_TRUE(old.spec.followers.empty());
       const DB& nm = s.Db(s.Master());
       EXPECT_EQ(nm.spec.role, cluster::kRoleMaster);
       EXPECT_FALSE(nm.spec.follow_config.has_value());
       EXPECT_EQ(nm.generation, 2);
       // The other standbys are not reconfigured in the election check.
       for (const auto& [uid, db] : s.cd.dbs) {
         if (uid != "db0" && uid != s.Master()) {
           EXPECT_EQ(db.spec.follow_config->db_uid, "db0");
         }
       }
     }},
    {"master that does not converge within convergenceTimeout is replaced",
     [](Sim& s) {
       s.Healthy(2);
       s.cd.dbs["db0"].generation = 2;
       s.keepers["keeper0"].converges = false;
       s.keepers["keeper0"].reported_generation["db0"] = 1;
       s.state.db_convergence_infos["db0"] = {2, s.clock.Now() - 31s};
     },
     [](Sim& s) {
       EXPECT_NE(s.Master(), "db0");
       EXPECT_TRUE(s.Decided("did not converge to generation 2 within convergenceTimeout 30s"));
     }},
    {"sync: in-sync standby elected even with a lower xlogpos",
     [](Sim& s) {
       SyncMasterDown(s);
       s.keepers["keeper1"].xlog = kXLog - 1000;
       s.keepers["keeper2"].xlog = kXLog;
     },
     [](Sim& s) {
       EXPECT_EQ(s.Master(), "db1");
       EXPECT_TRUE(s.Decided("not eligible: db db2 on keeper keeper2 is not a known in-sync"));
     }},
    {"sync: lag is ignored under synchronous replication",
     [](Sim& s) {
       SyncMasterDown(s);
       s.cd.dbs["db0"].status.xlog_pos = kXLog + 50'000'000;
     },
     [](Sim& s) { EXPECT_EQ(s.Master(), "db1"); }},
    {"sync: standby in spec but not known in sync is not elected",
     [](Sim& s) {
       SyncMasterDown(s);
       s.cd.dbs["db0"].spec.synchronous_standbys = {"db1", "db2"};
       s.cd.dbs["db0"].status.synchronous_standbys = {"db1"};
       s.FailKeeper("keeper1");
     },
     [](Sim& s) {
       EXPECT_EQ(s.Master(), "db0");
       EXPECT_TRUE(
           s.Decided("no eligible masters: none of the candidates is in the master's "
                     "reported in-sync synchronous standbys [db1]"));
     }},
    {"sync: nothing known in sync means no election",
     [](Sim& s) {
       SyncMasterDown(s);
       s.cd.dbs["db0"].status.synchronous_standbys.clear();
     },
     [](Sim& s) {
       EXPECT_EQ(s.Master(), "db0");
       EXPECT_TRUE(s.Decided("no eligible masters"));
     }},
    {"sync: new master lists the old master in place of itself",
     [](Sim& s) {
       SyncMasterDown(s);
       s.cd.dbs["db0"].spec.synchronous_standbys = {"db1", "db2"};
       s.cd.dbs["db0"].status.synchronous_standbys = {"db1", "db2"};
       s.keepers["keeper2"].xlog = kXLog + 10;
     },
     [](Sim& s) {
       EXPECT_EQ(s.Master(), "db2");
       const DB& nm = s.Db("db2");
       EXPECT_TRUE(nm.spec.synchronous_replication);
       EXPECT_EQ(nm.spec.synchronous_standbys, (std::vector<std::string>{"db0", "db1"}));
       EXPECT_TRUE(nm.spec.external_synchronous_standbys.empty());
     }},
    {"sync: new master with an empty list gets the fake standby",
     [](Sim& s) {
       SyncMasterDown(s);
       s.cd.dbs["db0"].spec.synchronous_replication = false;  // e.g. sync just enabled
       s.cd.dbs["db0"].spec.synchronous_standbys.clear();
     },
     [](Sim& s) {
       const DB& nm = s.Db(s.Master());
       EXPECT_NE(s.Master(), "db0");
       EXPECT_TRUE(nm.spec.synchronous_standbys.empty());
       EXPECT_EQ(nm.spec.external_synchronous_standbys,
                 std::vector<std::string>{"stolonfakestandby"});
     }},
    {"standby cluster: the new master follows the remote primary",
     [](Sim& s) {
       ClusterSpec spec = BaseSpec();
       spec.init_mode = cluster::kInitModePITR;
       spec.pitr_config = cluster::PITRConfig{"restore.sh", {}, {}};
       spec.role = cluster::kRoleStandby;
       spec.standby_config =
           cluster::StandbyConfig{cluster::StandbySettings{"host=remote", "", ""}, {}};
       s.Healthy(2, spec);
       s.cd.dbs["db0"].spec.role = cluster::kRoleStandby;
       s.cd.dbs["db0"].spec.follow_config =
           cluster::FollowConfig{cluster::kFollowExternal, "", {}, {}};
       s.Finish();
       s.FailKeeper("keeper0");
     },
     [](Sim& s) {
       const DB& nm = s.Db(s.Master());
       EXPECT_NE(s.Master(), "db0");
       EXPECT_EQ(nm.spec.role, cluster::kRoleStandby);
       ASSERT_TRUE(nm.spec.follow_config.has_value());
       EXPECT_EQ(nm.spec.follow_config->type, cluster::kFollowExternal);
       EXPECT_EQ(nm.spec.follow_config->standby_settings->primary_conninfo, "host=remote");
     }},
};

INSTANTIATE_TEST_SUITE_P(Sentinel, FailoverTest, ::testing::ValuesIn(kCases), CaseName);

}  // namespace
}  // namespace stolon::sentinel::testing
