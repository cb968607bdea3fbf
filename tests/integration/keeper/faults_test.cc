// Keeper integration: the store going away (postgres keeps serving, one log line per change,
// convergence resumes), a frozen postmaster (reported unhealthy although the keeper's kept
// connection still answers, healthy again once it runs), and a data dir lost under a db with
// initMode none (not started).
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>

#include "integration/keeper/harness.h"

namespace stolon::keeper::testing {
namespace {

using stolon::testing::RunCommand;
using stolon::testing::WaitFor;

class KeeperFaultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(tc_.Put().ok());
    k1_.Start();
    ASSERT_TRUE(tc_.RegisterKeeper("keeper1")) << k1_.Log();
    tc_.AddMaster("db1", "keeper1", cluster::kInitModeNew);
    ASSERT_TRUE(tc_.Put().ok());
    ASSERT_TRUE(tc_.WaitConverged("keeper1", "db1", 90s)) << k1_.Log();
  }

  TestCluster tc_;
  TestKeeper k1_{tc_.name(), tc_.endpoints(), {"keeper1", "md5", {}}};
};

TEST_F(KeeperFaultsTest, StoreOutageLeavesPostgresServing) {
  tc_.etcd().Stop(0);
  auto start = std::chrono::steady_clock::now();
  // 2 x sleepInterval and then some: postgres serves the whole time.
  int queries = 0;
  while (std::chrono::steady_clock::now() - start < 3s) {
    auto v = k1_.QueryOne("select 1");
    ASSERT_TRUE(v.ok()) << v.status();
    ++queries;
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_GT(queries, 5);
  EXPECT_TRUE(k1_.PostgresRunning());
  // Logged once for the change, not on every pass.
  EXPECT_EQ(k1_.CountInLog("cannot read the cluster data from the store"), 1) << k1_.Log();
  EXPECT_LE(k1_.CountInLog("cannot publish keeper info"), 1);

  tc_.etcd().Start(0);
  ASSERT_TRUE(tc_.etcd().WaitHealthy(0));
  // Converging again: a parameter change is applied.
  tc_.cd.dbs["db1"].spec.pg_parameters["work_mem"] = "9MB";
  tc_.cd.dbs["db1"].generation++;
  ASSERT_TRUE(WaitFor([&] { return tc_.Put().ok(); }, 20s));
  EXPECT_TRUE(WaitQuery(k1_, "show work_mem", "9MB", 60s)) << k1_.Log();
  EXPECT_TRUE(tc_.WaitConverged("keeper1", "db1", 30s));
  EXPECT_TRUE(k1_.LogContains("store reachable again"));
}

TEST_F(KeeperFaultsTest, FrozenPostmasterIsReportedUnhealthy) {
  const pid_t postmaster = k1_.PostmasterPid();
  ASSERT_GT(postmaster, 0);
  ASSERT_EQ(kill(postmaster, SIGSTOP), 0);
  // Only the postmaster is frozen: its backends (the keeper's kept connection among them) still
  // answer, but no new client can connect. Bound: the probe's request timeout (10s) plus passes.
  auto unhealthy = tc_.WaitInfo(
      "keeper1",
      [](const cluster::KeeperInfo& ki) {
        return ki.postgres_state && !ki.postgres_state->healthy;
      },
      30s);
  kill(postmaster, SIGCONT);
  ASSERT_TRUE(unhealthy.has_value()) << k1_.Log();
  EXPECT_TRUE(k1_.LogContains("it accepts no new connection")) << k1_.Log();
  EXPECT_TRUE(tc_.WaitConverged("keeper1", "db1", 30s)) << k1_.Log();
  EXPECT_EQ(k1_.PostmasterPid(), postmaster) << "a thawed postmaster is not restarted";
}

TEST_F(KeeperFaultsTest, LostDataDirWithInitModeNoneIsNotStarted) {
  // The sentinel sets initMode none once a db is initialized.
  tc_.cd.dbs["db1"].spec.init_mode = cluster::kInitModeNone;
  tc_.cd.dbs["db1"].generation++;
  ASSERT_TRUE(tc_.Put().ok());
  ASSERT_TRUE(tc_.WaitConverged("keeper1", "db1"));
  k1_.Stop();
  std::filesystem::remove_all(k1_.data_dir());
  k1_.Start();
  ASSERT_TRUE(tc_.RegisterKeeper("keeper1")) << k1_.Log();
  ASSERT_TRUE(WaitFor([&] { return k1_.CountInLog("init mode is none") >= 3; }, 30s)) << k1_.Log();
  EXPECT_FALSE(k1_.PostgresRunning());
  EXPECT_FALSE(k1_.Connect().ok());
  EXPECT_FALSE(std::filesystem::exists(k1_.pgdata() + "/PG_VERSION"));
}

}  // namespace
}  // namespace stolon::keeper::testing
