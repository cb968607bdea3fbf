// Keeper/db health, proxy liveness and first-run behaviour (one check per case).
#include "sim.h"

namespace stolon::sentinel::testing {
namespace {

class HealthTest : public ::testing::TestWithParam<Case> {};

TEST_P(HealthTest, Check) {
  Sim sim;
  GetParam().setup(sim);
  sim.Step();
  SCOPED_TRACE(sim.Decisions());
  GetParam().check(sim);
}

const std::vector<Case> kCases = {
    {"fresh infos keep everything healthy", [](Sim& s) { s.Healthy(2); },
     [](Sim& s) {
       for (const auto& [uid, k] : s.cd.keepers) EXPECT_TRUE(k.status.healthy) << uid;
       for (const auto& [uid, db] : s.cd.dbs) {
         EXPECT_TRUE(db.status.healthy) << uid;
         EXPECT_EQ(db.generation, 1) << uid;
       }
       EXPECT_TRUE(s.state.keeper_error_timers.empty());
     }},
    {"keeper without info fails after failInterval",
     [](Sim& s) {
       s.Healthy(2);
       s.FailKeeper("keeper1");
     },
     [](Sim& s) {
       EXPECT_FALSE(s.cd.keepers.at("keeper1").status.healthy);
       EXPECT_FALSE(s.Db("db1").status.healthy);
       EXPECT_TRUE(s.Decided("keeper keeper1 failed: no fresh info for 21s (failInterval 20s)"));
     }},
    {"keeper without info stays healthy within failInterval",
     [](Sim& s) {
       s.Healthy(2);
       s.keepers["keeper1"].publishes = false;
     },
     [](Sim& s) {
       EXPECT_TRUE(s.cd.keepers.at("keeper1").status.healthy);
       EXPECT_EQ(s.state.keeper_error_timers.count("keeper1"), 1u);
     }},
    {"frozen infoUID goes stale after sleepInterval and fails after failInterval",
     [](Sim& s) {
       s.Healthy(1);
       s.keepers["keeper1"].frozen = true;
     },
     [](Sim& s) {
       EXPECT_TRUE(s.cd.keepers.at("keeper1").status.healthy);  // new infoUID: fresh
       s.StepAfter(4s);  // same infoUID, within sleepInterval: still fresh
       EXPECT_EQ(s.state.keeper_error_timers.count("keeper1"), 0u);
       s.StepAfter(2s);  // 6s > sleepInterval 5s: stale, timer starts
       EXPECT_EQ(s.state.keeper_error_timers.count("keeper1"), 1u);
       EXPECT_TRUE(s.cd.keepers.at("keeper1").status.healthy);
       s.StepAfter(21s);
       EXPECT_FALSE(s.cd.keepers.at("keeper1").status.healthy);
     }},
    {"forceFail marks unhealthy for one check and is reset",
     [](Sim& s) {
       s.Healthy(1);
       s.cd.keepers["keeper1"].status.force_fail = true;
     },
     [](Sim& s) {
       EXPECT_FALSE(s.cd.keepers.at("keeper1").status.healthy);
       EXPECT_FALSE(s.cd.keepers.at("keeper1").status.force_fail);
       EXPECT_FALSE(s.Db("db1").status.healthy);
       EXPECT_TRUE(s.Decided("forceFail"));
       s.StepAfter(5s);
       EXPECT_TRUE(s.cd.keepers.at("keeper1").status.healthy);
     }},
    {"canBeMaster and canBeSynchronousReplica copied from the info",
     [](Sim& s) {
       s.Healthy(1);
       s.keepers["keeper1"].can_be_master = false;
       s.keepers["keeper1"].can_be_sync = true;
     },
     [](Sim& s) {
       EXPECT_EQ(s.cd.keepers.at("keeper1").status.can_be_master, std::optional<bool>(false));
       EXPECT_EQ(s.cd.keepers.at("keeper1").status.can_be_synchronous_replica,
                 std::optional<bool>(true));
       EXPECT_EQ(s.cd.keepers.at("keeper0").status.can_be_master, std::nullopt);
     }},
    {"infos with another clusterUID are ignored",
     [](Sim& s) {
       s.Healthy(1);
       s.keepers["keeper1"].cluster_uid = "oldcluster";
       s.keepers["keeper9"].cluster_uid = "oldcluster";
     },
     [](Sim& s) {
       EXPECT_EQ(s.cd.keepers.count("keeper9"), 0u);
       EXPECT_EQ(s.state.keeper_error_timers.count("keeper1"), 1u);
       EXPECT_TRUE(s.Decided("ignoring keeper keeper9"));
     }},
    {"new keeper from a fresh info is added",
     [](Sim& s) {
       s.Healthy(1);
       s.keepers["keeper9"];
     },
     [](Sim& s) {
       ASSERT_EQ(s.cd.keepers.count("keeper9"), 1u);
       const auto& k = s.cd.keepers.at("keeper9");
       EXPECT_TRUE(k.status.healthy);
       EXPECT_EQ(k.generation, 1);
       EXPECT_EQ(k.status.boot_uuid, "boot-keeper9");
       EXPECT_EQ(k.change_time, s.clock.WallNow());
     }},
    {"first run after gaining leadership makes no judgement",
     [](Sim& s) {
       s.Healthy(2);
       s.FailKeeper("keeper1");
       s.state.first_run = true;
     },
     [](Sim& s) {
       EXPECT_TRUE(s.cd.keepers.at("keeper1").status.healthy);
       EXPECT_TRUE(s.state.keeper_error_timers.empty());  // reset
       EXPECT_FALSE(s.state.first_run);
       EXPECT_FALSE(s.state.keeper_info_histories.at("keeper0").seen);
       EXPECT_EQ(s.Master(), "db0");
       EXPECT_TRUE(s.Decided("no health judgement"));
     }},
    {"after first run an unchanged infoUID is stale at once",
     [](Sim& s) {
       s.Healthy(1);
       s.keepers["keeper1"].frozen = true;
       s.state.first_run = true;
     },
     [](Sim& s) {
       s.StepAfter(1s);
       EXPECT_EQ(s.state.keeper_error_timers.count("keeper1"), 1u);
       EXPECT_EQ(s.state.keeper_error_timers.count("keeper0"), 0u);
     }},
    {"db reporting another uid gets an error timer",
     [](Sim& s) {
       s.Healthy(1);
       s.keepers["keeper1"].reported_db = "dbX";
     },
     [](Sim& s) {
       EXPECT_EQ(s.state.db_error_timers.count("db1"), 1u);
       EXPECT_TRUE(s.Db("db1").status.healthy);  // not yet failInterval
     }},
    {"keeper without postgres state fails its db after failInterval",
     [](Sim& s) {
       s.Healthy(1);
       s.keepers["keeper1"].has_pg_state = false;
       s.state.db_error_timers["db1"] = s.clock.Now() - 30s;
     },
     [](Sim& s) {
       EXPECT_FALSE(s.Db("db1").status.healthy);
       EXPECT_TRUE(s.cd.keepers.at("keeper1").status.healthy);
       EXPECT_TRUE(s.Decided("the keeper reports no postgres state for 30s"));
     }},
    {"unhealthy postgres keeps old positions but copies generation",
     [](Sim& s) {
       s.Healthy(1);
       s.keepers["keeper1"].pg_healthy = false;
       s.keepers["keeper1"].xlog = kXLog + 100;
     },
     [](Sim& s) {
       EXPECT_EQ(s.Db("db1").status.xlog_pos, kXLog);
       EXPECT_EQ(s.Db("db1").status.current_generation, 1);
       EXPECT_EQ(s.state.db_error_timers.count("db1"), 1u);
     }},
    {"healthy state is copied into db status",
     [](Sim& s) {
       s.Healthy(1);
       s.keepers["keeper1"].xlog = kXLog + 100;
       s.keepers["keeper1"].older_wal_file = "000000010000000000000002";
       s.keepers["keeper0"].sync_standbys = {"db1"};
     },
     [](Sim& s) {
       EXPECT_EQ(s.Db("db1").status.xlog_pos, kXLog + 100);
       EXPECT_EQ(s.Db("db1").status.older_wal_file, "000000010000000000000002");
       EXPECT_EQ(s.Db("db0").status.cur_synchronous_standbys, std::vector<std::string>{"db1"});
       EXPECT_EQ(s.Db("db1").status.listen_address, "127.0.0.1");
     }},
    {"not increasing xlogpos is counted and reset", [](Sim& s) { s.Healthy(1); },
     [](Sim& s) {
       EXPECT_EQ(s.state.db_not_increasing_xlog_pos.at("db1"), 1);
       s.StepAfter(5s);
       EXPECT_EQ(s.state.db_not_increasing_xlog_pos.at("db1"), 2);
       s.keepers["keeper1"].xlog += 8;
       s.StepAfter(5s);
       EXPECT_EQ(s.state.db_not_increasing_xlog_pos.count("db1"), 0u);
     }},
    {"lastHealthyTime advances only while healthy",
     [](Sim& s) {
       s.Healthy(1);
       s.clock.Advance(1h);
       s.FailKeeper("keeper1");
     },
     [](Sim& s) {
       EXPECT_EQ(s.cd.keepers.at("keeper0").status.last_healthy_time, s.clock.WallNow());
       EXPECT_EQ(s.cd.keepers.at("keeper1").status.last_healthy_time, s.clock.WallNow() - 1h);
     }},
    {"new proxy counts as active",
     [](Sim& s) {
       s.Healthy(1);
       s.AddProxy("proxy1");
     },
     [](Sim& s) { EXPECT_EQ(s.view.active_proxies.count("proxy1"), 1u); }},
    {"proxy with frozen info is inactive after twice its timeout",
     [](Sim& s) {
       s.Healthy(1);
       s.proxies["proxy0"].frozen = true;
     },
     [](Sim& s) {
       s.StepAfter(29s);
       EXPECT_EQ(s.view.active_proxies.count("proxy0"), 1u);
       s.StepAfter(2s);
       EXPECT_EQ(s.view.active_proxies.count("proxy0"), 0u);
       EXPECT_TRUE(s.Decided("proxy proxy0 is inactive"));
     }},
    {"vanished proxy is dropped from the history",
     [](Sim& s) {
       s.Healthy(1);
       s.AddProxy("proxy1");
     },
     [](Sim& s) {
       s.proxies["proxy1"].publishes = false;
       s.StepAfter(5s);
       EXPECT_EQ(s.state.proxy_info_histories.count("proxy1"), 0u);
       EXPECT_EQ(s.state.proxy_info_histories.count("proxy0"), 1u);
     }},
};

INSTANTIATE_TEST_SUITE_P(Sentinel, HealthTest, ::testing::ValuesIn(kCases), CaseName);

}  // namespace
}  // namespace stolon::sentinel::testing
