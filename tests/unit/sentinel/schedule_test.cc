// When the leader checks next (NextCheckDelay) and when keeper info changes wake it
// (SyncStandbysSettling).
#include "sim.h"

namespace stolon::sentinel::testing {
namespace {

Duration Delay(const Sim& s) { return NextCheckDelay(s.cd, s.state, s.clock.Now()); }

class ScheduleTest : public ::testing::TestWithParam<Case> {};

TEST_P(ScheduleTest, Check) {
  Sim sim;
  GetParam().setup(sim);
  sim.Step();
  SCOPED_TRACE(sim.Decisions());
  GetParam().check(sim);
}

const std::vector<Case> kCases = {
    {"keepers publishing: one sleepInterval", [](Sim& s) { s.Healthy(2); },
     [](Sim& s) { EXPECT_EQ(Delay(s), 5s); }},
    {"a silent keeper is checked just after failInterval, not up to a sleepInterval later",
     [](Sim& s) {
       s.Healthy(1);
       s.keepers["keeper1"].frozen = true;
     },
     [](Sim& s) {
       // keeper1's info was first seen now and never changes again.
       EXPECT_EQ(Delay(s), 5s);
       s.StepAfter(16s);
       EXPECT_TRUE(s.cd.keepers.at("keeper1").status.healthy);
       EXPECT_EQ(Delay(s), 4020ms);
       s.StepAfter(Delay(s));
       EXPECT_FALSE(s.cd.keepers.at("keeper1").status.healthy);
       EXPECT_TRUE(s.Decided("keeper keeper1 failed: no fresh info for 20"));
       // Failed keepers have no deadline left.
       EXPECT_EQ(Delay(s), 5s);
     }},
    {"a keeper that vanished counts from its last sign of life", [](Sim& s) { s.Healthy(1); },
     [](Sim& s) {
       s.keepers["keeper1"].publishes = false;
       s.StepAfter(5s);  // no info: the timer starts from the check that saw its last change
       EXPECT_EQ(Delay(s), 5s);
       s.StepAfter(11s);
       EXPECT_EQ(Delay(s), 4020ms);
     }},
    {"a keeper recorded on the first run after gaining leadership has no deadline",
     [](Sim& s) {
       s.Healthy(1);
       s.state.first_run = true;
       s.keepers["keeper1"].frozen = true;
     },
     [](Sim& s) { EXPECT_EQ(Delay(s), 5s); }},
    {"a db reported unhealthy is checked just after failInterval",
     [](Sim& s) {
       s.Healthy(1);
       s.keepers["keeper1"].pg_healthy = false;
     },
     [](Sim& s) {
       EXPECT_TRUE(s.Db("db1").status.healthy);
       s.StepAfter(17s);
       EXPECT_EQ(Delay(s), 3020ms);
       s.StepAfter(Delay(s));
       EXPECT_FALSE(s.Db("db1").status.healthy);
     }},
    {"a deadline already passed never makes the loop spin", [](Sim& s) { s.Healthy(1); },
     [](Sim& s) {
       s.state.keeper_error_timers["keeper1"] = s.clock.Now() - 60s;
       EXPECT_EQ(Delay(s), 20ms);
     }},
    {"a shorter sleepInterval caps the delay",
     [](Sim& s) {
       ClusterSpec spec = BaseSpec();
       spec.sleep_interval = 1s;
       spec.fail_interval = 3s;
       s.Healthy(1, spec);
       s.keepers["keeper1"].frozen = true;
     },
     [](Sim& s) {
       EXPECT_EQ(Delay(s), 1s);
       s.StepAfter(2500ms);
       EXPECT_EQ(Delay(s), 520ms);
     }},

    {"steady synchronous replication is settled", [](Sim& s) { s.HealthySync(2); },
     [](Sim& s) { EXPECT_FALSE(SyncStandbysSettling(s.cd)); }},
    {"asynchronous replication is never settling", [](Sim& s) { s.Healthy(2); },
     [](Sim& s) { EXPECT_FALSE(SyncStandbysSettling(s.cd)); }},
    {"a dead synchronous standby makes the set settle",
     [](Sim& s) {
       s.HealthySync(2);
       s.FailKeeper("keeper1");
     },
     [](Sim& s) { EXPECT_TRUE(SyncStandbysSettling(s.cd)); }},
    {"a listed standby not yet in sync makes the set settle", [](Sim& s) { s.HealthySync(2); },
     [](Sim& s) {
       s.cd.dbs.at("db0").spec.synchronous_standbys = {"db1", "db2"};
       EXPECT_TRUE(SyncStandbysSettling(s.cd));
     }},
    {"the fake standby makes the set settle", [](Sim& s) { s.HealthySync(2); },
     [](Sim& s) {
       auto& m = s.cd.dbs.at("db0");
       m.spec.synchronous_standbys.clear();
       m.status.synchronous_standbys.clear();
       m.spec.external_synchronous_standbys = {cluster::kFakeStandbyName};
       EXPECT_TRUE(SyncStandbysSettling(s.cd));
     }},
    {"no master: nothing to settle", [](Sim& s) { s.HealthySync(1); },
     [](Sim& s) {
       s.cd.cluster.status.master.clear();
       EXPECT_FALSE(SyncStandbysSettling(s.cd));
     }},
};

INSTANTIATE_TEST_SUITE_P(Sentinel, ScheduleTest, ::testing::ValuesIn(kCases), CaseName);

}  // namespace
}  // namespace stolon::sentinel::testing
