#include "ctl/ops.h"

#include <gtest/gtest.h>

#include "unit/ctl/fixtures.h"

namespace stolon::ctl {
namespace {

TEST(CtlOps, RequireClusterDataNamesTheFix) {
  auto r = RequireClusterData(std::nullopt, "kube-pg");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(std::string(r.status().message()).find("stolonctl init"), std::string::npos);
}

TEST(CtlOps, FailKeeper) {
  auto cd = testing::ThreeKeeperCluster();
  auto next = FailKeeper(cd, "keeper1");
  ASSERT_TRUE(next.ok());
  EXPECT_TRUE(next->keepers.at("keeper1").status.force_fail);
  auto unknown = FailKeeper(cd, "nope");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(std::string(unknown.status().message()).find("keeper doesn't exist"),
            std::string::npos);
}

TEST(CtlOps, RemoveKeeperRefusesTheMaster) {
  auto cd = testing::ThreeKeeperCluster();
  auto r = RemoveKeeper(cd, "keeper0");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(
      std::string(r.status().message()).find("keeper assigned db is the current cluster master db"),
      std::string::npos);
  auto ok = RemoveKeeper(cd, "keeper2");
  ASSERT_TRUE(ok.ok());
  EXPECT_FALSE(ok->keepers.count("keeper2"));
  EXPECT_FALSE(ok->dbs.count("db2"));
  auto nodb = RemoveKeeper(cd, "keeper3");
  ASSERT_TRUE(nodb.ok());
  EXPECT_EQ(nodb->dbs.size(), 3u);
}

TEST(CtlOps, PromoteStandbyCluster) {
  auto cd = testing::ThreeKeeperCluster();
  auto already = Promote(cd);
  EXPECT_EQ(already.status().code(), absl::StatusCode::kAlreadyExists);
  cd.cluster.spec.init_mode = "pitr";
  cd.cluster.spec.role = "standby";
  cd.cluster.spec.synchronous_replication = false;
  cd.cluster.spec.pitr_config = cluster::PITRConfig{"pg_basebackup -D %d", {}, {}};
  cd.cluster.spec.standby_config =
      cluster::StandbyConfig{cluster::StandbySettings{"host=x", "", ""}, {}};
  auto p = Promote(cd);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->cluster.spec.role, "master");
}

TEST(CtlOps, UpdateSpecKeepsInitModeImmutable) {
  auto cd = testing::ThreeKeeperCluster();
  cluster::ClusterSpec spec = cd.cluster.spec;
  spec.init_mode = "existing";
  spec.existing_config = cluster::ExistingConfig{"keeper0"};
  auto r = UpdateSpec(cd, spec);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(std::string(r.status().message()).find("cannot change cluster init mode"),
            std::string::npos);
}

}  // namespace
}  // namespace stolon::ctl
