// End-to-end resync of a db whose WAL went further than the new master's (stolon's
// TestTimelineFork and TestOldMasterRestartPgrewind), each on its own cluster with asynchronous
// replication, one sentinel and one proxy:
//   1. Timeline fork, usePgrewind false, 3 keepers (master, standby0, standby1). standby0 stops;
//      row 2 reaches standby1 only; standby1 and the master stop; standby0 (behind, the only one
//      left) is elected and rows 3 and 4 are written on its new timeline. standby1 and then the
//      old master, started again, are ahead of the new master on timeline 1: the sentinel sees
//      the fork and gives each a new db that resyncs with pg_basebackup. Every node ends with
//      rows 1, 3 and 4 (row 2 is gone), as a standby of standby0, and the proxy routes there.
//   2. Old master rejoins by pg_rewind, usePgrewind true, 2 keepers. kill -9 of the master keeper
//      and its postmaster; the standby is elected; row 2 is written; the old master's keeper,
//      restarted, rewinds its data dir from the new master (no pg_basebackup, the same data
//      directory) and follows it with rows 1 and 2.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "integration/e2e/scenario.h"

namespace stolon::e2e {
namespace {

// Inserts `id` into `table` through the first proxy (a new connection each time).
bool InsertThroughProxy(SentinelTestCluster& c, const std::string& table, int id) {
  auto conn = postgresql::Connection::Connect({{"host", "127.0.0.1"},
                                               {"port", std::to_string(c.proxies()[0]->port())},
                                               {"user", keeper::testing::kSuUser},
                                               {"password", keeper::testing::kSuPassword},
                                               {"dbname", "postgres"},
                                               {"sslmode", "disable"}},
                                              5s);
  return conn.ok() && conn->Exec(fmt::format("insert into {} values ({})", table, id)).ok();
}

// The ids of `table` on keeper `k` as "1,3,4" (sorted), or an error text.
std::string Ids(const TestKeeper& k, const std::string& table) {
  auto v = k.QueryOne(
      fmt::format("select coalesce(string_agg(id::text, ',' order by id), '') from {}", table));
  return v.ok() ? *v : "error: " + std::string(v.status().message());
}

bool WaitIds(const TestKeeper& k, const std::string& table, const std::string& want,
             std::chrono::milliseconds timeout = 30s) {
  return WaitFor([&] { return Ids(k, table) == want; }, timeout, 100ms);
}

// Whether the cluster data has keeper `uid` unhealthy (the sentinel judged it failed).
bool KeeperFailed(SentinelTestCluster& c, const std::string& uid) {
  auto cd = c.Cd();
  if (!cd) return false;
  auto k = cd->keepers.find(uid);
  return k != cd->keepers.end() && !k->second.status.healthy;
}

// The uid of keeper `keeper_uid`'s db in the cluster data ("" when none).
std::string DbOf(SentinelTestCluster& c, const std::string& keeper_uid) {
  auto cd = c.Cd();
  if (!cd) return "";
  for (const auto& [uid, db] : cd->dbs) {
    if (db.spec.keeper_uid == keeper_uid) return uid;
  }
  return "";
}

ino_t Inode(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

// Prints `what` with the seconds since `t0`, to show where a scenario spends its time.
void Mark(const char* scenario, SteadyTime t0, const std::string& what) {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  std::printf("[%s] %6.1fs %s\n", scenario, static_cast<double>(ms) / 1000.0, what.c_str());
  std::fflush(stdout);
}

TEST(E2EResync, TimelineForkResyncsTheStandbyAheadOfTheNewMaster) {
  SentinelTestCluster c("e2efork");
  const SteadyTime t0 = std::chrono::steady_clock::now();
  const std::string master = StartCluster(c, E2ESpec(/*sync=*/false), 3);
  Mark("timeline_fork", t0, "cluster up");
  ASSERT_FALSE(master.empty()) << c.Logs();
  std::vector<std::string> standbys;
  for (const char* k : {"keeper0", "keeper1", "keeper2"}) {
    if (k != master) standbys.push_back(k);
  }
  const std::string standby0 = standbys[0];
  const std::string standby1 = standbys[1];
  const std::string table = "fork";

  {
    auto conn = c.keeper(master).Connect();
    ASSERT_TRUE(conn.ok());
    ASSERT_TRUE(conn->Exec("create table fork (id bigint primary key)").ok());
  }
  ASSERT_TRUE(InsertThroughProxy(c, table, 1));
  ASSERT_TRUE(WaitIds(c.keeper(standby0), table, "1")) << c.Logs();
  ASSERT_TRUE(WaitIds(c.keeper(standby1), table, "1")) << c.Logs();

  // standby0 stops; row 2 reaches standby1 only.
  c.keeper(standby0).Stop();
  ASSERT_TRUE(InsertThroughProxy(c, table, 2));
  ASSERT_TRUE(WaitIds(c.keeper(standby1), table, "1,2")) << c.Logs();
  // The cluster data must know the master's position with row 2 before it goes: the sentinel
  // measures standby0's lag against it.
  auto lsn = c.keeper(master).QueryOne("select (pg_current_wal_lsn() - '0/0')::bigint::text");
  ASSERT_TRUE(lsn.ok());
  const uint64_t row2_end = std::stoull(*lsn);
  ASSERT_TRUE(WaitFor(
      [&] {
        auto cd = c.Cd();
        if (!cd) return false;
        auto m = cd->dbs.find(cd->cluster.status.master);
        return m != cd->dbs.end() && m->second.status.xlog_pos >= row2_end;
      },
      15s))
      << c.Logs();

  // standby1 stops and is judged failed before the master stops, or the sentinel could elect it
  // (the master's db fails at once: its keeper reports postgres down while standby1's keeper is
  // still within failInterval). Both are failed before standby0 is back, the only one left.
  c.keeper(standby1).Stop();
  ASSERT_TRUE(WaitFor([&] { return KeeperFailed(c, standby1); }, 30s)) << c.Logs();
  c.keeper(master).Stop();
  ASSERT_TRUE(WaitFor([&] { return KeeperFailed(c, master); }, 30s)) << c.Logs();
  const std::string old_db1 = DbOf(c, standby1);
  const int basebackups1 = c.keeper(standby1).CountInLog("syncing from followed db");

  Mark("timeline_fork", t0, "master and standby1 failed; starting standby0");
  c.keeper(standby0).Start();
  ASSERT_TRUE(WaitFor([&] { return CdMasterKeeper(c) == standby0; }, 60s)) << c.Logs();
  EXPECT_EQ(c.sentinels()[0]->CountInLog("on keeper " + standby1 + " as the new master"), 0)
      << c.Logs();
  ASSERT_TRUE(c.WaitProxyRoutesTo(standby0, 60s)) << c.ThroughProxy() << c.Logs();
  ASSERT_TRUE(InsertThroughProxy(c, table, 3));
  ASSERT_TRUE(InsertThroughProxy(c, table, 4));
  Mark("timeline_fork", t0, "standby0 elected, rows 3 and 4 written");
  EXPECT_EQ(Ids(c.keeper(standby0), table), "1,3,4");
  // Promoted: it writes on timeline 2 (its control file may still say 1 until a checkpoint).
  EXPECT_EQ(c.keeper(standby0)
                .QueryOne("select substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)")
                .value_or("?"),
            "00000002");

  // standby1, ahead of the new master on timeline 1, starts: the sentinel sees the fork and
  // replaces its db by one that resyncs from standby0.
  c.keeper(standby1).Start();
  ASSERT_TRUE(WaitRejoinedAsStandby(c, standby1, standby0, table, 90s)) << c.Logs();
  Mark("timeline_fork", t0, "standby1 resynced");
  EXPECT_EQ(Ids(c.keeper(standby1), table), "1,3,4");
  EXPECT_NE(DbOf(c, standby1), old_db1) << "standby1 kept its forked db";
  EXPECT_GT(c.keeper(standby1).CountInLog("syncing from followed db"), basebackups1)
      << c.keeper(standby1).Log();
  const std::string fork_line = "on keeper " + standby1 + ": it is on a different timeline branch";
  EXPECT_TRUE(c.sentinels()[0]->LogContains(fork_line)) << c.Logs();
  std::printf("[timeline_fork] sentinel: %s\n",
              LastLineWith(c.sentinels()[0]->Log(), fork_line).c_str());
  std::fflush(stdout);

  // The old master, also on the forked timeline 1 with row 2, rejoins the same way.
  c.keeper(master).Start();
  ASSERT_TRUE(WaitRejoinedAsStandby(c, master, standby0, table, 90s)) << c.Logs();
  Mark("timeline_fork", t0, "old master resynced");
  ASSERT_TRUE(WaitAllConverged(c, 3, 30s)) << c.Logs();
  auto cd = c.Cd();
  ASSERT_TRUE(cd.has_value());
  for (const auto& [uid, db] : cd->dbs) {
    const bool is_master = db.spec.keeper_uid == standby0;
    EXPECT_EQ(db.spec.role, is_master ? cluster::kRoleMaster : cluster::kRoleStandby) << uid;
    EXPECT_TRUE(db.status.healthy) << uid;
    EXPECT_EQ(db.status.current_generation, db.generation) << uid;
  }
  for (const std::string& k : {master, standby0, standby1}) {
    EXPECT_EQ(Ids(c.keeper(k), table), "1,3,4") << k;
  }
  EXPECT_EQ(CtlStatusMaster(c), standby0);
  EXPECT_TRUE(c.WaitProxyRoutesTo(standby0, 10s)) << c.ThroughProxy();
}

TEST(E2EResync, OldMasterRejoinsByPgRewind) {
  SentinelTestCluster c("e2erewind");
  cluster::ClusterSpec spec = E2ESpec(/*sync=*/false);
  spec.use_pg_rewind = true;
  const SteadyTime t0 = std::chrono::steady_clock::now();
  const std::string old_master = StartCluster(c, spec, 2);
  Mark("old_master_rewind", t0, "cluster up");
  ASSERT_FALSE(old_master.empty()) << c.Logs();
  const std::string standby = old_master == "keeper0" ? "keeper1" : "keeper0";
  const std::string table = "rewind";
  {
    auto conn = c.keeper(old_master).Connect();
    ASSERT_TRUE(conn.ok());
    ASSERT_TRUE(conn->Exec("create table rewind (id bigint primary key)").ok());
    // pg_rewind needs wal_log_hints (set by usePgrewind) or data checksums.
    auto hints = conn->Query("show wal_log_hints");
    ASSERT_TRUE(hints.ok() && hints->rows.size() == 1 && hints->rows[0][0]);
    EXPECT_EQ(*hints->rows[0][0], "on");
  }
  ASSERT_TRUE(InsertThroughProxy(c, table, 1));
  ASSERT_TRUE(WaitIds(c.keeper(standby), table, "1")) << c.Logs();

  TestKeeper& old = c.keeper(old_master);
  const ino_t pgdata_inode = Inode(old.pgdata());
  ASSERT_NE(pgdata_inode, 0u);
  const int rewinds = old.CountInLog("syncing using pg_rewind");
  const int basebackups = old.CountInLog("syncing from followed db");

  c.KillKeeperAndPostgres(old_master);
  ASSERT_TRUE(WaitFor([&] { return CdMasterKeeper(c) == standby; }, 60s)) << c.Logs();
  ASSERT_TRUE(c.WaitProxyRoutesTo(standby, 60s)) << c.ThroughProxy() << c.Logs();
  ASSERT_TRUE(InsertThroughProxy(c, table, 2));
  Mark("old_master_rewind", t0, "standby elected, row 2 written");

  old.Start();
  ASSERT_TRUE(WaitRejoinedAsStandby(c, old_master, standby, table, 90s)) << c.Logs();
  Mark("old_master_rewind", t0, "old master rejoined");
  EXPECT_EQ(Ids(old, table), "1,2");
  EXPECT_EQ(old.CountInLog("syncing using pg_rewind"), rewinds + 1) << old.Log();
  // pg_rewind rewound (it says "no rewind required" when it sees no fork).
  EXPECT_TRUE(old.LogContains("pg_rewind finished\t{\"output\": \"pg_rewind: Done!\"}"))
      << old.Log();
  EXPECT_FALSE(old.LogContains("error syncing with pg_rewind")) << old.Log();
  EXPECT_FALSE(old.LogContains("doing a full resync")) << old.Log();
  EXPECT_EQ(old.CountInLog("syncing from followed db"), basebackups)
      << "the old master was copied with pg_basebackup\n"
      << old.Log();
  EXPECT_EQ(Inode(old.pgdata()), pgdata_inode) << "the old master's data directory was replaced";
  std::printf("[old_master_rewind] keeper: %s\n",
              LastLineWith(old.Log(), "syncing using pg_rewind").c_str());
  std::fflush(stdout);

  ASSERT_TRUE(WaitAllConverged(c, 2, 30s)) << c.Logs();
  EXPECT_EQ(CdMasterKeeper(c), standby);
  EXPECT_EQ(CtlStatusMaster(c), standby);
  EXPECT_TRUE(c.WaitProxyRoutesTo(standby, 10s)) << c.ThroughProxy();
  EXPECT_EQ(Ids(c.keeper(standby), table), "1,2");
}

}  // namespace
}  // namespace stolon::e2e
