// Sentinel integration with synchronousReplication: a row committed on the master before a
// kill -9 is on the new master after the failover (only a synchronous standby is elected); the
// old master rejoins as the new synchronous standby and writes are acknowledged again.
#include <gtest/gtest.h>

#include <cstdio>

#include "integration/sentinel/harness.h"

namespace stolon::sentinel::testing {
namespace {

using stolon::testing::WaitFor;

TEST(SentinelSyncFailover, CommittedRowSurvivesFailover) {
  SentinelTestCluster c("syncfo");
  cluster::ClusterSpec spec = FastSpec();
  spec.synchronous_replication = true;
  ASSERT_TRUE(c.Init(spec).ok());
  c.AddKeeper("keeper0").Start();
  c.AddKeeper("keeper1").Start();
  c.AddSentinel().Start();
  // Writable only once the standby is the synchronous standby (minSynchronousStandbys 1).
  const std::string master = c.WaitWritableMaster(180s);
  ASSERT_FALSE(master.empty()) << c.Logs();
  const std::string standby = master == "keeper0" ? "keeper1" : "keeper0";
  // The sentinel elects only a standby that the master *reported* in sync and that the spec
  // lists: wait until the cluster data says so (postgres alone showing it is not enough).
  ASSERT_TRUE(WaitFor(
      [&] {
        auto v = c.keeper(master).QueryOne(
            "select count(*) from pg_stat_replication where sync_state = 'sync'");
        auto cd = c.Cd();
        if (!v.ok() || *v != "1" || !cd) return false;
        const cluster::DB& m = cd->dbs.at(cd->cluster.status.master);
        return m.status.synchronous_standbys.size() == 1 &&
               m.spec.synchronous_standbys == m.status.synchronous_standbys &&
               cd->dbs.at(m.status.synchronous_standbys[0]).spec.keeper_uid == standby;
      },
      60s))
      << c.Logs();
  {
    auto conn = c.keeper(master).Connect();
    ASSERT_TRUE(conn.ok());
    ASSERT_TRUE(conn->Exec("create table t (v text)").ok());
    // Returns once the synchronous standby has it: the commit is acknowledged.
    ASSERT_TRUE(conn->Exec("insert into t values ('acked')").ok());
  }

  const auto t0 = std::chrono::steady_clock::now();
  c.KillKeeperAndPostgres(master);
  // The new master does not accept commits until it has a synchronous standby again (it lists
  // the old master until reconfigured): wait for the promotion itself.
  ASSERT_TRUE(WaitFor(
      [&] {
        auto cd = c.Cd();
        if (!cd) return false;
        auto db = cd->dbs.find(cd->cluster.status.master);
        if (db == cd->dbs.end() || db->second.spec.keeper_uid != standby) return false;
        auto rec = c.keeper(standby).QueryOne("select pg_is_in_recovery()::text");
        return rec.ok() && *rec == "false";
      },
      40s))
      << c.Logs();
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("sync failover: kill -9 of %s -> %s promoted in %.2f s\n", master.c_str(),
              standby.c_str(), took);
  std::fflush(stdout);
  EXPECT_EQ(Rows(c.keeper(standby)), "acked") << "an acknowledged commit is never lost";

  // The old master rejoins as a standby; once it is the synchronous standby, commits work again.
  c.keeper(master).Start();
  ASSERT_TRUE(WaitFor(
      [&] {
        auto rec = c.keeper(master).QueryOne("select pg_is_in_recovery()::text");
        return rec.ok() && *rec == "true" && Rows(c.keeper(master)) == "acked";
      },
      120s))
      << c.Logs();
  ASSERT_TRUE(WaitFor([&] { return c.Writable(standby); }, 60s)) << c.Logs();
  {
    auto conn = c.keeper(standby).Connect();
    ASSERT_TRUE(conn.ok());
    ASSERT_TRUE(conn->Exec("insert into t values ('after')").ok());
  }
  EXPECT_TRUE(WaitFor([&] { return Rows(c.keeper(master)) == "acked,after"; }, 20s));
}

}  // namespace
}  // namespace stolon::sentinel::testing
