#include "proxy/relay.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <atomic>
#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/process.h"

namespace stolon::proxy {
namespace {

using asio::ip::tcp;
using namespace std::chrono_literals;
constexpr auto kAsTuple = asio::experimental::as_tuple(asio::use_awaitable);

// Runs the io_context on a background thread; relay methods are called through OnIo().
class IoThread {
 public:
  IoThread() : guard_(asio::make_work_guard(io_)), thread_([this] { io_.run(); }) {}
  ~IoThread() {
    guard_.reset();
    io_.stop();
    thread_.join();
  }
  asio::io_context& io() { return io_; }
  template <class F>
  auto OnIo(F f) -> decltype(f()) {
    // (A packaged_task passed to post() directly is a completion token, hence the lambda.)
    auto task = std::make_shared<std::packaged_task<decltype(f())()>>(std::move(f));
    auto fut = task->get_future();
    asio::post(io_, [task] { (*task)(); });
    return fut.get();
  }

 private:
  asio::io_context io_{1};
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::thread thread_;
};

// A backend on the io thread: echoes bytes; on EOF from the client it sends "bye:<name>" and
// closes (so half-close is observable). Counts accepted and open connections.
class EchoServer {
 public:
  EchoServer(asio::io_context& io, std::string name)
      : acceptor_(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        state_(std::make_shared<State>()) {
    state_->name = std::move(name);
    asio::co_spawn(io, Accept(state_, &acceptor_), asio::detached);
  }
  ~EchoServer() {
    asio::error_code ignored;
    acceptor_.close(ignored);
  }
  tcp::endpoint endpoint() const { return acceptor_.local_endpoint(); }
  int accepted() const { return state_->accepted.load(); }
  int open() const { return state_->open.load(); }

 private:
  // Shared with the coroutines, which may outlive the server object.
  struct State {
    std::string name;
    std::atomic<int> accepted{0}, open{0};
  };
  static asio::awaitable<void> Accept(std::shared_ptr<State> st, tcp::acceptor* acceptor) {
    auto ex = acceptor->get_executor();
    for (;;) {
      auto [ec, s] = co_await acceptor->async_accept(kAsTuple);
      if (ec) co_return;  // closed: the acceptor may be gone, do not touch it again
      ++st->accepted;
      asio::co_spawn(ex, Echo(st, std::move(s)), asio::detached);
    }
  }
  static asio::awaitable<void> Echo(std::shared_ptr<State> st, tcp::socket s) {
    ++st->open;
    char buf[4096];
    for (;;) {
      auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), kAsTuple);
      if (ec == asio::error::eof) {
        std::string bye = "bye:" + st->name;
        co_await asio::async_write(s, asio::buffer(bye), kAsTuple);
        break;
      }
      if (ec) break;
      auto [wec, w] = co_await asio::async_write(s, asio::buffer(buf, n), kAsTuple);
      if (wec) break;
    }
    asio::error_code ignored;
    s.close(ignored);
    --st->open;
  }

  tcp::acceptor acceptor_;
  std::shared_ptr<State> state_;
};

// A blocking test client with a receive timeout, so no read can hang the test.
class Client {
 public:
  explicit Client(uint16_t port) : sock_(io_) {
    asio::error_code ec;
    sock_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
    connect_error_ = ec;
    if (!ec) {
      timeval tv{5, 0};
      setsockopt(sock_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
  }
  asio::error_code connect_error() const { return connect_error_; }
  void Send(const std::string& s) { asio::write(sock_, asio::buffer(s)); }
  // Reads exactly n bytes; returns what was read before an error.
  std::string Read(size_t n) {
    std::string out(n, '\0');
    asio::error_code ec;
    size_t got = asio::read(sock_, asio::buffer(out), ec);
    out.resize(got);
    return out;
  }
  // True when the peer closed (EOF or reset) within the receive timeout.
  bool Closed() {
    char c;
    asio::error_code ec;
    sock_.read_some(asio::buffer(&c, 1), ec);
    return ec == asio::error::eof || ec == asio::error::connection_reset;
  }
  void ShutdownSend() { sock_.shutdown(tcp::socket::shutdown_send); }
  tcp::endpoint local_endpoint() const { return sock_.local_endpoint(); }

 private:
  asio::io_context io_;
  tcp::socket sock_;
  asio::error_code connect_error_;
};

class RelayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RelayOptions o;
    o.port = 0;
    o.buffer_size = 16 * 1024;
    o.threads = 2;  // fencing must reach every relay thread
    relay_ = std::make_unique<Relay>(o);
    a_ = std::make_unique<EchoServer>(io_.io(), "a");
    b_ = std::make_unique<EchoServer>(io_.io(), "b");
    ASSERT_TRUE(io_.OnIo([&] { return relay_->StartListening(); }).ok());
    port_ = io_.OnIo([&] { return relay_->local_port(); });
    ASSERT_NE(port_, 0);
  }
  void TearDown() override {
    io_.OnIo([&] {
      relay_.reset();
      a_.reset();
      b_.reset();
      return 0;
    });
  }
  size_t SetDestination(std::optional<tcp::endpoint> d) {
    return io_.OnIo([&] { return relay_->SetDestination(d); });
  }
  size_t Open() {
    return io_.OnIo([&] { return relay_->open_connections(); });
  }

  IoThread io_;
  std::unique_ptr<Relay> relay_;
  std::unique_ptr<EchoServer> a_, b_;
  uint16_t port_ = 0;
};

TEST_F(RelayTest, ForwardsBothWays) {
  SetDestination(a_->endpoint());
  Client c(port_);
  ASSERT_FALSE(c.connect_error());
  c.Send("hello");
  EXPECT_EQ(c.Read(5), "hello");
  EXPECT_EQ(a_->accepted(), 1);
  EXPECT_EQ(relay_->stats().accepted, 1u);
  EXPECT_TRUE(testing::WaitFor([&] { return relay_->stats().bytes_to_server == 5; }, 5s, 10ms));
  EXPECT_TRUE(testing::WaitFor([&] { return relay_->stats().bytes_to_client == 5; }, 5s, 10ms));
}

TEST_F(RelayTest, LargeTransferKeepsEveryByteInOrder) {
  SetDestination(a_->endpoint());
  Client c(port_);
  std::string data(4 << 20, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7 + i / 4096);
  // Writer thread: the echo comes back while we still send (exercises backpressure both ways).
  std::thread writer([&] { c.Send(data); });
  std::string back = c.Read(data.size());
  writer.join();
  EXPECT_TRUE(back == data);
}

TEST_F(RelayTest, DestinationChangeClosesBothSidesAndNewConnectionsGoToNewDestination) {
  SetDestination(a_->endpoint());
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(std::make_unique<Client>(port_));
    clients.back()->Send("x");
    ASSERT_EQ(clients.back()->Read(1), "x");
  }
  EXPECT_EQ(a_->open(), 3);
  EXPECT_EQ(SetDestination(b_->endpoint()), 3u);
  for (auto& c : clients) EXPECT_TRUE(c->Closed());
  // Backend side closed too: the echo server sees EOF on all three.
  EXPECT_TRUE(testing::WaitFor([&] { return a_->open() == 0; }, 5s, 10ms));
  EXPECT_TRUE(testing::WaitFor([&] { return Open() == 0; }, 5s, 10ms));
  EXPECT_EQ(relay_->stats().closed_by_fencing, 3u);

  Client n(port_);
  n.Send("y");
  EXPECT_EQ(n.Read(1), "y");
  EXPECT_EQ(b_->accepted(), 1);
  EXPECT_EQ(a_->accepted(), 3);
}

TEST_F(RelayTest, SameDestinationAgainIsANoOp) {
  SetDestination(a_->endpoint());
  Client c(port_);
  c.Send("1");
  ASSERT_EQ(c.Read(1), "1");
  EXPECT_EQ(SetDestination(a_->endpoint()), 0u);
  c.Send("2");
  EXPECT_EQ(c.Read(1), "2");
  EXPECT_EQ(relay_->stats().closed_by_fencing, 0u);
}

TEST_F(RelayTest, NoDestinationClosesExistingAndRefusesNew) {
  SetDestination(a_->endpoint());
  Client c(port_);
  c.Send("1");
  ASSERT_EQ(c.Read(1), "1");
  EXPECT_EQ(SetDestination(std::nullopt), 1u);
  EXPECT_TRUE(c.Closed());
  Client r(port_);  // the listener stays open, but the connection is closed at once
  ASSERT_FALSE(r.connect_error());
  EXPECT_TRUE(r.Closed());
  EXPECT_TRUE(testing::WaitFor([&] { return relay_->stats().refused == 1; }, 5s, 10ms));
  EXPECT_EQ(a_->accepted(), 1);
  // And from none to a destination works again.
  SetDestination(b_->endpoint());
  Client d(port_);
  d.Send("z");
  EXPECT_EQ(d.Read(1), "z");
}

TEST_F(RelayTest, HalfCloseKeepsTheOtherDirectionOpen) {
  SetDestination(a_->endpoint());
  Client c(port_);
  c.Send("abc");
  ASSERT_EQ(c.Read(3), "abc");
  c.ShutdownSend();  // the server sees EOF, answers, then closes
  EXPECT_EQ(c.Read(5), "bye:a");
  EXPECT_TRUE(c.Closed());
  EXPECT_TRUE(testing::WaitFor([&] { return Open() == 0; }, 5s, 10ms));
  EXPECT_EQ(relay_->stats().closed_by_fencing, 0u);
}

TEST_F(RelayTest, DataAndFinSentBeforeTheBackendAnswersArriveInOrder) {
  // Many rounds so that some send and shut down while the relay still dials the backend (the
  // startup packet of every PostgreSQL client arrives then): the edge reported during the dial
  // must not be lost.
  SetDestination(a_->endpoint());
  for (int i = 0; i < 200; ++i) {
    Client c(port_);
    ASSERT_FALSE(c.connect_error());
    c.Send("hi");
    c.ShutdownSend();
    ASSERT_EQ(c.Read(7), "hibye:a") << "round " << i;
    ASSERT_TRUE(c.Closed()) << "round " << i;
  }
  EXPECT_TRUE(testing::WaitFor([&] { return Open() == 0; }, 5s, 10ms));
}

// The relay's end of a client connection: the socket of this process whose peer is `client`.
int RelaySocketOf(const tcp::endpoint& client) {
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    const int fd = std::stoi(e.path().filename().string());
    struct stat st {};
    if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
    sockaddr_in peer{};
    socklen_t len = sizeof peer;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0 ||
        peer.sin_family != AF_INET)
      continue;
    if (ntohs(peer.sin_port) == client.port() &&
        peer.sin_addr.s_addr == htonl(client.address().to_v4().to_uint()))
      return fd;
  }
  return -1;
}

TEST(RelayOptionsTest, ClientSocketsGetNodelayAndKeepaliveSettings) {
  IoThread io;
  EchoServer backend(io.io(), "a");
  RelayOptions o;
  o.port = 0;
  o.keepalive_idle = 77s;
  o.keepalive_count = 5;
  o.keepalive_interval = 9s;
  o.threads = 2;
  auto relay = std::make_unique<Relay>(o);
  ASSERT_TRUE(relay->StartListening().ok());
  relay->SetDestination(backend.endpoint());
  {
    Client c(relay->local_port());
    c.Send("x");
    ASSERT_EQ(c.Read(1), "x");  // the session is up
    const int fd = RelaySocketOf(c.local_endpoint());
    ASSERT_GE(fd, 0);
    auto opt = [fd](int level, int name) {
      int v = -1;
      socklen_t len = sizeof v;
      EXPECT_EQ(getsockopt(fd, level, name, &v, &len), 0);
      return v;
    };
    EXPECT_NE(opt(IPPROTO_TCP, TCP_NODELAY), 0);
    EXPECT_NE(opt(SOL_SOCKET, SO_KEEPALIVE), 0);
    EXPECT_EQ(opt(IPPROTO_TCP, TCP_KEEPIDLE), 77);
    EXPECT_EQ(opt(IPPROTO_TCP, TCP_KEEPCNT), 5);
    EXPECT_EQ(opt(IPPROTO_TCP, TCP_KEEPINTVL), 9);
  }
  io.OnIo([&] {
    relay.reset();
    return 0;
  });
}

TEST_F(RelayTest, DialFailureClosesTheClient) {
  uint16_t dead = static_cast<uint16_t>(testing::PickFreePort());
  SetDestination(tcp::endpoint(asio::ip::make_address("127.0.0.1"), dead));
  Client c(port_);
  EXPECT_TRUE(c.Closed());
  EXPECT_TRUE(testing::WaitFor([&] { return relay_->stats().dial_failures == 1; }, 5s, 10ms));
  EXPECT_TRUE(testing::WaitFor([&] { return Open() == 0; }, 5s, 10ms));
}

TEST_F(RelayTest, StopAndStartListening) {
  SetDestination(a_->endpoint());
  Client kept(port_);
  kept.Send("k");
  ASSERT_EQ(kept.Read(1), "k");
  io_.OnIo([&] {
    relay_->StopListening();
    relay_->StopListening();  // idempotent
    return 0;
  });
  EXPECT_FALSE(io_.OnIo([&] { return relay_->listening(); }));
  Client refused(port_);
  EXPECT_TRUE(refused.connect_error());
  // Established connections survive a listener stop.
  kept.Send("l");
  EXPECT_EQ(kept.Read(1), "l");

  RelayOptions o;
  o.port = port_;
  auto fixed = io_.OnIo([&] { return std::make_unique<Relay>(o); });
  ASSERT_TRUE(io_.OnIo([&] { return fixed->StartListening(); }).ok());
  ASSERT_TRUE(io_.OnIo([&] { return fixed->StartListening(); }).ok());  // idempotent
  io_.OnIo([&] { return fixed->SetDestination(b_->endpoint()); });
  Client again(port_);
  again.Send("m");
  EXPECT_EQ(again.Read(1), "m");
  io_.OnIo([&] {
    fixed.reset();
    return 0;
  });
}

TEST_F(RelayTest, ListenFailureIsAnError) {
  RelayOptions o;
  o.port = port_;  // already bound by relay_
  auto other = io_.OnIo([&] { return std::make_unique<Relay>(o); });
  absl::Status st = io_.OnIo([&] { return other->StartListening(); });
  EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable) << st;
  EXPECT_FALSE(io_.OnIo([&] { return other->listening(); }));
  io_.OnIo([&] {
    other.reset();
    return 0;
  });
}

TEST_F(RelayTest, HoldsAThousandIdleConnectionsAndFencesThemAll) {
  constexpr int kConns = 1000;
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  const rlim_t need = 4 * kConns + 256;  // client + 2 relay + server sockets each
  if (rl.rlim_cur < need) {
    rlimit want{std::max<rlim_t>(need, rl.rlim_cur), std::max<rlim_t>(need, rl.rlim_max)};
    if (setrlimit(RLIMIT_NOFILE, &want) != 0) {
      want.rlim_cur = rl.rlim_max;
      ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &want), 0);
      if (want.rlim_cur < need) GTEST_SKIP() << "RLIMIT_NOFILE hard limit too low: " << rl.rlim_max;
    }
  }
  SetDestination(a_->endpoint());
  std::vector<std::unique_ptr<Client>> clients;
  clients.reserve(kConns);
  for (int i = 0; i < kConns; ++i) {
    clients.push_back(std::make_unique<Client>(port_));
    ASSERT_FALSE(clients.back()->connect_error()) << i;
  }
  for (auto& c : clients) c->Send("p");
  for (auto& c : clients) ASSERT_EQ(c->Read(1), "p");
  EXPECT_EQ(Open(), static_cast<size_t>(kConns));
  EXPECT_EQ(a_->open(), kConns);
  EXPECT_EQ(SetDestination(b_->endpoint()), static_cast<size_t>(kConns));
  for (auto& c : clients) ASSERT_TRUE(c->Closed());
  EXPECT_TRUE(testing::WaitFor([&] { return a_->open() == 0 && Open() == 0; }, 10s, 10ms));
}

}  // namespace
}  // namespace stolon::proxy
