// The Grafana dashboard in docs/grafana/ is valid JSON, and every stolon_* metric its queries use
// is one that the keeper, the sentinel or the proxy declares (so a rename breaks this test).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <random>
#include <regex>
#include <set>
#include <sstream>

#include "keeper/metrics.h"
#include "nlohmann/json.hpp"
#include "proxy/server.h"
#include "sentinel/daemon.h"
#include "store/mem_kv_store.h"
#include "store/store.h"
#include "unit/proxy/fakes.h"

namespace stolon {
namespace {

class NoLeadership final : public sentinel::Leadership {
 public:
  bool IsLeader() const override { return false; }
  uint64_t LeadershipCount() const override { return 0; }
};

// The family names in a rendered registry ("# TYPE <name> <type>" lines).
void AddFamilies(const std::string& text, std::set<std::string>& out) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# TYPE ", 0) == 0) out.insert(line.substr(7, line.find(' ', 7) - 7));
  }
}

std::set<std::string> ServedMetrics() {
  std::set<std::string> names;
  {
    keeper::SharedState shared;
    MetricsRegistry r;
    keeper::KeeperMetrics m(r, "c", shared);
    AddFamilies(r.Render(), names);
  }
  {
    FakeClock clock;
    store::MemKvStore kv(clock);
    store::Store st(kv, "stolon/cluster/c");
    NoLeadership leadership;
    SequentialIdGenerator ids;
    std::mt19937_64 rng(1);
    sentinel::SentinelChecker checker(st, leadership, sentinel::CheckerOptions{"s1", {}}, clock,
                                      ids, rng);
    MetricsRegistry r;
    sentinel::RegisterSentinelMetrics(r, "c", leadership, checker);
    AddFamilies(r.Render(), names);
  }
  {
    proxy::testing::FakeProxyStore store;
    proxy::ProxyConfig config;
    config.common.cluster_name = "c";
    proxy::ProxyServer server(config, store, "p1");
    AddFamilies(server.metrics().Render(), names);
  }
  return names;
}

TEST(GrafanaDashboard, QueriesUseServedMetrics) {
  const char* src = std::getenv("STOLON_SOURCE_DIR");
  ASSERT_NE(src, nullptr);
  std::ifstream in(std::string(src) + "/docs/grafana/stolon-cluster.json");
  ASSERT_TRUE(in.good());
  nlohmann::json dash = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(dash.is_discarded()) << "not valid JSON";
  ASSERT_TRUE(dash["panels"].is_array());

  const std::set<std::string> served = ServedMetrics();
  ASSERT_GT(served.size(), 30u);
  const std::regex metric(R"(stolon_[a-z_]+)");
  std::set<std::string> used;
  std::set<int> ids;
  for (const auto& panel : dash["panels"]) {
    ASSERT_TRUE(panel.contains("id") && panel.contains("gridPos") && panel.contains("title"));
    EXPECT_TRUE(ids.insert(panel["id"].get<int>()).second) << "duplicate panel id " << panel["id"];
    if (panel["type"] == "row") continue;
    ASSERT_TRUE(panel["targets"].is_array() && !panel["targets"].empty()) << panel["title"];
    for (const auto& target : panel["targets"]) {
      const std::string expr = target["expr"].get<std::string>();
      for (auto it = std::sregex_iterator(expr.begin(), expr.end(), metric);
           it != std::sregex_iterator(); ++it) {
        used.insert(it->str());
        EXPECT_EQ(served.count(it->str()), 1u)
            << "panel \"" << panel["title"].get<std::string>() << "\" uses " << it->str()
            << ", which no program serves";
      }
    }
  }
  // The dashboard covers what the issue asks for: roles, lag, failovers, proxy connections.
  for (const char* m : {"stolon_keeper_local_role", "stolon_keeper_standby_replication_lag_bytes",
                        "stolon_sentinel_failovers_total", "stolon_proxy_connections_open",
                        "stolon_proxy_destination_info"}) {
    EXPECT_EQ(used.count(m), 1u) << m;
  }
}

}  // namespace
}  // namespace stolon
