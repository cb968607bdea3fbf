#include "proxy/server.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <asio/experimental/as_tuple.hpp>
#include <thread>

#include "fakes.h"
#include "support/process.h"
#include "support/prometheus.h"

namespace stolon::proxy {
namespace {

using asio::ip::tcp;
using namespace std::chrono_literals;
using stolon::testing::PickFreePort;
using stolon::testing::WaitFor;
using testing::ClusterWithMaster;

// An echo backend on its own thread.
class Echo {
 public:
  Echo() : acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    asio::co_spawn(io_, Accept(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~Echo() {
    io_.stop();
    thread_.join();
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }

 private:
  asio::awaitable<void> Accept() {
    constexpr auto t = asio::experimental::as_tuple(asio::use_awaitable);
    for (;;) {
      auto [ec, s] = co_await acceptor_.async_accept(t);
      if (ec) co_return;
      asio::co_spawn(io_, Serve(std::move(s)), asio::detached);
    }
  }
  static asio::awaitable<void> Serve(tcp::socket s) {
    constexpr auto t = asio::experimental::as_tuple(asio::use_awaitable);
    char buf[1024];
    for (;;) {
      auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), t);
      if (ec) co_return;
      auto [wec, w] = co_await asio::async_write(s, asio::buffer(buf, n), t);
      if (wec) co_return;
    }
  }
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::thread thread_;
};

// Connects to the proxy and checks one echo round trip (blocking, 2 s receive timeout).
bool RoundTrip(uint16_t port) {
  asio::io_context io;
  tcp::socket s(io);
  asio::error_code ec;
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
  if (ec) return false;
  timeval tv{2, 0};
  setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  asio::write(s, asio::buffer("ping", 4), ec);
  char buf[4];
  return !ec && asio::read(s, asio::buffer(buf), ec) == 4 && std::string(buf, 4) == "ping";
}

bool Listening(uint16_t port) {
  asio::io_context io;
  tcp::socket s(io);
  asio::error_code ec;
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
  return !ec;
}

class ServerTest : public ::testing::Test {
 protected:
  void Start(bool stop_listening = true, std::string metrics = "") {
    config_.common.cluster_name = "c1";
    config_.common.metrics_listen_address = metrics;
    config_.listen_address = "127.0.0.1";
    config_.port = port_;
    config_.stop_listening = stop_listening;
    server_ = std::make_unique<ProxyServer>(config_, store_, "p1");
    thread_ = std::thread([this] { exit_code_ = server_->Run(); });
  }
  void TearDown() override {
    if (server_) server_->Stop();
    if (thread_.joinable()) thread_.join();
    EXPECT_EQ(exit_code_, 0);
  }
  // Fast intervals so the tests run in about a second.
  cluster::ClusterData Fast(cluster::ClusterData cd) {
    cd.cluster.spec.proxy_check_interval = 100ms;
    cd.cluster.spec.proxy_timeout = 500ms;
    return cd;
  }

  Echo echo_;
  testing::FakeProxyStore store_;
  ProxyConfig config_;
  uint16_t port_ = static_cast<uint16_t>(PickFreePort());
  std::unique_ptr<ProxyServer> server_;
  std::thread thread_;
  int exit_code_ = 0;
};

TEST_F(ServerTest, StartedWithTheStoreDownNeverListens) {
  store_.Set(absl::UnavailableError("etcd down"));
  Start();
  ASSERT_TRUE(WaitFor([&] { return store_.reads() >= 1; }, 5s, 10ms));
  std::this_thread::sleep_for(300ms);  // give a wrongly-eager listener time to appear
  EXPECT_FALSE(Listening(port_));
}

TEST_F(ServerTest, RoutesThenFailsClosedOnStoreTimeoutAndRecovers) {
  store_.Set(Fast(ClusterWithMaster("127.0.0.1", echo_.port(), {"p1"})));
  Start();
  ASSERT_TRUE(WaitFor([&] { return RoundTrip(port_); }, 5s, 20ms));

  // Hold a connection open, then lose the store: within proxyTimeout (+ slack) the connection
  // is closed and the listener is gone.
  asio::io_context io;
  tcp::socket held(io);
  held.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_));
  asio::write(held, asio::buffer("x", 1));
  char c;
  ASSERT_EQ(asio::read(held, asio::buffer(&c, 1)), 1u);
  auto lost = std::chrono::steady_clock::now();
  store_.Set(absl::UnavailableError("etcd down"));
  ASSERT_TRUE(WaitFor([&] { return !Listening(port_); }, 3s, 20ms));
  EXPECT_LT(std::chrono::steady_clock::now() - lost, 1500ms);
  asio::error_code ec;
  held.read_some(asio::buffer(&c, 1), ec);
  EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset) << ec.message();

  store_.Set(Fast(ClusterWithMaster("127.0.0.1", echo_.port(), {"p1"})));
  EXPECT_TRUE(WaitFor([&] { return RoundTrip(port_); }, 5s, 20ms));
}

TEST_F(ServerTest, WithoutStopListeningKeepsTheListenerButRefuses) {
  store_.Set(Fast(ClusterWithMaster("127.0.0.1", echo_.port(), {"p1"})));
  Start(/*stop_listening=*/false);
  ASSERT_TRUE(WaitFor([&] { return RoundTrip(port_); }, 5s, 20ms));
  store_.Set(absl::UnavailableError("etcd down"));
  ASSERT_TRUE(WaitFor([&] { return !RoundTrip(port_); }, 3s, 20ms));
  EXPECT_TRUE(Listening(port_));
}

TEST_F(ServerTest, NotEnabledRefusesButPublishes) {
  store_.Set(Fast(ClusterWithMaster("127.0.0.1", echo_.port(), {"other"})));
  Start();
  ASSERT_TRUE(WaitFor([&] { return !store_.infos().empty(); }, 5s, 10ms));
  ASSERT_TRUE(WaitFor([&] { return Listening(port_); }, 5s, 10ms));
  EXPECT_FALSE(RoundTrip(port_));
  EXPECT_EQ(store_.infos().back().info.uid, "p1");
}

TEST_F(ServerTest, StopClosesEverythingAndRunReturnsZero) {
  store_.Set(Fast(ClusterWithMaster("127.0.0.1", echo_.port(), {"p1"})));
  Start();
  ASSERT_TRUE(WaitFor([&] { return RoundTrip(port_); }, 5s, 20ms));
  server_->Stop();
  thread_.join();
  EXPECT_EQ(exit_code_, 0);
  EXPECT_FALSE(Listening(port_));
}

TEST_F(ServerTest, ServesMetrics) {
  store_.Set(Fast(ClusterWithMaster("127.0.0.1", echo_.port(), {"p1"})));
  Start(true, "127.0.0.1:0");
  ASSERT_TRUE(WaitFor([&] { return RoundTrip(port_); }, 5s, 20ms));
  ASSERT_TRUE(WaitFor([&] { return server_->metrics_port() != 0; }, 5s, 10ms));
  asio::io_context io;
  tcp::socket s(io);
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), server_->metrics_port()));
  asio::write(s, asio::buffer(std::string("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")));
  std::string resp;
  asio::error_code ec;
  asio::read(s, asio::dynamic_buffer(resp), ec);
  EXPECT_NE(resp.find("HTTP/1.1 200 OK"), std::string::npos) << resp;
  EXPECT_NE(resp.find("stolon_cluster_identifier{cluster_name=\"c1\",component=\"proxy\"} 1"),
            std::string::npos)
      << resp;
  EXPECT_NE(resp.find("stolon_proxy_connections_accepted_total "), std::string::npos) << resp;
}

TEST_F(ServerTest, MasterAndHealthFollowTheRoute) {
  store_.Set(Fast(ClusterWithMaster("127.0.0.1", echo_.port(), {"p1"})));
  Start(true, "127.0.0.1:0");
  ASSERT_TRUE(WaitFor([&] { return RoundTrip(port_); }, 5s, 20ms));
  ASSERT_TRUE(WaitFor([&] { return server_->metrics_port() != 0; }, 5s, 10ms));
  const int mport = server_->metrics_port();
  auto master = stolon::testing::HttpGet(mport, "/master");
  EXPECT_EQ(master.status, 200) << master.error;
  EXPECT_EQ(master.body,
            "routing to the master at 127.0.0.1:" + std::to_string(echo_.port()) + "\n");
  EXPECT_EQ(stolon::testing::HttpGet(mport, "/health").status, 200);
  auto m = stolon::testing::HttpGet(mport, "/metrics");
  std::string err;
  auto samples = stolon::testing::ParsePrometheusText(m.body, &err);
  ASSERT_TRUE(samples.has_value()) << err << "\n" << m.body;
  EXPECT_EQ((*samples)["stolon_proxy_health"], 1);
  EXPECT_EQ((*samples)["stolon_proxy_destination_info{address=\"127.0.0.1:" +
                       std::to_string(echo_.port()) + "\"}"],
            1);

  // The store stops answering: /master turns 503 once proxyTimeout (500ms) passes; /health too.
  store_.Set(absl::UnavailableError("etcd down"));
  EXPECT_TRUE(
      WaitFor([&] { return stolon::testing::HttpGet(mport, "/master").status == 503; }, 2s, 20ms));
  auto health = stolon::testing::HttpGet(mport, "/health");
  EXPECT_EQ(health.status, 503);
  EXPECT_NE(health.body.find("etcd down"), std::string::npos) << health.body;
  EXPECT_EQ(stolon::testing::HttpGet(mport, "/nothing").status, 404);
}

TEST_F(ServerTest, UnusableMetricsAddressFailsRun) {
  Start(true, "nonsense");
  thread_.join();
  EXPECT_EQ(exit_code_, 1);
  exit_code_ = 0;
}

}  // namespace
}  // namespace stolon::proxy
