// Keeper integration: parameter changes (reload; restart-only parameters with
// automaticPgRestart), ALTER SYSTEM refused, the data dir lock, and restarts keeping the uid.
#include <gtest/gtest.h>

#include <algorithm>

#include "integration/keeper/harness.h"

namespace stolon::keeper::testing {
namespace {

using stolon::testing::RunCommand;
using stolon::testing::WaitFor;

class KeeperConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(tc_.Put().ok());
    k1_.Start();
    ASSERT_TRUE(tc_.RegisterKeeper("keeper1")) << k1_.Log();
    tc_.AddMaster("db1", "keeper1", cluster::kInitModeNew);
    ASSERT_TRUE(tc_.Put().ok());
    ASSERT_TRUE(tc_.WaitConverged("keeper1", "db1", 90s)) << k1_.Log();
  }
  // Bumps db1's generation and writes the cluster data.
  void Update() {
    tc_.cd.dbs["db1"].generation++;
    ASSERT_TRUE(tc_.Put().ok());
  }

  TestCluster tc_;
  TestKeeper k1_{tc_.name(), tc_.endpoints(), {"keeper1", "md5", {}}};
};

TEST_F(KeeperConfigTest, ParametersReloadAndRestartOnlyWithAutomaticPgRestart) {
  EXPECT_TRUE(k1_.LogContains("postgres parameters not changed"));
  tc_.cd.dbs["db1"].spec.pg_parameters["work_mem"] = "7MB";
  Update();
  EXPECT_TRUE(WaitQuery(k1_, "show work_mem", "7MB")) << k1_.Log();
  EXPECT_TRUE(k1_.LogContains("postgres parameters changed, reloading postgres instance"));
  ASSERT_TRUE(tc_.WaitConverged("keeper1", "db1"));
  // The published parameters follow (managed ones filtered out).
  auto info = tc_.WaitInfo("keeper1", [](const cluster::KeeperInfo& ki) {
    return ki.postgres_state && ki.postgres_state->pg_parameters.count("work_mem");
  });
  ASSERT_TRUE(info);
  EXPECT_EQ(info->postgres_state->pg_parameters.at("work_mem"), "7MB");
  EXPECT_EQ(info->postgres_state->pg_parameters.count("listen_addresses"), 0u);

  // A restart-only parameter: pending, not applied, while automaticPgRestart is off.
  tc_.cd.dbs["db1"].spec.pg_parameters["max_connections"] = "150";
  Update();
  ASSERT_TRUE(tc_.WaitConverged("keeper1", "db1"));
  EXPECT_TRUE(WaitQuery(k1_, "select count(*) from pg_settings where pending_restart", "1"));
  EXPECT_EQ(*k1_.QueryOne("show max_connections"), "100");
  // The reload is asynchronous: pending_restart may only show in the keeper's next pass.
  EXPECT_TRUE(stolon::testing::WaitFor(
      [&] { return k1_.LogContains("not restarting since automaticPgRestart is off"); }, 20s))
      << k1_.Log();

  tc_.cd.cluster.spec.automatic_pg_restart = true;
  Update();
  EXPECT_TRUE(WaitQuery(k1_, "show max_connections", "150", 30s)) << k1_.Log();
  EXPECT_TRUE(k1_.LogContains("restarting postgres"));
}

TEST_F(KeeperConfigTest, AlterSystemIsRefused) {
  auto conn = k1_.Connect();
  ASSERT_TRUE(conn.ok());
  absl::Status s = conn->Exec("alter system set archive_mode to on");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(std::string(s.message()).find("postgresql.auto.conf"), std::string::npos) << s;
  // Still not set after a restart of the keeper (and so of postgres).
  k1_.Stop();
  k1_.Start();
  ASSERT_TRUE(tc_.RegisterKeeper("keeper1"));
  EXPECT_TRUE(WaitQuery(k1_, "show archive_mode", "off", 60s)) << k1_.Log();
}

TEST_F(KeeperConfigTest, SecondKeeperOnSameDataDirRefuses) {
  std::string out;
  int rc = RunCommand(k1_.Args(), &out, 20s, /*as_unprivileged_user=*/true);
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("cannot take exclusive lock on data dir \"" + k1_.data_dir() + "\""),
            std::string::npos)
      << out;
  EXPECT_TRUE(k1_.LogContains("exclusive lock on data dir taken"));
  EXPECT_TRUE(k1_.PostgresRunning()) << "the refused keeper must not touch the running instance";
}

TEST_F(KeeperConfigTest, RestartKeepsUidAndWaitsForTheNewBoot) {
  ASSERT_EQ(k1_.Stop() & 0xff, 0);
  EXPECT_FALSE(k1_.PostgresRunning());
  // Another --uid on this data dir is refused.
  auto args = k1_.Args();
  std::replace(args.begin(), args.end(), std::string("--uid=keeper1"), std::string("--uid=other"));
  std::string out;
  EXPECT_NE(RunCommand(args, &out, 20s, true), 0);
  EXPECT_NE(out.find("saved uid \"keeper1\" differs from configuration uid: \"other\""),
            std::string::npos)
      << out;
  // Without --uid the saved one is used.
  args = k1_.Args();
  std::erase(args, std::string("--uid=keeper1"));
  k1_.StartWith(args);
  // The cluster data still has the previous boot: the keeper must not start postgres.
  ASSERT_TRUE(WaitFor([&] { return k1_.CountInLog("our db boot UID is different") >= 2; }, 30s))
      << k1_.Log();
  EXPECT_FALSE(k1_.PostgresRunning());
  ASSERT_TRUE(tc_.RegisterKeeper("keeper1"));
  EXPECT_TRUE(WaitQuery(k1_, "select 1", "1", 60s)) << k1_.Log();
  EXPECT_TRUE(k1_.LogContains("keeper uid\t{\"uid\": \"keeper1\""));
}

}  // namespace
}  // namespace stolon::keeper::testing
