#include "keeper/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/prometheus.h"

namespace stolon::keeper {
namespace {

using ::testing::HasSubstr;

stolon::testing::PromSamples Scrape(const MetricsRegistry& r) {
  std::string err;
  auto s = stolon::testing::ParsePrometheusText(r.Render(), &err);
  EXPECT_TRUE(s.has_value()) << err << "\n" << r.Render();
  return s.value_or(stolon::testing::PromSamples{});
}

TEST(KeeperMetrics, RendersStolonsAndOurMetrics) {
  SharedState shared;
  MetricsRegistry registry;
  KeeperMetrics metrics(registry, "c1", shared);
  auto m = Scrape(registry);
  EXPECT_EQ(m["stolon_cluster_identifier{cluster_name=\"c1\",component=\"keeper\"}"], 1);
  for (const char* role : {"undefined", "master", "standby"}) {
    EXPECT_EQ(m.count(std::string("stolon_keeper_local_role{role=\"") + role + "\"}"), 1u);
    EXPECT_EQ(m[std::string("stolon_keeper_target_role{role=\"") + role + "\"}"], 0);
  }
  EXPECT_EQ(m["stolon_keeper_postgres_up"], 0);
  EXPECT_EQ(m["stolon_keeper_sleep_interval"], 5);

  shared.UpdatePassReport([](PassReport& p) {
    p.passes = 4;
    p.failed_passes = 1;
    p.target_role = "master";
    p.local_role = "standby";
    p.wanted_generation = 7;
    p.needs_restart = true;
    p.last_success_at = WallTime(std::chrono::seconds(1700000000));
  });
  shared.set_db_state(DBLocalState{"db1", 6, false, std::nullopt});
  cluster::PostgresState pg;
  pg.healthy = true;
  pg.xlog_pos = 123456;
  pg.timeline_id = 2;
  shared.set_pg_state(pg);
  metrics.SetStandbyLag({{"db2", 4096}, {"db3", 0}});
  metrics.SetShutdown(WallTime(std::chrono::seconds(1700000100)));
  m = Scrape(registry);
  EXPECT_EQ(m["stolon_keeper_target_role{role=\"master\"}"], 1);
  EXPECT_EQ(m["stolon_keeper_target_role{role=\"standby\"}"], 0);
  EXPECT_EQ(m["stolon_keeper_local_role{role=\"standby\"}"], 1);
  EXPECT_EQ(m["stolon_keeper_db_generation_wanted"], 7);
  EXPECT_EQ(m["stolon_keeper_db_generation_applied"], 6);
  EXPECT_EQ(m["stolon_keeper_needs_restart"], 1);
  EXPECT_EQ(m["stolon_keeper_passes_total"], 4);
  EXPECT_EQ(m["stolon_keeper_pass_failures_total"], 1);
  EXPECT_EQ(m["stolon_keeper_last_sync_success_seconds"], 1700000000);
  EXPECT_EQ(m["stolon_keeper_shutdown_seconds"], 1700000100);
  EXPECT_EQ(m["stolon_keeper_postgres_up"], 1);
  EXPECT_EQ(m["stolon_keeper_wal_position_bytes"], 123456);
  EXPECT_EQ(m["stolon_keeper_timeline_id"], 2);
  EXPECT_EQ(m["stolon_keeper_standby_replication_lag_bytes{standby=\"db2\"}"], 4096);
  EXPECT_EQ(m["stolon_keeper_standby_replication_lag_bytes{standby=\"db3\"}"], 0);

  metrics.SetStandbyLag({});
  m = Scrape(registry);
  EXPECT_EQ(m.count("stolon_keeper_standby_replication_lag_bytes{standby=\"db2\"}"), 0u)
      << "a standby that stopped streaming is no longer reported";
}

TEST(KeeperHealth, FromTheLastPass) {
  PassReport p;
  EXPECT_THAT(std::string(KeeperHealth(p).message()), HasSubstr("no keeper pass completed yet"));
  p.last_error = "";
  EXPECT_TRUE(KeeperHealth(p).ok());
  p.last_error = "failed to start postgres";
  EXPECT_EQ(KeeperHealth(p).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(std::string(KeeperHealth(p).message()),
            "the last keeper pass failed: failed to start postgres");
}

}  // namespace
}  // namespace stolon::keeper
