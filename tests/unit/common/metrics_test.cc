#include "common/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <thread>
#include <vector>

#include "support/prometheus.h"

namespace stolon {
namespace {

using stolon::testing::ParsePrometheusText;
using ::testing::HasSubstr;

TEST(MetricsRegistry, RendersFamiliesInOrderWithHelpAndType) {
  MetricsRegistry r;
  AddClusterIdentifier(r, "c1", "proxy");
  MetricFamily& c = r.Counter("stolon_x_total", "Things done");
  MetricFamily& g = r.Gauge("stolon_role", "The role", true);
  c.Add();
  c.Add(2);
  g.Set({{"role", "master"}}, 1);
  g.Set({{"role", "standby"}}, 0);
  EXPECT_EQ(r.Render(),
            "# HELP stolon_cluster_identifier Set to 1, labelled with the cluster name and the "
            "component\n"
            "# TYPE stolon_cluster_identifier gauge\n"
            "stolon_cluster_identifier{cluster_name=\"c1\",component=\"proxy\"} 1\n"
            "# HELP stolon_x_total Things done\n"
            "# TYPE stolon_x_total counter\n"
            "stolon_x_total 3\n"
            "# HELP stolon_role The role\n"
            "# TYPE stolon_role gauge\n"
            "stolon_role{role=\"master\"} 1\n"
            "stolon_role{role=\"standby\"} 0\n");
  EXPECT_EQ(c.Get(), 3);
  EXPECT_EQ(g.Get({{"role", "master"}}), 1);
}

TEST(MetricsRegistry, UnlabelledFamiliesStartAtZeroLabelledOnesEmpty) {
  MetricsRegistry r;
  r.Gauge("a", "A");
  r.Gauge("b", "B", true);
  EXPECT_EQ(r.Render(), "# HELP a A\n# TYPE a gauge\na 0\n# HELP b B\n# TYPE b gauge\n");
}

TEST(MetricsRegistry, SetOnlyReplacesEveryOtherSample) {
  MetricsRegistry r;
  MetricFamily& info = r.Gauge("dest_info", "Destination", true);
  info.SetOnly({{"address", "10.0.0.1:5432"}});
  info.SetOnly({{"address", "10.0.0.2:5432"}});
  EXPECT_THAT(r.Render(), HasSubstr("dest_info{address=\"10.0.0.2:5432\"} 1\n"));
  EXPECT_THAT(r.Render(), ::testing::Not(HasSubstr("10.0.0.1")));
  info.Clear();
  EXPECT_EQ(r.Render(), "# HELP dest_info Destination\n# TYPE dest_info gauge\n");
}

TEST(MetricsRegistry, EscapesLabelValuesAndHelp) {
  MetricsRegistry r;
  r.Gauge("g", "a \\ b\nc", true).Set({{"l", "q\"b\\n\n"}}, 1);
  const std::string text = r.Render();
  EXPECT_EQ(text, "# HELP g a \\\\ b\\nc\n# TYPE g gauge\ng{l=\"q\\\"b\\\\n\\n\"} 1\n");
  std::string err;
  EXPECT_TRUE(ParsePrometheusText(text, &err).has_value()) << err;
}

TEST(MetricsRegistry, FormatsValues) {
  EXPECT_EQ(FormatMetricValue(0), "0");
  EXPECT_EQ(FormatMetricValue(-3), "-3");
  EXPECT_EQ(FormatMetricValue(1700000000.25), "1700000000.25");
  EXPECT_EQ(FormatMetricValue(0.5), "0.5");
  EXPECT_EQ(FormatMetricValue(std::nan("")), "NaN");
  EXPECT_EQ(FormatMetricValue(HUGE_VAL), "+Inf");
  EXPECT_EQ(FormatMetricValue(-HUGE_VAL), "-Inf");
  EXPECT_EQ(FormatMetricValue(1e20), "1e+20");
}

TEST(MetricsRegistry, CollectorsRunBeforeEachRender) {
  MetricsRegistry r;
  MetricFamily& g = r.Gauge("scrapes", "Scrapes");
  int n = 0;
  r.OnCollect([&] { g.Set(++n); });
  EXPECT_THAT(r.Render(), HasSubstr("scrapes 1\n"));
  EXPECT_THAT(r.Render(), HasSubstr("scrapes 2\n"));
}

TEST(MetricsRegistry, ConcurrentUpdatesAndRenders) {
  MetricsRegistry r;
  MetricFamily& c = r.Counter("c_total", "C");
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        c.Add();
        if (i % 100 == 0) (void)r.Render();
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(c.Get(), 4000);
}

// The test-side checker itself: it must reject what Prometheus rejects.
TEST(PrometheusTextChecker, AcceptsValidText) {
  std::string err;
  auto s = ParsePrometheusText(
      "# HELP a_total A\n# TYPE a_total counter\na_total 3\n# some comment\n"
      "# HELP b B\n# TYPE b gauge\nb{x=\"1\",y=\"\"} -1.5e3 1700000000000\nb{x=\"2\",} NaN\n",
      &err);
  ASSERT_TRUE(s.has_value()) << err;
  EXPECT_EQ(s->at("a_total"), 3);
  EXPECT_EQ(s->at("b{x=\"1\",y=\"\"}"), -1500);
  EXPECT_TRUE(std::isnan(s->at("b{x=\"2\",}")));
}

TEST(PrometheusTextChecker, RejectsInvalidText) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"no help", "# TYPE a gauge\na 1\n"},
      {"no type", "# HELP a A\na 1\n"},
      {"help after samples", "# TYPE a gauge\na 1\n# HELP a A\n"},
      {"bad name", "# HELP 1a A\n# TYPE 1a gauge\n1a 1\n"},
      {"bad value", "# HELP a A\n# TYPE a gauge\na one\n"},
      {"no value", "# HELP a A\n# TYPE a gauge\na\n"},
      {"unquoted label", "# HELP a A\n# TYPE a gauge\na{x=1} 1\n"},
      {"bad escape", "# HELP a A\n# TYPE a gauge\na{x=\"\\t\"} 1\n"},
      {"unterminated", "# HELP a A\n# TYPE a gauge\na{x=\"1} 1\n"},
      {"repeated sample", "# HELP a A\n# TYPE a gauge\na 1\na 2\n"},
      {"unknown type", "# HELP a A\n# TYPE a meter\na 1\n"},
      {"no final newline", "# HELP a A\n# TYPE a gauge\na 1"},
      {"empty line", "# HELP a A\n# TYPE a gauge\n\na 1\n"},
      {"not contiguous",
       "# HELP a A\n# TYPE a gauge\n# HELP b B\n# TYPE b gauge\na{x=\"1\"} 1\nb 1\na{x=\"2\"} 1\n"},
      {"bad timestamp", "# HELP a A\n# TYPE a gauge\na 1 1.5\n"},
      {"empty", ""},
  };
  for (const auto& [name, text] : cases) {
    SCOPED_TRACE(name);
    std::string err;
    EXPECT_FALSE(ParsePrometheusText(text, &err).has_value());
    EXPECT_FALSE(err.empty());
  }
}

}  // namespace
}  // namespace stolon
