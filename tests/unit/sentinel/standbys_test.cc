// Proxy handshake, db removal, standby allocation and spec finalisation (one check per case).
#include "sim.h"

namespace stolon::sentinel::testing {
namespace {

class StandbysTest : public ::testing::TestWithParam<Case> {};

TEST_P(StandbysTest, Check) {
  Sim sim;
  GetParam().setup(sim);
  sim.Step();
  SCOPED_TRACE(sim.Decisions());
  GetParam().check(sim);
}

// The check right after an election: db1 is the master, proxies were told "no master".
void JustElected(Sim& s) {
  s.Healthy(2);
  s.cd.cluster.status.master = "db1";
  DB& db1 = s.cd.dbs["db1"];
  db1.spec.role = cluster::kRoleMaster;
  db1.spec.follow_config.reset();
  s.cd.dbs["db0"].spec.followers.clear();
  s.cd.proxy.spec.master_db_uid.clear();
  s.cd.proxy.generation = 3;
  s.FailKeeper("keeper0");
  s.cd.keepers["keeper0"].status.healthy = false;
  s.cd.dbs["db0"].status.healthy = false;
  s.proxies["proxy0"].generation = 2;
  s.proxies["proxy0"].acks = false;
}

std::vector<std::string> V(std::initializer_list<const char*> l) {
  return std::vector<std::string>(l.begin(), l.end());
}

const std::vector<Case> kCases = {
    {"waits for proxies to be converged to the current generation", JustElected,
     [](Sim& s) {
       EXPECT_EQ(s.cd.proxy.spec.master_db_uid, "");
       EXPECT_EQ(s.cd.proxy.generation, 3);
       EXPECT_TRUE(
           s.Decided("waiting for proxies to be converged to the current generation 3: "
                     "[proxy0 at generation 2]"));
     }},
    {"publishes the master once every active proxy acknowledged",
     [](Sim& s) {
       JustElected(s);
       s.proxies["proxy0"].acks = true;
     },
     [](Sim& s) {
       EXPECT_EQ(s.cd.proxy.spec.master_db_uid, "db1");
       EXPECT_EQ(s.cd.proxy.generation, 4);
     }},
    {"waits for the new master's keeper to report its promotion",
     [](Sim& s) {
       JustElected(s);
       s.proxies["proxy0"].acks = true;
       s.cd.dbs["db1"].generation = 7;  // the election bumped it; keeper1 has not promoted yet
       s.keepers["keeper1"].converges = false;
     },
     [](Sim& s) {
       EXPECT_EQ(s.cd.proxy.spec.master_db_uid, "");
       EXPECT_EQ(s.cd.proxy.generation, 3);
       EXPECT_TRUE(
           s.Decided("waiting for master db db1 on keeper keeper1 to report its promotion"));
     }},
    {"inactive proxy does not block publishing",
     [](Sim& s) {
       JustElected(s);
       s.AddProxy("proxy1");
       s.proxies["proxy1"].acks = true;
       s.proxies["proxy0"].frozen = true;
       s.proxies["proxy0"].info_uid = "stale";
       s.state.proxy_info_histories["proxy0"] = {"stale", s.clock.Now() - 31s};
     },
     [](Sim& s) {
       EXPECT_EQ(s.view.active_proxies.count("proxy0"), 0u);
       EXPECT_EQ(s.cd.proxy.spec.master_db_uid, "db1");
     }},
    {"no proxies at all publishes at once",
     [](Sim& s) {
       JustElected(s);
       s.proxies.clear();
     },
     [](Sim& s) { EXPECT_EQ(s.cd.proxy.spec.master_db_uid, "db1"); }},
    {"enabled proxies follow the active proxies",
     [](Sim& s) {
       s.Healthy(1);
       s.AddProxy("proxy1");
     },
     [](Sim& s) {
       EXPECT_EQ(s.cd.proxy.spec.enabled_proxies, V({"proxy0", "proxy1"}));
       EXPECT_EQ(s.cd.proxy.generation, 3);
       EXPECT_EQ(s.cd.proxy.change_time, s.clock.WallNow());
     }},
    {"old master is removed once the new master is healthy and converged",
     [](Sim& s) {
       JustElected(s);
       s.proxies["proxy0"].acks = true;
     },
     [](Sim& s) {
       EXPECT_FALSE(s.HasDb("db0"));
       EXPECT_TRUE(s.Decided("removing old master db db0 on keeper keeper0"));
       EXPECT_EQ(s.Db("db2").spec.follow_config->db_uid, "db1");
       EXPECT_EQ(s.Db("db1").spec.followers, V({"db2"}));
     }},
    {"standbys wait while the new master is not converged",
     [](Sim& s) {
       JustElected(s);
       s.cd.dbs["db1"].generation = 2;
       s.keepers["keeper1"].converges = false;
       s.keepers["keeper1"].reported_generation["db1"] = 1;
       s.state.db_convergence_infos["db1"] = {2, s.clock.Now()};
     },
     [](Sim& s) {
       EXPECT_TRUE(s.HasDb("db0"));
       EXPECT_EQ(s.Db("db2").spec.follow_config->db_uid, "db0");
       EXPECT_TRUE(s.Decided("master db db1 on keeper keeper1 is not converged yet"));
     }},
    {"dead keeper without db is removed",
     [](Sim& s) {
       s.Healthy(1);
       s.AddKeeper("keeper9");
       s.cd.keepers["keeper9"].status.last_healthy_time = s.clock.WallNow() - 49h;
       s.FailKeeper("keeper9");
     },
     [](Sim& s) {
       EXPECT_EQ(s.cd.keepers.count("keeper9"), 0u);
       EXPECT_TRUE(s.Decided("removing dead keeper keeper9"));
     }},
    {"dead keeper with a db is kept",
     [](Sim& s) {
       s.Healthy(1);
       s.cd.keepers["keeper1"].status.last_healthy_time = s.clock.WallNow() - 49h;
       s.FailKeeper("keeper1");
     },
     [](Sim& s) { EXPECT_EQ(s.cd.keepers.count("keeper1"), 1u); }},
    {"recently healthy keeper without db is kept",
     [](Sim& s) {
       s.Healthy(1);
       s.AddKeeper("keeper9");
       s.cd.keepers["keeper9"].status.last_healthy_time = s.clock.WallNow() - 47h;
       s.FailKeeper("keeper9");
     },
     [](Sim& s) { EXPECT_EQ(s.cd.keepers.count("keeper9"), 1u); }},
    {"standby with another systemID is removed",
     [](Sim& s) {
       s.Healthy(2);
       s.keepers["keeper1"].system_id = "999";
     },
     [](Sim& s) {
       EXPECT_FALSE(s.HasDb("db1"));
       EXPECT_TRUE(s.Decided("removing invalid db db1 on keeper keeper1: its systemID 999"));
     }},
    {"timeline ahead of the master is a different branch",
     [](Sim& s) {
       s.Healthy(1);
       s.keepers["keeper1"].timeline = 2;
     },
     [](Sim& s) {
       EXPECT_FALSE(s.HasDb("db1"));
       EXPECT_TRUE(s.Decided("its timeline 2 is ahead of the master's 1"));
     }},
    {"same timeline forked at another switchpoint is a different branch",
     [](Sim& s) {
       s.Healthy(1);
       for (const char* k : {"keeper0", "keeper1"}) s.keepers[k].timeline = 2;
       s.keepers["keeper0"].history = {{1, 0x2000000, ""}};
       s.keepers["keeper1"].history = {{1, 0x2000100, ""}};
     },
     [](Sim& s) {
       EXPECT_FALSE(s.HasDb("db1"));
       EXPECT_TRUE(
           s.Decided("timeline 2 forked at 0/2000100 while the master's forked at "
                     "0/2000000"));
     }},
    {"same timeline and switchpoint is valid",
     [](Sim& s) {
       s.Healthy(1);
       for (const char* k : {"keeper0", "keeper1"}) {
         s.keepers[k].timeline = 2;
         s.keepers[k].history = {{1, 0x2000000, ""}};
       }
     },
     [](Sim& s) { EXPECT_TRUE(s.HasDb("db1")); }},
    {"master left our timeline before our position: different branch",
     [](Sim& s) {
       s.Healthy(1);
       s.keepers["keeper0"].timeline = 2;
       s.keepers["keeper0"].history = {{1, kXLog - 16, ""}};
     },
     [](Sim& s) {
       EXPECT_FALSE(s.HasDb("db1"));
       EXPECT_TRUE(
           s.Decided("the master left timeline 1 at 0/3000050 but this db is at "
                     "0/3000060"));
     }},
    {"master left our timeline after our position: still valid",
     [](Sim& s) {
       s.Healthy(1);
       s.keepers["keeper0"].timeline = 2;
       s.keepers["keeper0"].history = {{1, kXLog + 16, ""}};
     },
     [](Sim& s) { EXPECT_TRUE(s.HasDb("db1")); }},
    {"standby missing WAL on the master is removed",
     [](Sim& s) {
       s.Healthy(1);
       s.cd.dbs["db1"].generation = 2;  // not initialising
       s.Finish();
       s.keepers["keeper0"].xlog = 0x5000000;
       s.keepers["keeper0"].older_wal_file = "000000010000000000000004";
       s.state.db_not_increasing_xlog_pos["db1"] = 10;  // 11 after this check
     },
     [](Sim& s) {
       EXPECT_FALSE(s.HasDb("db1"));
       EXPECT_TRUE(
           s.Decided("needs WAL segment 0000000000000003 but the master's oldest is "
                     "0000000000000004"));
     }},
    {"standby not advancing for 10 checks only is kept",
     [](Sim& s) {
       s.Healthy(1);
       s.cd.dbs["db1"].generation = 2;
       s.Finish();
       s.keepers["keeper0"].xlog = 0x5000000;
       s.keepers["keeper0"].older_wal_file = "000000010000000000000004";
       s.state.db_not_increasing_xlog_pos["db1"] = 9;
     },
     [](Sim& s) { EXPECT_TRUE(s.HasDb("db1")); }},
    {"standby whose WAL is still on the master is kept",
     [](Sim& s) {
       s.Healthy(1);
       s.cd.dbs["db1"].generation = 2;
       s.Finish();
       s.keepers["keeper0"].xlog = 0x5000000;
       s.keepers["keeper0"].older_wal_file = "000000010000000000000003";
       s.state.db_not_increasing_xlog_pos["db1"] = 20;
     },
     [](Sim& s) { EXPECT_TRUE(s.HasDb("db1")); }},
    {"free keeper gets a resync standby",
     [](Sim& s) {
       s.Healthy(1);
       s.AddKeeper("keeper5");
     },
     [](Sim& s) {
       ASSERT_TRUE(s.HasDb("new0"));
       const DB& db = s.Db("new0");
       EXPECT_EQ(db.spec.keeper_uid, "keeper5");
       EXPECT_EQ(db.spec.init_mode, cluster::kInitModeResync);
       EXPECT_EQ(db.spec.role, cluster::kRoleStandby);
       EXPECT_EQ(db.spec.follow_config->db_uid, "db0");
       EXPECT_EQ(db.generation, 1);
       EXPECT_EQ(s.Db("db0").spec.followers, V({"db1", "new0"}));
       EXPECT_TRUE(s.Decided("adding new standby db new0 on free keeper keeper5"));
     }},
    {"unhealthy free keeper gets nothing",
     [](Sim& s) {
       s.Healthy(1);
       s.AddKeeper("keeper5");
       s.FailKeeper("keeper5");
     },
     [](Sim& s) { EXPECT_FALSE(s.HasDb("new0")); }},
    {"standby that never reported counts as converging",
     [](Sim& s) {
       s.Healthy(2, [] {
         ClusterSpec c = BaseSpec();
         c.max_standbys_per_sender = 2;
         return c;
       }());
       s.cd.dbs["db2"].status.current_generation = 0;
       s.keepers["keeper2"].has_pg_state = false;
       s.AddKeeper("keeper5");
     },
     [](Sim& s) { EXPECT_FALSE(s.HasDb("new0")); }},
    {"lowered maxStandbysPerSender removes excess good standbys",
     [](Sim& s) {
       s.Healthy(3, [] {
         ClusterSpec c = BaseSpec();
         c.max_standbys_per_sender = 1;
         return c;
       }());
     },
     [](Sim& s) {
       EXPECT_EQ(s.cd.dbs.size(), 2u);
       EXPECT_TRUE(s.Decided("exceed maxStandbysPerSender 1"));
     }},
    {"failed standby removed once enough good standbys exist",
     [](Sim& s) {
       s.Healthy(3, [] {
         ClusterSpec c = BaseSpec();
         c.max_standbys_per_sender = 2;
         return c;
       }());
       s.FailKeeper("keeper3");
     },
     [](Sim& s) {
       EXPECT_FALSE(s.HasDb("db3"));
       EXPECT_TRUE(s.HasDb("db1"));
       EXPECT_TRUE(s.HasDb("db2"));
       EXPECT_TRUE(s.Decided("removing non good standby db db3"));
     }},
    {"failed standby kept while good standbys are below the maximum",
     [](Sim& s) {
       s.Healthy(2);
       s.FailKeeper("keeper2");
     },
     [](Sim& s) { EXPECT_TRUE(s.HasDb("db2")); }},
    {"synchronous standby is never removed by the standby count",
     [](Sim& s) {
       ClusterSpec c = BaseSpec();
       c.max_standbys_per_sender = 1;
       s.HealthySync(2, c);
       s.cd.dbs["db0"].spec.synchronous_standbys = {"db2"};
       s.cd.dbs["db0"].status.synchronous_standbys = {"db2"};
       s.keepers["keeper0"].sync_standbys = {"db2"};
     },
     [](Sim& s) {
       EXPECT_TRUE(s.HasDb("db2"));
       EXPECT_FALSE(s.HasDb("db1"));
     }},
    {"good standbys get initMode none",
     [](Sim& s) {
       s.Healthy(1);
       s.cd.dbs["db1"].spec.init_mode = cluster::kInitModeResync;
     },
     [](Sim& s) {
       EXPECT_EQ(s.Db("db1").spec.init_mode, cluster::kInitModeNone);
       EXPECT_EQ(s.Db("db1").generation, 2);
     }},
    {"db specs get the cluster spec values and generations bump",
     [](Sim& s) {
       s.Healthy(1);
       s.cd.cluster.spec.pg_parameters = {{"work_mem", "8MB"}};
       s.cd.cluster.spec.additional_master_replication_slots = V({"slot_a"});
       s.cd.cluster.spec.request_timeout = 3s;
     },
     [](Sim& s) {
       for (const auto& [uid, db] : s.cd.dbs) {
         EXPECT_EQ(db.spec.pg_parameters.at("work_mem"), "8MB") << uid;
         EXPECT_EQ(db.spec.request_timeout, 3s) << uid;
         EXPECT_EQ(db.generation, 2) << uid;
         EXPECT_EQ(db.change_time, s.clock.WallNow()) << uid;
       }
       EXPECT_EQ(s.Db("db0").spec.additional_replication_slots, V({"slot_a"}));
       EXPECT_EQ(s.Db("db1").spec.additional_replication_slots, std::nullopt);
       EXPECT_TRUE(s.Decided("db db0 spec changed: generation 2"));
     }},
    {"unchanged dbs keep generation and changeTime",
     [](Sim& s) {
       s.Healthy(1);
       s.clock.Advance(1h);
     },
     [](Sim& s) {
       EXPECT_EQ(s.cd.change_time, s.clock.WallNow());
       for (const auto& [uid, db] : s.cd.dbs) {
         EXPECT_EQ(db.generation, 1) << uid;
         EXPECT_EQ(db.change_time, cluster::ZeroTime()) << uid;
       }
       EXPECT_EQ(s.cd.proxy.change_time, cluster::ZeroTime());
       EXPECT_EQ(s.cd.cluster.change_time, cluster::ZeroTime());
       // lastHealthyTime moved: the keepers changed.
       EXPECT_EQ(s.cd.keepers.at("keeper0").change_time, s.clock.WallNow());
     }},
    {"standby cluster promotion turns the master db into a master",
     [](Sim& s) {
       s.Healthy(1);
       s.cd.dbs["db0"].spec.role = cluster::kRoleStandby;
       s.cd.dbs["db0"].spec.follow_config =
           cluster::FollowConfig{cluster::kFollowExternal, "", {}, {}};
     },
     [](Sim& s) {
       EXPECT_EQ(s.Db("db0").spec.role, cluster::kRoleMaster);
       EXPECT_FALSE(s.Db("db0").spec.follow_config.has_value());
       EXPECT_EQ(s.Db("db0").generation, 2);
       EXPECT_EQ(s.Db("db0").spec.additional_replication_slots, std::nullopt);
       EXPECT_TRUE(s.Decided("promoting db db0 on keeper keeper0 to master"));
     }},
};

INSTANTIATE_TEST_SUITE_P(Sentinel, StandbysTest, ::testing::ValuesIn(kCases), CaseName);

}  // namespace
}  // namespace stolon::sentinel::testing
