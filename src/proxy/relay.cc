#include "proxy/relay.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <unordered_set>
#include <utility>

#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>

#include "fmt/format.h"
#include "spdlog/spdlog.h"

namespace stolon::proxy {

using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
constexpr auto kAsTuple = asio::experimental::as_tuple(asio::use_awaitable);

// One proxied connection: both sockets live in the Serve coroutine frame; the registry points at
// them so that fencing can close them from outside.
struct Relay::Session {
  tcp::socket client;
  tcp::socket server;
  bool fenced = false;  // closed by SetDestination/CloseAll (not an I/O error)

  asio::awaitable<void> Pump(tcp::socket& from, tcp::socket& to, size_t max_read,
                             std::atomic<uint64_t>& bytes);

  // Closing cancels the pending operations of both directions; they complete with errors and
  // the coroutine unwinds.
  void Close() {
    asio::error_code ignored;
    client.close(ignored);
    server.close(ignored);
  }
};

struct Relay::Shared {
  explicit Shared(RelayOptions o) : opts(std::move(o)) {}
  const RelayOptions opts;
  Destination destination;
  std::unordered_set<Session*> sessions;
  bool shut_down = false;  // the Relay is gone: refuse everything

  std::atomic<uint64_t> accepted{0}, refused{0}, dial_failures{0}, closed_by_fencing{0},
      bytes_to_server{0}, bytes_to_client{0}, accept_errors{0}, open{0};

  size_t CloseAll() {
    size_t n = sessions.size();
    for (Session* s : sessions) {
      s->fenced = true;
      s->Close();
    }
    sessions.clear();  // each Serve removes itself too; erase of a missing key is harmless
    closed_by_fencing.fetch_add(n, std::memory_order_relaxed);
    return n;
  }
};

namespace {

// Best-effort socket tuning; a failure only costs latency, so it is logged at debug level.
void SetIntOption(tcp::socket& s, int level, int name, int value, const char* what) {
  if (setsockopt(s.native_handle(), level, name, &value, sizeof value) != 0) {
    spdlog::debug("setsockopt {} failed: {}", what, std::strerror(errno));
  }
}

void ConfigureClient(tcp::socket& s, const RelayOptions& o) {
  asio::error_code ec;
  s.set_option(tcp::no_delay(true), ec);
  s.set_option(asio::socket_base::keep_alive(true), ec);
  if (o.keepalive_idle.count() > 0)
    SetIntOption(s, IPPROTO_TCP, TCP_KEEPIDLE, static_cast<int>(o.keepalive_idle.count()), "TCP_KEEPIDLE");
  if (o.keepalive_count > 0) SetIntOption(s, IPPROTO_TCP, TCP_KEEPCNT, o.keepalive_count, "TCP_KEEPCNT");
  if (o.keepalive_interval.count() > 0)
    SetIntOption(s, IPPROTO_TCP, TCP_KEEPINTVL, static_cast<int>(o.keepalive_interval.count()),
                 "TCP_KEEPINTVL");
}

// The read buffer of every session served by this thread. Data passes through it between a
// non-blocking read and the write that follows it without suspending in between, so sessions can
// share it; sessions therefore own no buffer while they wait for data.
char* ScratchBuffer(size_t size) {
  thread_local std::unique_ptr<char[]> buffer;
  thread_local size_t capacity = 0;
  if (capacity < size) {
    buffer.reset(new char[size]);  // uninitialised: pages are touched only by data
    capacity = size;
  }
  return buffer.get();
}

}  // namespace

// Copies `from` → `to` until EOF or an error. The next read is only issued after the previous
// data was written (backpressure: a slow reader stalls its writer, nothing queues).
//
// Memory: an idle session must cost as little as possible (a proxy holds thousands of them), so
// a quiet direction keeps no read pending on a buffer of its own. It waits for readability,
// reads into the thread's scratch buffer (up to `max_read` bytes per syscall) and writes at once
// without blocking; only what the peer cannot take right now is copied into a buffer of the
// session, sent asynchronously and freed. For request/response traffic this makes the same
// syscalls as reading into a buffer of our own. A read that returned less than it asked for
// emptied the socket, so the next step is the readiness wait, not a read that would fail with
// EAGAIN (strace, per `pgbench -S` transaction: 2 sendto, 2 recvfrom, 2 epoll_ctl; 4 recvfrom, half
// of them EAGAIN, before). Bulk data would pay a copy and an allocation whenever
// the peer lags, so after a read of kBulkRead bytes or more the direction reads straight into a
// `max_read` buffer of its own and drops it again after kBackToWait consecutive smaller reads.
//
// On EOF the write side of `to` is shut down (half-close) and the other direction keeps going; on
// any error the whole session is closed so the other direction stops too.
asio::awaitable<void> Relay::Session::Pump(tcp::socket& from, tcp::socket& to, size_t max_read,
                                           std::atomic<uint64_t>& bytes) {
  constexpr size_t kBulkRead = 8 * 1024;
  constexpr int kBackToWait = 16;
  std::unique_ptr<char[]> big;  // set while the direction carries bulk data
  int small_reads = 0;
  // True when the socket had nothing more to read: a read that returned less than asked for
  // took everything the kernel held (TCP hands over all it has, up to the size asked).
  bool drained = false;
  // What to do when a read failed; returns normally so the caller can co_return.
  auto read_failed = [&](const asio::error_code& ec) {
    if (ec == asio::error::eof && !fenced) {
      asio::error_code ignored;
      to.shutdown(tcp::socket::shutdown_send, ignored);
    } else {
      Close();
    }
  };
  for (;;) {
    if (big) {
      auto [rec, n] = co_await from.async_read_some(asio::buffer(big.get(), max_read), kAsTuple);
      if (rec) {
        read_failed(rec);
        co_return;
      }
      auto [wec, written] = co_await asio::async_write(to, asio::buffer(big.get(), n), kAsTuple);
      if (wec) {
        Close();
        co_return;
      }
      bytes.fetch_add(written, std::memory_order_relaxed);
      if (n >= kBulkRead) {
        small_reads = 0;
      } else if (++small_reads >= kBackToWait) {
        big.reset();
        small_reads = 0;
      }
      continue;
    }
    if (drained) {
      // The last read emptied the socket: wait for more rather than read into EAGAIN first.
      // (The wait re-arms the descriptor in epoll, which reports data that arrived meanwhile.)
      auto [wec] = co_await from.async_wait(tcp::socket::wait_read, kAsTuple);
      if (wec) {
        Close();
        co_return;
      }
      drained = false;
    }
    asio::error_code rec;
    char* buf = ScratchBuffer(max_read);
    const size_t n = from.read_some(asio::buffer(buf, max_read), rec);
    if (rec == asio::error::would_block || rec == asio::error::try_again) {
      drained = true;
      continue;
    }
    if (rec) {
      read_failed(rec);
      co_return;
    }
    asio::error_code sec;
    size_t sent = to.write_some(asio::buffer(buf, n), sec);
    if (sec == asio::error::would_block || sec == asio::error::try_again) {
      sent = 0;
    } else if (sec) {
      Close();
      co_return;
    }
    if (sent < n) {
      // The peer is slow: keep the rest in a buffer of our own until it is written.
      const size_t rest = n - sent;
      std::unique_ptr<char[]> pending(new char[rest]);
      std::memcpy(pending.get(), buf + sent, rest);
      auto [wec, written] = co_await asio::async_write(to, asio::buffer(pending.get(), rest), kAsTuple);
      if (wec) {
        Close();
        co_return;
      }
      sent += written;
    }
    bytes.fetch_add(sent, std::memory_order_relaxed);
    drained = n < max_read;
    // Uninitialised on purpose: pages are touched only by the data that arrives.
    if (n >= kBulkRead && max_read > kBulkRead) big.reset(new char[max_read]);
  }
}

Relay::Relay(asio::io_context& io, RelayOptions opts)
    : io_(io), opts_(opts), shared_(std::make_shared<Shared>(std::move(opts))) {}

Relay::~Relay() {
  StopListening();
  shared_->shut_down = true;
  shared_->destination.reset();
  shared_->CloseAll();
}

const Relay::Destination& Relay::destination() const { return shared_->destination; }

absl::Status Relay::StartListening() {
  if (acceptor_) return absl::OkStatus();
  asio::error_code ec;
  auto addr = asio::ip::make_address(opts_.listen_address, ec);
  if (ec) {
    // A host name: resolve it once (blocking is fine, this runs rarely).
    tcp::resolver resolver(io_);
    auto results = resolver.resolve(opts_.listen_address, std::to_string(opts_.port), ec);
    if (ec || results.empty())
      return absl::InvalidArgumentError(fmt::format(
          "cannot resolve listen address \"{}\": {}", opts_.listen_address, ec.message()));
    addr = results.begin()->endpoint().address();
  }
  tcp::endpoint ep(addr, opts_.port);
  auto acc = std::make_shared<tcp::acceptor>(io_);
  acc->open(ep.protocol(), ec);
  if (!ec) acc->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acc->bind(ep, ec);
  if (!ec) acc->listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return absl::UnavailableError(
        fmt::format("cannot listen on {}:{}: {}", opts_.listen_address, opts_.port, ec.message()));
  acceptor_ = acc;
  asio::co_spawn(io_, AcceptLoop(shared_, std::move(acc)), asio::detached);
  return absl::OkStatus();
}

void Relay::StopListening() {
  if (!acceptor_) return;
  asio::error_code ignored;
  acceptor_->close(ignored);
  acceptor_.reset();
}

uint16_t Relay::local_port() const {
  if (!acceptor_) return 0;
  asio::error_code ec;
  auto ep = acceptor_->local_endpoint(ec);
  return ec ? 0 : ep.port();
}

size_t Relay::SetDestination(Destination dest) {
  if (dest == shared_->destination) return 0;
  // Fence first: nothing may stay connected to the old destination once the new one is visible.
  size_t closed = shared_->CloseAll();
  shared_->destination = std::move(dest);
  return closed;
}

size_t Relay::CloseAll() { return shared_->CloseAll(); }

size_t Relay::open_connections() const { return shared_->sessions.size(); }

RelayStats Relay::stats() const {
  const Shared& s = *shared_;
  auto ld = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  return RelayStats{ld(s.open),          ld(s.accepted),        ld(s.refused),
                    ld(s.dial_failures), ld(s.closed_by_fencing), ld(s.bytes_to_server),
                    ld(s.bytes_to_client), ld(s.accept_errors)};
}

asio::awaitable<void> Relay::AcceptLoop(std::shared_ptr<Shared> shared,
                                        std::shared_ptr<tcp::acceptor> acceptor) {
  using namespace std::chrono_literals;
  auto backoff = 10ms;
  asio::steady_timer timer(acceptor->get_executor());
  while (acceptor->is_open()) {
    auto [ec, sock] = co_await acceptor->async_accept(kAsTuple);
    if (!acceptor->is_open() || shared->shut_down) co_return;  // StopListening or Relay gone
    if (ec) {
      // Typically EMFILE/ENFILE/ENOBUFS: the pending connection stays in the backlog; wait
      // rather than spin or die, doubling up to 1s while the failure persists.
      shared->accept_errors.fetch_add(1, std::memory_order_relaxed);
      spdlog::warn("accept failed: {}; retrying in {}ms", ec.message(), backoff.count());
      timer.expires_after(backoff);
      co_await timer.async_wait(kAsTuple);
      backoff = std::min<std::chrono::milliseconds>(backoff * 2, 1s);
      continue;
    }
    backoff = 10ms;
    shared->accepted.fetch_add(1, std::memory_order_relaxed);
    if (!shared->destination) {
      shared->refused.fetch_add(1, std::memory_order_relaxed);
      asio::error_code ignored;
      sock.close(ignored);
      continue;
    }
    asio::co_spawn(acceptor->get_executor(), Serve(shared, std::move(sock), *shared->destination),
                   asio::detached);
  }
}

asio::awaitable<void> Relay::Serve(std::shared_ptr<Shared> shared, tcp::socket client,
                                   tcp::endpoint dest) {
  // co_spawn starts this coroutine later than the accept: if the destination changed meanwhile,
  // the connection belongs to the new state, so re-check before registering.
  if (shared->shut_down || !shared->destination || *shared->destination != dest) {
    if (!shared->destination) {
      shared->refused.fetch_add(1, std::memory_order_relaxed);
      asio::error_code ignored;
      client.close(ignored);
      co_return;
    }
    dest = *shared->destination;
  }
  auto ex = client.get_executor();
  // On the heap rather than in the coroutine frame: keeps frames small (Asio recycles small
  // frames; GCC also misreports large ones under -fsanitize as mismatched new/delete).
  auto session = std::unique_ptr<Session>(new Session{std::move(client), tcp::socket(ex), false});
  Session& s = *session;
  shared->sessions.insert(&s);
  shared->open.fetch_add(1, std::memory_order_relaxed);
  struct Unregister {
    Shared& sh;
    Session& s;
    ~Unregister() {
      sh.sessions.erase(&s);
      sh.open.fetch_sub(1, std::memory_order_relaxed);
      s.Close();
    }
  } unregister{*shared, s};

  const RelayOptions& o = shared->opts;
  ConfigureClient(s.client, o);
  auto [cec] = co_await s.server.async_connect(dest, kAsTuple);
  if (cec || s.fenced) {
    if (!s.fenced) {
      shared->dial_failures.fetch_add(1, std::memory_order_relaxed);
      spdlog::debug("cannot connect to {}:{}: {}", dest.address().to_string(), dest.port(),
                    cec.message());
    }
    co_return;
  }
  asio::error_code ignored;
  s.server.set_option(tcp::no_delay(true), ignored);
  // Pump reads and writes without blocking (see there).
  s.client.non_blocking(true, ignored);
  s.server.non_blocking(true, ignored);

  co_await (s.Pump(s.client, s.server, o.buffer_size, shared->bytes_to_server) &&
            s.Pump(s.server, s.client, o.buffer_size, shared->bytes_to_client));
}

}  // namespace stolon::proxy
