// Synchronous standby management (one check per case unless the case steps further).
#include "sim.h"

namespace stolon::sentinel::testing {
namespace {

class SyncTest : public ::testing::TestWithParam<Case> {};

TEST_P(SyncTest, Check) {
  Sim sim;
  GetParam().setup(sim);
  sim.Step();
  SCOPED_TRACE(sim.Decisions());
  GetParam().check(sim);
}

std::vector<std::string> V(std::initializer_list<const char*> l) {
  return std::vector<std::string>(l.begin(), l.end());
}

ClusterSpec SyncSpec(uint16_t min, uint16_t max) {
  ClusterSpec s = BaseSpec();
  s.synchronous_replication = true;
  s.min_synchronous_standbys = min;
  s.max_synchronous_standbys = max;
  return s;
}

const DB& M(Sim& s) { return s.Db("db0"); }

const std::vector<Case> kCases = {
    {"enabling sync picks the best standby",
     [](Sim& s) {
       s.Healthy(2, SyncSpec(1, 1));
       s.keepers["keeper2"].xlog = kXLog + 8;
     },
     [](Sim& s) {
       EXPECT_TRUE(M(s).spec.synchronous_replication);
       EXPECT_EQ(M(s).spec.synchronous_standbys, V({"db2"}));
       EXPECT_TRUE(M(s).spec.external_synchronous_standbys.empty());
       EXPECT_TRUE(M(s).status.synchronous_standbys.empty());
       EXPECT_EQ(M(s).generation, 2);
     }},
    {"waits for new synchronous standbys to be in sync",
     [](Sim& s) {
       s.HealthySync(2, SyncSpec(1, 1));
       s.cd.dbs["db0"].status.synchronous_standbys.clear();
       s.keepers["keeper0"].sync_standbys.clear();
     },
     [](Sim& s) {
       EXPECT_EQ(M(s).spec.synchronous_standbys, V({"db1"}));
       EXPECT_TRUE(s.Decided("waiting for new defined synchronous standbys to be in sync"));
     }},
    {"reported in-sync standby is recorded",
     [](Sim& s) {
       s.HealthySync(2, SyncSpec(1, 1));
       s.cd.dbs["db0"].status.synchronous_standbys.clear();
     },
     [](Sim& s) {
       EXPECT_EQ(M(s).status.synchronous_standbys, V({"db1"}));
       EXPECT_TRUE(s.Decided("synchronous standby db1 is now reported in sync"));
     }},
    {"failed addition is given up",
     [](Sim& s) {
       s.HealthySync(2, SyncSpec(1, 2));
       s.cd.dbs["db0"].spec.synchronous_standbys = {"db1", "db2"};
       s.FailKeeper("keeper2");
     },
     [](Sim& s) {
       EXPECT_TRUE(s.Decided("synchronous standby db2 will not get in sync"));
       EXPECT_EQ(M(s).spec.synchronous_standbys, V({"db1"}));
     }},
    {"failed sync standby is replaced in two steps",
     [](Sim& s) {
       s.HealthySync(2, SyncSpec(1, 1));
       s.FailKeeper("keeper1");
       s.keepers["keeper0"].sync_standbys.clear();
     },
     [](Sim& s) {
       // Step 1: old and new together; db1 stays because it is the one known in sync.
       EXPECT_EQ(M(s).spec.synchronous_standbys, V({"db1", "db2"}));
       EXPECT_EQ(M(s).status.synchronous_standbys, V({"db1"}));
       EXPECT_TRUE(s.Decided("keeping previous synchronous standby db1 until the new ones [db2]"));
       // Step 2: db2 reported in sync: the set shrinks to db2.
       s.keepers["keeper0"].sync_standbys = {"db2"};
       s.StepAfter(5s);
       EXPECT_EQ(M(s).spec.synchronous_standbys, V({"db2"}));
       EXPECT_EQ(M(s).status.synchronous_standbys, V({"db2"}));
     }},
    {"fake standby keeps the master blocking below min",
     [](Sim& s) {
       s.HealthySync(1, SyncSpec(1, 1));
       s.cd.dbs["db0"].spec.synchronous_standbys.clear();
       s.cd.dbs["db0"].status.synchronous_standbys.clear();
       s.FailKeeper("keeper1");
     },
     [](Sim& s) {
       EXPECT_TRUE(M(s).spec.synchronous_standbys.empty());
       EXPECT_EQ(M(s).spec.external_synchronous_standbys, V({"stolonfakestandby"}));
       EXPECT_TRUE(s.Decided("using fake synchronous standby stolonfakestandby"));
     }},
    {"previous sync standby kept even if failed to reach min",
     [](Sim& s) {
       s.HealthySync(1, SyncSpec(1, 1));
       s.FailKeeper("keeper1");
     },
     [](Sim& s) {
       EXPECT_EQ(M(s).spec.synchronous_standbys, V({"db1"}));
       EXPECT_TRUE(M(s).spec.external_synchronous_standbys.empty());
       EXPECT_TRUE(s.Decided("keeping previous synchronous standby db1 (not good)"));
     }},
    {"min 0 allows an empty list without fake standby",
     [](Sim& s) {
       s.HealthySync(1, SyncSpec(0, 1));
       s.FailKeeper("keeper1");
     },
     [](Sim& s) {
       EXPECT_TRUE(M(s).spec.synchronous_standbys.empty());
       EXPECT_TRUE(M(s).spec.external_synchronous_standbys.empty());
       EXPECT_TRUE(M(s).spec.synchronous_replication);
     }},
    {"max 2 adds a second synchronous standby with merge",
     [](Sim& s) { s.HealthySync(3, SyncSpec(1, 2)); },
     [](Sim& s) {
       EXPECT_EQ(M(s).spec.synchronous_standbys.size(), 2u);
       EXPECT_EQ(M(s).spec.synchronous_standbys[0], "db1");
     }},
    {"canBeSynchronousReplica false is skipped",
     [](Sim& s) {
       s.Healthy(2, SyncSpec(1, 1));
       s.keepers["keeper1"].can_be_sync = false;
       s.keepers["keeper1"].xlog = kXLog + 100;
     },
     [](Sim& s) {
       EXPECT_EQ(M(s).spec.synchronous_standbys, V({"db2"}));
       EXPECT_TRUE(s.Decided("canBeSynchronousReplica is false"));
     }},
    {"PostgreSQL 9.5 master: one standby and no merge",
     [](Sim& s) {
       s.HealthySync(2, SyncSpec(2, 3));
       s.keepers["keeper0"].version = {9, 5};
       s.FailKeeper("keeper1");
     },
     [](Sim& s) {
       // no merge: the failed db1 is replaced at once, and only one standby.
       EXPECT_EQ(M(s).spec.synchronous_standbys, V({"db2"}));
       EXPECT_TRUE(M(s).spec.external_synchronous_standbys.empty());
     }},
    {"excess synchronous standbys are dropped when max is lowered",
     [](Sim& s) {
       s.HealthySync(2, SyncSpec(1, 1));
       s.cd.dbs["db0"].spec.synchronous_standbys = {"db1", "db2"};
       s.cd.dbs["db0"].status.synchronous_standbys = {"db1", "db2"};
       s.keepers["keeper0"].sync_standbys = {"db1", "db2"};
       s.keepers["keeper2"].xlog = kXLog + 8;
     },
     [](Sim& s) {
       EXPECT_EQ(M(s).spec.synchronous_standbys, V({"db2"}));
       EXPECT_EQ(M(s).status.synchronous_standbys, V({"db2"}));
       EXPECT_TRUE(s.Decided("in excess of maxSynchronousStandbys 1"));
     }},
    {"disabling sync clears the master's sync fields",
     [](Sim& s) {
       s.HealthySync(2, SyncSpec(1, 1));
       s.cd.cluster.spec.synchronous_replication = false;
     },
     [](Sim& s) {
       EXPECT_FALSE(M(s).spec.synchronous_replication);
       EXPECT_TRUE(M(s).spec.synchronous_standbys.empty());
       EXPECT_TRUE(M(s).status.synchronous_standbys.empty());
     }},
    {"standbys never carry sync fields",
     [](Sim& s) {
       s.HealthySync(2, SyncSpec(1, 1));
       s.cd.dbs["db2"].spec.synchronous_standbys = {"db1"};
     },
     [](Sim& s) { EXPECT_TRUE(s.Db("db2").spec.synchronous_standbys.empty()); }},
};

INSTANTIATE_TEST_SUITE_P(Sentinel, SyncTest, ::testing::ValuesIn(kCases), CaseName);

}  // namespace
}  // namespace stolon::sentinel::testing
