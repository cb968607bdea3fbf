// End-to-end: synchronous replication with two keepers. When the master dies the standby is
// elected, but with minSynchronousStandbys 1 and no other standby it must acknowledge nothing
// until a synchronous standby is back: not even in the moment between its promotion and the
// reload of its synchronous_standby_names (the keeper applies them before promoting). The
// continuous writer keeps trying through the proxy the whole time.
#include <gtest/gtest.h>

#include <thread>

#include "integration/e2e/scenario.h"

namespace stolon::e2e {
namespace {

TEST(E2ESyncAlone, NewMasterAcknowledgesNothingUntilASynchronousStandbyIsBack) {
  SentinelTestCluster c("e2esyncalone");
  const std::string first = StartCluster(c, E2ESpec(/*sync=*/true), 2);
  ASSERT_FALSE(first.empty()) << c.Logs();
  const std::string second = first == "keeper0" ? "keeper1" : "keeper0";
  ASSERT_EQ(WaitSyncStandby(c, 60s), second) << c.Logs();

  auto w = StartWriter(c, "writes_alone");
  ASSERT_TRUE(w) << c.Logs();
  ASSERT_TRUE(WaitAcks(*w, c.keeper(first).pg_port(), 20, 30s)) << c.Logs();
  c.KillKeeperAndPostgres(first);
  ASSERT_TRUE(WaitFor([&] { return CdMasterKeeper(c) == second; }, 60s)) << c.Logs();
  ASSERT_TRUE(c.WaitProxyRoutesTo(second, 60s)) << c.ThroughProxy() << c.Logs();
  // An observation window, not a wait for a condition: the writer sends every 20 ms on two
  // connections; the new master has no standby to make any of those commits durable twice.
  std::this_thread::sleep_for(5s);
  EXPECT_EQ(w->Acked(c.keeper(second).pg_port()), 0)
      << "the new master acknowledged writes while it had no synchronous standby";

  // The old master comes back as a standby of the new one, becomes synchronous, writes resume.
  c.keeper(first).Start();
  ASSERT_TRUE(WaitAcks(*w, c.keeper(second).pg_port(), 10, 120s)) << c.Logs();
  w->Stop();
}

}  // namespace
}  // namespace stolon::e2e
