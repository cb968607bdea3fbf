#include "common/http_server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/process.h"
#include "support/prometheus.h"

namespace stolon {
namespace {

using stolon::testing::HttpGet;
using stolon::testing::ParsePrometheusText;
using ::testing::HasSubstr;

TEST(ParseListenAddress, Accepts) {
  auto ep = ParseListenAddress("127.0.0.1:8080");
  ASSERT_TRUE(ep.ok()) << ep.status();
  EXPECT_EQ(ep->address().to_string(), "127.0.0.1");
  EXPECT_EQ(ep->port(), 8080);
  ep = ParseListenAddress(":9000");
  ASSERT_TRUE(ep.ok());
  EXPECT_EQ(ep->address().to_string(), "0.0.0.0");
  ep = ParseListenAddress("[::1]:9000");
  ASSERT_TRUE(ep.ok());
  EXPECT_TRUE(ep->address().is_v6());
  ep = ParseListenAddress("localhost:0");
  ASSERT_TRUE(ep.ok()) << ep.status();
  EXPECT_TRUE(ep->address().is_loopback());
}

TEST(ParseListenAddress, RejectsWithTheFlagNameAndAnExample) {
  for (const char* bad : {"nonsense", "127.0.0.1", "127.0.0.1:", "127.0.0.1:http", "1.2.3.4:70000",
                          "::1:80", "no-such-host.invalid:80", ":-1"}) {
    SCOPED_TRACE(bad);
    auto ep = ParseListenAddress(bad);
    ASSERT_FALSE(ep.ok());
    EXPECT_EQ(ep.status().code(), absl::StatusCode::kInvalidArgument);
    const std::string msg(ep.status().message());
    EXPECT_THAT(msg, HasSubstr("invalid --metrics-listen-address \"" + std::string(bad) + "\""));
    EXPECT_THAT(msg, HasSubstr("e.g. 0.0.0.0:8080"));
    EXPECT_EQ(msg.find('\n'), std::string::npos);
  }
}

TEST(HealthResponse, OkOr503WithOneLine) {
  HttpResponse ok = HealthResponse(absl::OkStatus());
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "ok\n");
  HttpResponse bad = HealthResponse(absl::UnavailableError("store\ndown"));
  EXPECT_EQ(bad.status, 503);
  EXPECT_EQ(bad.body, "store down\n");
}

TEST(MetricsEndpoint, RoutesPaths) {
  MetricsRegistry r;
  AddClusterIdentifier(r, "c1", "keeper");
  r.Counter("stolon_things_total", "Things").Add(5);
  bool healthy = true;
  MetricsEndpoint e;
  e.Handle("/metrics", [&] { return MetricsResponse(r); });
  e.Handle("/health", [&] {
    return HealthResponse(healthy ? absl::OkStatus() : absl::UnavailableError("broken"));
  });
  ASSERT_TRUE(e.Start("127.0.0.1:0").ok());
  ASSERT_NE(e.port(), 0);

  auto m = HttpGet(e.port(), "/metrics");
  ASSERT_EQ(m.status, 200) << m.error;
  std::string err;
  auto samples = ParsePrometheusText(m.body, &err);
  ASSERT_TRUE(samples.has_value()) << err << "\n" << m.body;
  EXPECT_EQ(samples->at("stolon_things_total"), 5);
  EXPECT_EQ(samples->at("stolon_cluster_identifier{cluster_name=\"c1\",component=\"keeper\"}"), 1);
  EXPECT_EQ(HttpGet(e.port(), "/metrics?x=1").status, 200);

  auto h = HttpGet(e.port(), "/health");
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.body, "ok\n");
  healthy = false;
  h = HttpGet(e.port(), "/health");
  EXPECT_EQ(h.status, 503);
  EXPECT_EQ(h.body, "broken\n");

  EXPECT_EQ(HttpGet(e.port(), "/nothing").status, 404);
  const int port = e.port();
  e.Stop();
  EXPECT_EQ(HttpGet(port, "/metrics", std::chrono::milliseconds(500)).status, 0);
}

TEST(MetricsEndpoint, PortInUseIsUnavailable) {
  MetricsEndpoint a, b;
  ASSERT_TRUE(a.Start("127.0.0.1:0").ok());
  absl::Status s = b.Start("127.0.0.1:" + std::to_string(a.port()));
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("cannot listen on --metrics-listen-address"));
}

}  // namespace
}  // namespace stolon
