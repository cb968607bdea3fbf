// End-to-end HA with asynchronous replication, 2 keepers, one sentinel, one proxy, on one cluster:
//   1. kill -9 of the master keeper and its postmaster under the continuous writer: the standby is
//      elected, the proxy routes to it, nothing is acknowledged by the old master after the new
//      one acknowledged a write, every write the new master acknowledged is there (writes acked
//      only by the old master may be lost: async, counted and reported); the old master, restarted,
//      rejoins as a standby.
//   2. Failover refused: the standby's WAL receiver is frozen (SIGSTOP) so it lags by more than
//      maxStandbyLag; kill -9 of the master: across several sentinel passes nobody is promoted,
//      the sentinel logs why, stolonctl still reports the old master; the proxy routes nowhere.
//      The old master's keeper, restarted, brings the cluster back with every row.
#include <gtest/gtest.h>
#include <signal.h>

#include "integration/e2e/scenario.h"

namespace stolon::e2e {
namespace {

TEST(E2EAsync, KillMasterUnderWritesThenFailoverRefusedWhenStandbyLags) {
  SentinelTestCluster c("e2easync");
  const std::string first = StartCluster(c, E2ESpec(/*sync=*/false), 2);
  ASSERT_FALSE(first.empty()) << c.Logs();
  EXPECT_EQ(CtlStatusMaster(c), first);

  // ---- 1. kill -9 of the master under writes.
  std::string master;
  {
    SCOPED_TRACE("kill -9");
    const std::string old_master = first;
    const std::string want = first == "keeper0" ? "keeper1" : "keeper0";
    ASSERT_NO_FATAL_FAILURE(
        KillMasterUnderWrites(c, old_master, want, "writes_kill", "async_kill9", /*sync=*/false));
    master = want;
  }

  // ---- 2. The only standby lags beyond maxStandbyLag (1 MiB): no failover.
  {
    SCOPED_TRACE("too much lag");
    const std::string standby = master == "keeper0" ? "keeper1" : "keeper0";
    ASSERT_TRUE(c.WaitStreaming(master, 1, 60s)) << c.Logs();
    // The standby must be a good candidate (healthy, converged) but for its lag.
    ASSERT_TRUE(WaitAllConverged(c, 2, 60s)) << c.Logs();
    auto rx = c.keeper(standby).QueryOne("select pid from pg_stat_wal_receiver");
    ASSERT_TRUE(rx.ok() && *rx != "<null>") << (rx.ok() ? *rx : rx.status().ToString());
    const pid_t receiver = static_cast<pid_t>(std::stol(*rx));
    ASSERT_EQ(::kill(receiver, SIGSTOP), 0);
    // Resumed whatever happens: a stopped child would hold up the postmaster's shutdown.
    struct Resume {
      pid_t pid;
      ~Resume() { ::kill(pid, SIGCONT); }
    } resume{receiver};
    uint64_t big_end = 0;
    {
      auto conn = c.keeper(master).Connect();
      ASSERT_TRUE(conn.ok());
      conn->set_timeout(60s);
      ASSERT_TRUE(conn->Exec("create table big as select g, repeat('x', 1000) as pad "
                             "from generate_series(1, 4000) g")
                      .ok());
      auto lsn = conn->Query("select (pg_current_wal_lsn() - '0/0')::bigint::text");
      ASSERT_TRUE(lsn.ok() && lsn->rows.size() == 1 && lsn->rows[0][0]);
      big_end = std::stoull(*lsn->rows[0][0]);
    }
    // The sentinel sees the lag in the positions the keepers report: the master's includes the
    // big write, the (healthy, converged) standby's is more than 2 MiB behind it.
    ASSERT_TRUE(WaitFor(
        [&] {
          auto cd = c.Cd();
          if (!cd) return false;
          const cluster::DB* m = nullptr;
          const cluster::DB* s = nullptr;
          for (const auto& [uid, db] : cd->dbs) {
            if (db.spec.keeper_uid == master) m = &db;
            if (db.spec.keeper_uid == standby) s = &db;
          }
          return m && s && s->status.healthy && s->status.xlog_pos > 0 &&
                 s->status.current_generation == s->generation && m->status.xlog_pos >= big_end &&
                 m->status.xlog_pos > s->status.xlog_pos + (2u << 20);
        },
        30s))
        << c.Logs();
    const std::string master_db = c.Cd()->cluster.status.master;

    c.KillKeeperAndPostgres(master);
    // The sentinel judges the master failed and refuses the standby, saying why ...
    ASSERT_TRUE(WaitFor(
        [&] {
          return c.sentinels()[0]->LogContains("on keeper " + standby + " lag ") &&
                 c.sentinels()[0]->LogContains("no eligible masters");
        },
        30s))
        << c.Logs();
    // ... and keeps refusing for 5 more passes (each pass writes the cluster data).
    auto rev0 = c.store().GetClusterData();
    ASSERT_TRUE(rev0.ok() && rev0->has_value());
    const int64_t base = (*rev0)->revision;
    ASSERT_TRUE(WaitFor(
        [&] {
          auto cd = c.store().GetClusterData();
          return cd.ok() && cd->has_value() && (*cd)->revision >= base + 5;
        },
        30s));
    auto cd = c.Cd();
    ASSERT_TRUE(cd.has_value());
    EXPECT_EQ(cd->cluster.status.master, master_db) << "a lagging standby was elected";
    EXPECT_EQ(CtlStatusMaster(c), master);
    auto rec = c.keeper(standby).QueryOne("select pg_is_in_recovery()::text");
    EXPECT_TRUE(rec.ok() && *rec == "true") << "the lagging standby was promoted";
    EXPECT_EQ(c.ThroughProxy(), "") << "the proxy routes somewhere with no live master";
    std::printf("[async_lag] sentinel: %s\n",
                LastLineWith(c.sentinels()[0]->Log(), "on keeper " + standby + " lag ").c_str());
    std::fflush(stdout);

    // Recovery: the receiver resumes, the old master's keeper restarts; it is the master again and
    // the standby catches up with every row.
    ::kill(receiver, SIGCONT);
    c.keeper(master).Start();
    ASSERT_TRUE(c.WaitProxyRoutesTo(master, 90s)) << c.Logs();
    EXPECT_EQ(CdMasterKeeper(c), master);
    ASSERT_TRUE(WaitFor(
        [&] {
          auto n = c.keeper(standby).QueryOne("select count(*) from big");
          return n.ok() && *n == "4000";
        },
        90s))
        << c.Logs();
  }
}

}  // namespace
}  // namespace stolon::e2e
