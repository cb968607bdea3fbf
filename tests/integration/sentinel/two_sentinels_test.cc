// Sentinel integration with two sentinels: only the leader writes; when the leader stops
// (SIGTERM revokes its election lease) the other takes over within a few seconds and handles a
// master failover; after a kill -9 of the leader the other takes over once its session expires
// (the session TTL is half of failInterval, at least 5s: 5s here).
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>

#include "integration/sentinel/harness.h"

namespace stolon::sentinel::testing {
namespace {

using stolon::testing::WaitFor;

TEST(SentinelTwoSentinels, OtherSentinelTakesOverAndFailsOver) {
  SentinelTestCluster c("twosent");
  ASSERT_TRUE(c.Init(FastSpec()).ok());
  c.AddKeeper("keeper0").Start();
  c.AddKeeper("keeper1").Start();
  TestSentinel& a = c.AddSentinel();
  TestSentinel& b = c.AddSentinel();
  a.Start();
  b.Start();
  const std::string master = c.WaitWritableMaster(120s);
  ASSERT_FALSE(master.empty()) << c.Logs();
  const std::string standby = master == "keeper0" ? "keeper1" : "keeper0";
  ASSERT_TRUE(c.WaitStreaming(master, 1, 120s)) << c.Logs();

  // Which one leads?
  std::string leader_uid;
  ASSERT_TRUE(WaitFor(
      [&] {
        auto l = c.store().GetSentinelLeader();
        if (l.ok()) leader_uid = *l;
        return l.ok();
      },
      10s));
  TestSentinel& leader = a.Uid() == leader_uid ? a : b;
  TestSentinel& follower = a.Uid() == leader_uid ? b : a;
  ASSERT_EQ(leader.Uid(), leader_uid);
  EXPECT_TRUE(follower.LogContains("not the leader: watching only")) << follower.Log();
  EXPECT_FALSE(follower.LogContains("initializing cluster: new db")) << "only the leader decides";

  const auto t0 = std::chrono::steady_clock::now();
  int status = leader.Stop(SIGTERM);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  ASSERT_TRUE(WaitFor([&] { return follower.LogContains("sentinel leadership acquired"); }, 10s))
      << follower.Log();
  std::printf("sentinel takeover after SIGTERM of the leader: %.2f s\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());

  {
    auto conn = c.keeper(master).Connect();
    ASSERT_TRUE(conn.ok());
    ASSERT_TRUE(conn->Exec("create table t (v text)").ok());
    ASSERT_TRUE(conn->Exec("insert into t values ('x')").ok());
  }
  ASSERT_TRUE(WaitFor([&] { return Rows(c.keeper(standby)) == "x"; }, 20s));
  // The new leader's first check makes no judgement; a kill right away still fails over.
  const auto t1 = std::chrono::steady_clock::now();
  c.KillKeeperAndPostgres(master);
  const std::string new_master = c.WaitWritableMaster(40s, master);
  ASSERT_EQ(new_master, standby) << c.Logs();
  std::printf("failover by the new leader: %.2f s\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count());
  EXPECT_EQ(Rows(c.keeper(new_master)), "x");
  EXPECT_TRUE(follower.LogContains("as the new master")) << follower.Log();

  // The stopped sentinel comes back (a new uid) and follows. A kill -9 of the current leader
  // cannot revoke its election key: the other takes over when the session TTL expires, 5s for
  // this failInterval (3s), and acts within a sleepInterval more.
  const std::string old_uid = leader.Uid();
  leader.Start();
  ASSERT_TRUE(WaitFor(
      [&] {
        auto infos = c.store().GetSentinelsInfo();
        if (!infos.ok() || leader.Uid() == old_uid) return false;
        for (const auto& si : *infos) {
          if (si.uid == leader.Uid()) return true;
        }
        return false;
      },
      20s))
      << leader.Log();
  const auto t2 = std::chrono::steady_clock::now();
  follower.Kill();
  ASSERT_TRUE(WaitFor(
      [&] {
        auto l = c.store().GetSentinelLeader();
        return l.ok() && *l == leader.Uid();
      },
      9s))
      << leader.Log();
  EXPECT_TRUE(leader.LogContains(R"("sessionTTL": "5s")")) << leader.Log();
  std::printf("sentinel takeover after kill -9 of the leader: %.2f s (session TTL 5s)\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t2).count());
  // It decides again: the cluster data is rewritten by it.
  auto before = c.store().GetClusterData();
  ASSERT_TRUE(before.ok() && before->has_value());
  EXPECT_TRUE(WaitFor(
      [&] {
        auto now = c.store().GetClusterData();
        return now.ok() && now->has_value() && (*now)->revision > (*before)->revision;
      },
      3s));
}

}  // namespace
}  // namespace stolon::sentinel::testing
