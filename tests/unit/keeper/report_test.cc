#include "keeper/report.h"

#include <gtest/gtest.h>

namespace stolon::keeper {
namespace {

cluster::PostgresState State(std::string uid, int64_t gen, bool healthy, uint64_t tl) {
  cluster::PostgresState s;
  s.uid = std::move(uid);
  s.generation = gen;
  s.healthy = healthy;
  s.timeline_id = tl;
  return s;
}

TEST(PgStateChangedTest, OnlyWhatTheSentinelActsOnCounts) {
  const cluster::PostgresState base = State("db1", 3, true, 2);
  struct Case {
    const char* name;
    std::optional<cluster::PostgresState> before;
    cluster::PostgresState now;
    bool changed;
  };
  cluster::PostgresState lsn_moved = base;
  lsn_moved.xlog_pos = 12345;  // moves on every probe of a busy master: not a change
  const Case cases[] = {
      {"first probe", std::nullopt, base, true},
      {"same", base, base, false},
      {"wal position only", base, lsn_moved, false},
      {"another db", base, State("db2", 3, true, 2), true},
      {"new generation", base, State("db1", 4, true, 2), true},
      {"became unhealthy", base, State("db1", 3, false, 2), true},
      {"new timeline", base, State("db1", 3, true, 3), true},
  };
  for (const Case& c : cases) EXPECT_EQ(PgStateChanged(c.before, c.now), c.changed) << c.name;
}

TEST(MakeKeeperInfoTest, NothingBeforeTheClusterIsKnown) {
  const KeeperIdentity id{"k1", "boot-1", true, false};
  EXPECT_FALSE(MakeKeeperInfo(id, "info-1", "", std::nullopt, std::nullopt).has_value());
}

TEST(MakeKeeperInfoTest, CarriesIdentityVersionAndState) {
  const KeeperIdentity id{"k1", "boot-1", false, true};
  auto ki = MakeKeeperInfo(id, "info-1", "cluster-1", postgresql::PGVersion{15, 4},
                           State("db1", 2, true, 1));
  ASSERT_TRUE(ki.has_value());
  EXPECT_EQ(ki->info_uid, "info-1");
  EXPECT_EQ(ki->uid, "k1");
  EXPECT_EQ(ki->cluster_uid, "cluster-1");
  EXPECT_EQ(ki->boot_uuid, "boot-1");
  EXPECT_EQ(ki->postgres_binary_version.maj, 15);
  EXPECT_EQ(ki->postgres_binary_version.min, 4);
  ASSERT_TRUE(ki->postgres_state.has_value());
  EXPECT_EQ(ki->postgres_state->uid, "db1");
  EXPECT_EQ(ki->can_be_master, std::optional<bool>(false));
  EXPECT_EQ(ki->can_be_synchronous_replica, std::optional<bool>(true));
  // Unknown binary version and postgres state: zero version, null state (as stolon).
  auto bare = MakeKeeperInfo(id, "info-2", "cluster-1", std::nullopt, std::nullopt);
  ASSERT_TRUE(bare.has_value());
  EXPECT_EQ(bare->postgres_binary_version.maj, 0);
  EXPECT_FALSE(bare->postgres_state.has_value());
}

TEST(DbWakeKeyTest, TheDbAssignedToThisKeeper) {
  cluster::ClusterData cd;
  cluster::DB a;
  a.uid = "dbA";
  a.generation = 7;
  a.spec.keeper_uid = "k1";
  cluster::DB b;
  b.uid = "dbB";
  b.generation = 2;
  b.spec.keeper_uid = "k2";
  cd.dbs["dbA"] = a;
  cd.dbs["dbB"] = b;
  EXPECT_EQ(DbWakeKey(cd, "k1"), "dbA/7");
  EXPECT_EQ(DbWakeKey(cd, "k2"), "dbB/2");
  EXPECT_EQ(DbWakeKey(cd, "k3"), "");
  cd.dbs["dbA"].generation = 8;  // a new spec for k1
  EXPECT_EQ(DbWakeKey(cd, "k1"), "dbA/8");
}

}  // namespace
}  // namespace stolon::keeper
