// End-to-end HA with synchronousReplication (minSynchronousStandbys 1), 3 keepers, one
// sentinel, one proxy and a continuous writer through the proxy (2 clients, one INSERT every
// 20 ms each). Two faults in sequence on the same cluster, each on the master of the moment:
//   1. kill -9 of the master keeper and its postmaster; the old master, restarted, rejoins as a
//      standby;
//   2. SIGSTOP of the master keeper and its postmaster (a partition: its backends keep running);
//      a connection opened through the proxy before the fault is closed; after SIGCONT the old
//      master, whose WAL may have forked, is resynced as a standby.
// Each asserts: the synchronous standby is elected (cluster data and stolonctl status), the proxy
// routes new connections to it as a primary, no acknowledged write is lost, and nothing is
// acknowledged by the old master after the first write the new master acknowledged.
#include <gtest/gtest.h>

#include "integration/e2e/scenario.h"

namespace stolon::e2e {
namespace {

TEST(E2ESync, KillThenFreezeMasterUnderContinuousWrites) {
  SentinelTestCluster c("e2esync");
  const std::string first = StartCluster(c, E2ESpec(/*sync=*/true), 3);
  ASSERT_FALSE(first.empty()) << c.Logs();
  EXPECT_EQ(CtlStatusMaster(c), first);

  // ---- 1. kill -9 of the master keeper and its postgres.
  {
    SCOPED_TRACE("kill -9");
    const std::string old_master = first;
    const std::string want = WaitSyncStandby(c, 60s);
    ASSERT_FALSE(want.empty()) << c.Logs();
    ASSERT_NO_FATAL_FAILURE(
        KillMasterUnderWrites(c, old_master, want, "writes_kill", "sync_kill9", /*sync=*/true));
  }

  // ---- 2. SIGSTOP of the (new) master keeper and its postmaster.
  {
    SCOPED_TRACE("SIGSTOP");
    const std::string old_master = CdMasterKeeper(c);
    ASSERT_FALSE(old_master.empty());
    ASSERT_TRUE(c.WaitStreaming(old_master, 2, 120s)) << c.Logs();
    ASSERT_TRUE(WaitAllConverged(c, 3, 60s)) << c.Logs();
    const std::string want = WaitSyncStandby(c, 90s);
    ASSERT_FALSE(want.empty()) << c.Logs();
    ASSERT_TRUE(c.WaitProxyRoutesTo(old_master, 30s)) << c.Logs();
    // A session opened through the proxy before the fault.
    auto held = postgresql::Connection::Connect({{"host", "127.0.0.1"},
                                                 {"port", std::to_string(c.proxies()[0]->port())},
                                                 {"user", keeper::testing::kSuUser},
                                                 {"password", keeper::testing::kSuPassword},
                                                 {"dbname", "postgres"},
                                                 {"sslmode", "disable"}},
                                                5s);
    ASSERT_TRUE(held.ok()) << held.status();
    ASSERT_TRUE(held->Query("select 1").ok());
    auto w = StartWriter(c, "writes_stop");
    ASSERT_TRUE(w) << c.Logs();
    ASSERT_TRUE(WaitAcks(*w, c.keeper(old_master).pg_port(), 20, 30s)) << c.Logs();

    const SteadyTime fault = std::chrono::steady_clock::now();
    c.FreezeKeeperAndPostgres(old_master);
    ASSERT_TRUE(WaitFor([&] { return CdMasterKeeper(c) == want; }, 60s)) << c.Logs();
    ASSERT_TRUE(c.WaitProxyRoutesTo(want, 60s)) << c.ThroughProxy() << c.Logs();
    ASSERT_TRUE(WaitAcks(*w, c.keeper(want).pg_port(), 10, 90s)) << c.Logs();
    CheckFailoverWrites(c, *w, fault, old_master, want, "writes_stop", "sync_sigstop",
                        /*sync=*/true);
    EXPECT_EQ(CtlStatusMaster(c), want);
    // The proxy closed the session it had opened to the old master.
    held->set_timeout(5s);
    EXPECT_FALSE(held->Query("select 1").ok()) << "a pre-fault proxy connection is still open";

    c.ThawKeeperAndPostgres(old_master);
    ASSERT_TRUE(WaitRejoinedAsStandby(c, old_master, want, "writes_stop", 150s)) << c.Logs();
    // Every keeper is healthy with a healthy db again.
    auto st = CtlStatus(c);
    ASSERT_TRUE(st.has_value());
    for (const auto& k : (*st)["keepers"]) {
      EXPECT_TRUE(k.value("healthy", false)) << k.dump();
    }
  }
}

}  // namespace
}  // namespace stolon::e2e
