// Sentinel integration: kill -9 of the master keeper and its postgres; the standby is elected
// and promoted; the time from the kill to a writable new master is measured (3 rounds); the old
// master's keeper, restarted, comes back as a standby through a resync and has every row.
// Every program serves --metrics-listen-address: /metrics parses strictly as Prometheus text and
// follows the failovers (the sentinel's failovers counter, the keepers' roles and standby lag).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <numeric>

#include "integration/sentinel/harness.h"
#include "support/prometheus.h"

namespace stolon::sentinel::testing {
namespace {

using stolon::testing::HttpGet;
using stolon::testing::PromSamples;
using stolon::testing::WaitFor;

// GET /metrics on `port`, checked strictly; empty (with a test failure) when it does not parse.
PromSamples Scrape(int port) {
  auto r = HttpGet(port, "/metrics");
  EXPECT_EQ(r.status, 200) << r.error;
  std::string err;
  auto samples = stolon::testing::ParsePrometheusText(r.body, &err);
  EXPECT_TRUE(samples.has_value()) << err << "\n" << r.body;
  return samples.value_or(PromSamples{});
}

std::string MetricsFlag(int port) {
  return "--metrics-listen-address=127.0.0.1:" + std::to_string(port);
}

TEST(SentinelFailover, KillMasterPromotesStandbyAndOldMasterResyncs) {
  SentinelTestCluster c("failover");
  ASSERT_TRUE(c.Init(FastSpec()).ok());
  std::map<std::string, int> keeper_metrics = {{"keeper0", stolon::testing::PickFreePort()},
                                               {"keeper1", stolon::testing::PickFreePort()}};
  const int sentinel_metrics = stolon::testing::PickFreePort();
  c.AddKeeper("keeper0", {MetricsFlag(keeper_metrics["keeper0"])}).Start();
  c.AddKeeper("keeper1", {MetricsFlag(keeper_metrics["keeper1"])}).Start();
  c.AddSentinel({MetricsFlag(sentinel_metrics)}).Start();
  std::string master = c.WaitWritableMaster(120s);
  ASSERT_FALSE(master.empty()) << c.Logs();
  // Electing the first master is not a failover.
  const double failovers0 = Scrape(sentinel_metrics)["stolon_sentinel_failovers_total"];
  EXPECT_EQ(failovers0, 0);
  {
    auto conn = c.keeper(master).Connect();
    ASSERT_TRUE(conn.ok()) << conn.status();
    ASSERT_TRUE(conn->Exec("create table t (v text)").ok());
  }
  std::vector<std::string> rows;
  std::vector<double> seconds;
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const std::string standby = master == "keeper0" ? "keeper1" : "keeper0";
    ASSERT_TRUE(c.WaitStreaming(master, 1, 120s)) << c.Logs();
    const std::string row = "r" + std::to_string(round);
    {
      auto conn = c.keeper(master).Connect();
      ASSERT_TRUE(conn.ok());
      ASSERT_TRUE(conn->Exec("insert into t values ($1)", {row}).ok());
    }
    rows.push_back(row);
    std::string want;
    for (const auto& r : rows) want += (want.empty() ? "" : ",") + r;
    // Async replication: wait until the standby has it before the kill.
    ASSERT_TRUE(WaitFor([&] { return Rows(c.keeper(standby)) == want; }, 20s))
        << Rows(c.keeper(standby));

    // Before the kill: the master keeper reports its role and its standby's lag; the sentinel
    // leads and sees both keepers healthy.
    PromSamples km;
    const std::string standby_db = [&] {
      auto cd = c.Cd();
      if (!cd) return std::string();
      for (const auto& [uid, db] : cd->dbs) {
        if (db.spec.keeper_uid == standby) return uid;
      }
      return std::string();
    }();
    const std::string lag_key =
        "stolon_keeper_standby_replication_lag_bytes{standby=\"" + standby_db + "\"}";
    EXPECT_TRUE(
        WaitFor([&] { return (km = Scrape(keeper_metrics[master])).count(lag_key) == 1; }, 10s))
        << lag_key;
    EXPECT_EQ(km["stolon_keeper_local_role{role=\"master\"}"], 1);
    EXPECT_EQ(km["stolon_keeper_target_role{role=\"master\"}"], 1);
    EXPECT_EQ(km["stolon_keeper_postgres_up"], 1);
    EXPECT_GT(km["stolon_keeper_wal_position_bytes"], 0);
    EXPECT_EQ(km["stolon_keeper_db_generation_applied"], km["stolon_keeper_db_generation_wanted"]);
    EXPECT_EQ(km["stolon_cluster_identifier{cluster_name=\"failover\",component=\"keeper\"}"], 1);
    EXPECT_EQ(HttpGet(keeper_metrics[master], "/health").status, 200);
    PromSamples sm;
    EXPECT_TRUE(WaitFor(
        [&] { return (sm = Scrape(sentinel_metrics))["stolon_sentinel_keepers_healthy"] == 2; },
        10s));
    EXPECT_EQ(sm["stolon_sentinel_keepers"], 2);
    EXPECT_EQ(sm["stolon_sentinel_is_leader"], 1);
    EXPECT_EQ(sm["stolon_sentinel_failovers_total"], failovers0 + round);
    EXPECT_EQ(HttpGet(sentinel_metrics, "/health").status, 200);

    const auto t0 = std::chrono::steady_clock::now();
    c.KillKeeperAndPostgres(master);
    const std::string new_master = c.WaitWritableMaster(40s, master);
    const double took =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_EQ(new_master, standby) << c.Logs();
    seconds.push_back(took);
    std::printf("failover round %d: kill -9 of %s -> %s writable in %.2f s\n", round,
                master.c_str(), new_master.c_str(), took);
    std::fflush(stdout);
    EXPECT_EQ(Rows(c.keeper(new_master)), want);
    // The failover is counted once; the new master's keeper reports its new role.
    EXPECT_EQ(Scrape(sentinel_metrics)["stolon_sentinel_failovers_total"], failovers0 + round + 1);
    EXPECT_TRUE(WaitFor(
        [&] {
          return Scrape(keeper_metrics[new_master])["stolon_keeper_local_role{role=\"master\"}"] ==
                 1;
        },
        10s));

    // The old master's keeper restarts: it becomes a standby again (a resync) with every row.
    c.keeper(master).Start();
    ASSERT_TRUE(WaitFor(
        [&] {
          auto rec = c.keeper(master).QueryOne("select pg_is_in_recovery()::text");
          return rec.ok() && *rec == "true" && Rows(c.keeper(master)) == want;
        },
        120s))
        << Rows(c.keeper(master)) << c.Logs();
    master = new_master;
  }
  const TestSentinel& s = *c.sentinels()[0];
  EXPECT_TRUE(s.LogContains("as the new master")) << s.Log();
  EXPECT_TRUE(s.LogContains("failed: no fresh info")) << s.Log();
  const double worst = *std::max_element(seconds.begin(), seconds.end());
  const double mean = std::accumulate(seconds.begin(), seconds.end(), 0.0) / seconds.size();
  std::printf("failover kill -9 -> writable: mean %.2f s, worst %.2f s over %zu rounds\n", mean,
              worst, seconds.size());
  RecordProperty("failover_mean_ms", static_cast<int>(mean * 1000));
  RecordProperty("failover_worst_ms", static_cast<int>(worst * 1000));
  // failInterval 3s + the staleness detection (sleepInterval) + a keeper pass and the promotion.
  EXPECT_LT(worst, 10.0);
}

}  // namespace
}  // namespace stolon::sentinel::testing
