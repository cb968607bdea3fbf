#include "proxy/relay.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <latch>
#include <system_error>
#include <thread>
#include <utility>

#include "fmt/format.h"
#include "spdlog/spdlog.h"

namespace stolon::proxy {

using asio::ip::tcp;

// Each relay thread counts in its own cache line and is the only writer of it, so counting costs
// a plain add (no locked instruction, no line bouncing between CPUs); stats() sums the threads.
struct alignas(64) Relay::Counters {
  std::atomic<uint64_t> accepted{0}, refused{0}, dial_failures{0}, closed_by_fencing{0},
      bytes_to_server{0}, bytes_to_client{0}, accept_errors{0}, open{0};
};

namespace {

constexpr uint64_t kWakeTag = 1;    // epoll data of the worker's eventfd
constexpr uint64_t kListenTag = 2;  // epoll data of the listening socket
// Reads one direction makes per wake-up before it lets the thread's other sessions run (a bulk
// transfer must not starve them); it continues after the next epoll_wait.
constexpr int kReadsPerTurn = 16;
// Accepts per listener event. The listener is level-triggered: a backlog left over shows up again
// in the next epoll_wait, which the thread makes anyway, so taking one connection per turn costs
// no extra call in a burst and saves the accept that would end in EAGAIN when one client comes
// at a time (pgbench -C, connection-per-request clients).
constexpr int kAcceptsPerTurn = 1;

// Adds to a counter only the calling thread writes (readers on other threads see whole values).
void Add(std::atomic<uint64_t>& counter, uint64_t n) {
  counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}
void Sub(std::atomic<uint64_t>& counter, uint64_t n) {
  counter.store(counter.load(std::memory_order_relaxed) - n, std::memory_order_relaxed);
}

std::system_error SysError(const char* what) {
  return std::system_error(errno, std::generic_category(), what);
}

struct Session;

// One socket of a session, and the data read from the other socket that it has not taken yet.
struct Side {
  Session* session = nullptr;
  int fd = -1;
  bool read_done = false;  // EOF read from this socket
  std::unique_ptr<char[]> pending;
  size_t pending_off = 0, pending_len = 0;
  std::atomic<uint64_t>* bytes_in = nullptr;  // counts what is written *to* this socket
};

struct Session {
  Side client, server;
  tcp::endpoint dest;
  bool connecting = true;
  uint32_t client_events = 0;  // what epoll reported for the client while connecting
  bool closed = false;
  Session* prev = nullptr;
  Session* next = nullptr;
};

Side& Other(Side& s) {
  Session& x = *s.session;
  return &s == &x.client ? x.server : x.client;
}

// Best-effort socket tuning; a failure only costs latency, so it is logged at debug level.
void SetIntOption(int fd, int level, int name, int value, const char* what) {
  if (setsockopt(fd, level, name, &value, sizeof value) != 0) {
    spdlog::debug("setsockopt {} failed: {}", what, std::strerror(errno));
  }
}

// Set on the listening socket: Linux copies these options to every socket it accepts, which
// saves two to five setsockopt calls per connection.
void ConfigureClients(int fd, const RelayOptions& o) {
  SetIntOption(fd, IPPROTO_TCP, TCP_NODELAY, 1, "TCP_NODELAY");
  SetIntOption(fd, SOL_SOCKET, SO_KEEPALIVE, 1, "SO_KEEPALIVE");
  if (o.keepalive_idle.count() > 0)
    SetIntOption(fd, IPPROTO_TCP, TCP_KEEPIDLE, static_cast<int>(o.keepalive_idle.count()),
                 "TCP_KEEPIDLE");
  if (o.keepalive_count > 0)
    SetIntOption(fd, IPPROTO_TCP, TCP_KEEPCNT, o.keepalive_count, "TCP_KEEPCNT");
  if (o.keepalive_interval.count() > 0)
    SetIntOption(fd, IPPROTO_TCP, TCP_KEEPINTVL, static_cast<int>(o.keepalive_interval.count()),
                 "TCP_KEEPINTVL");
}

}  // namespace

// A relay thread: its epoll set, the sessions it accepted, and a queue of control calls.
class Relay::Worker {
 public:
  explicit Worker(Relay& relay)
      : relay_(relay),
        opts_(relay.opts_),
        scratch_(new char[opts_.buffer_size]) {  // uninitialised: pages are touched only by data
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epfd_ < 0) throw SysError("epoll_create1");
    wakefd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wakefd_ < 0) {
      int e = errno;
      close(epfd_);
      throw std::system_error(e, std::generic_category(), "eventfd");
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kWakeTag;
    epoll_ctl(epfd_, EPOLL_CTL_ADD, wakefd_, &ev);
    thread_ = std::thread([this] { Run(); });
  }

  ~Worker() {
    Post([this] { stop_ = true; });
    thread_.join();
    CloseAllSessions();
    FreeDead();
    close(wakefd_);
    close(epfd_);
  }

  // Queues `f` to run on this worker's thread (thread-safe).
  void Post(std::function<void()> f) {
    {
      std::lock_guard l(mu_);
      queue_.push_back(std::move(f));
    }
    uint64_t one = 1;
    ssize_t r = write(wakefd_, &one, sizeof one);
    (void)r;  // the eventfd cannot overflow at these counts
  }

  // The following run on the worker's thread (through Post).
  void AddListener(int fd) {
    listen_fd_ = fd;
    accept_paused_ = false;
    backoff_ = std::chrono::milliseconds(10);
    WatchListener();
  }
  void RemoveListener() {
    if (listen_fd_ >= 0 && !accept_paused_) epoll_ctl(epfd_, EPOLL_CTL_DEL, listen_fd_, nullptr);
    listen_fd_ = -1;
    accept_paused_ = false;
  }
  size_t CloseAllSessions() {
    size_t n = 0;
    while (head_) {
      Close(*head_);
      ++n;
    }
    return n;
  }

 private:
  void WatchListener() {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLEXCLUSIVE;  // level-triggered; one waiting thread per wake-up
    ev.data.u64 = kListenTag;
    if (epoll_ctl(epfd_, EPOLL_CTL_ADD, listen_fd_, &ev) != 0)
      spdlog::error("relay: cannot watch the listening socket: {}", std::strerror(errno));
  }

  void Run() {
    std::vector<epoll_event> events(256);
    while (!stop_) {
      int timeout = -1;
      if (!again_.empty()) {
        timeout = 0;
      } else if (accept_paused_) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            accept_resume_ - std::chrono::steady_clock::now());
        timeout = static_cast<int>(std::max<int64_t>(left.count() + 1, 0));
      }
      int n = epoll_wait(epfd_, events.data(), static_cast<int>(events.size()), timeout);
      if (n < 0 && errno != EINTR) {
        spdlog::error("relay: epoll_wait failed: {}", std::strerror(errno));
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      for (int i = 0; i < n; ++i) {
        const uint64_t tag = events[i].data.u64;
        if (tag == kWakeTag) {
          RunQueued();
        } else if (tag == kListenTag) {
          if (listen_fd_ >= 0 && !accept_paused_) Accept();
        } else {
          OnEvents(*static_cast<Side*>(events[i].data.ptr), events[i].events);
        }
      }
      if (!again_.empty()) {
        std::vector<Side*> again;
        again.swap(again_);
        for (Side* s : again)
          if (!s->session->closed) Pump(*s, true);
      }
      if (accept_paused_ && std::chrono::steady_clock::now() >= accept_resume_ && listen_fd_ >= 0) {
        accept_paused_ = false;
        WatchListener();
      }
      FreeDead();
    }
  }

  void RunQueued() {
    uint64_t v;
    ssize_t r = read(wakefd_, &v, sizeof v);
    (void)r;
    std::vector<std::function<void()>> q;
    {
      std::lock_guard l(mu_);
      q.swap(queue_);
    }
    for (auto& f : q) f();
  }

  void Accept() {
    for (int i = 0; i < kAcceptsPerTurn; ++i) {
      int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) continue;
        // Typically EMFILE/ENFILE/ENOBUFS: the pending connection stays in the backlog; stop
        // watching the listener for a while rather than spin, doubling up to 1s.
        Add(c_.accept_errors, 1);
        spdlog::warn("accept failed: {}; retrying in {}ms", std::strerror(errno), backoff_.count());
        epoll_ctl(epfd_, EPOLL_CTL_DEL, listen_fd_, nullptr);
        accept_paused_ = true;
        accept_resume_ = std::chrono::steady_clock::now() + backoff_;
        backoff_ = std::min<std::chrono::milliseconds>(backoff_ * 2, std::chrono::seconds(1));
        return;
      }
      backoff_ = std::chrono::milliseconds(10);
      Add(c_.accepted, 1);
      // The thread woken for the listener may take many connections in a row (pgbench opens
      // all of its clients at once): each goes to the thread with the fewest, so that all
      // threads share the load.
      Worker& target = relay_.LeastLoaded(*this);
      target.load_.fetch_add(1, std::memory_order_relaxed);
      if (&target == this) {
        Adopt(fd);
      } else {
        target.Post([&target, fd] { target.Adopt(fd); });
      }
    }
  }

 public:
  // Serves a connection accepted for this thread. The destination is read here, on the thread
  // that will own the session, so a fence (which runs on every thread after the destination
  // changed) closes it if it was made with the old one.
  void Adopt(int client_fd) {
    Destination dest = relay_.destination();
    if (!dest && relay_.fencing_.load()) {
      // A destination change is closing the old connections on every thread: this one belongs
      // to the new destination, so it waits (behind this thread's own fence) instead of failing.
      Post([this, client_fd] { Adopt(client_fd); });
      return;
    }
    if (!dest) {
      Add(c_.refused, 1);
      close(client_fd);
      load_.fetch_sub(1, std::memory_order_relaxed);
      return;
    }
    StartSession(client_fd, *dest);
  }

  size_t load() const { return load_.load(std::memory_order_relaxed); }
  const Counters& counters() const { return c_; }

 private:
  void StartSession(int client_fd, const tcp::endpoint& dest) {
    int sfd = socket(dest.protocol().family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (sfd < 0) {
      DialFailed(dest, std::strerror(errno));
      close(client_fd);
      load_.fetch_sub(1, std::memory_order_relaxed);
      return;
    }
    SetIntOption(sfd, IPPROTO_TCP, TCP_NODELAY, 1, "TCP_NODELAY");
    bool connected = connect(sfd, dest.data(), static_cast<socklen_t>(dest.size())) == 0;
    if (!connected && errno != EINPROGRESS) {
      DialFailed(dest, std::strerror(errno));
      close(sfd);
      close(client_fd);
      load_.fetch_sub(1, std::memory_order_relaxed);
      return;
    }
    auto* s = new Session;
    s->client = Side{s, client_fd};
    s->server = Side{s, sfd};
    s->dest = dest;
    s->server.bytes_in = &c_.bytes_to_server;
    s->client.bytes_in = &c_.bytes_to_client;
    s->next = head_;
    if (head_) head_->prev = s;
    head_ = s;
    Add(c_.open, 1);
    // Edge-triggered: each socket is registered once, for both directions, for its lifetime.
    for (Side* side : {&s->client, &s->server}) {
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
      ev.data.ptr = side;
      if (epoll_ctl(epfd_, EPOLL_CTL_ADD, side->fd, &ev) != 0) {
        spdlog::warn("relay: cannot watch a connection: {}", std::strerror(errno));
        Close(*s);
        return;
      }
    }
    // Connected already (possible on loopback): the events queued when the sockets were added
    // to the epoll set start the relay.
    if (connected) s->connecting = false;
  }

  void DialFailed(const tcp::endpoint& dest, const char* why) {
    Add(c_.dial_failures, 1);
    spdlog::debug("cannot connect to {}:{}: {}", dest.address().to_string(), dest.port(), why);
  }

  // The backend connection is made; `server_events` came with the news. Each socket is read
  // only if epoll said it had something, so no read of a connection's start ends in EAGAIN.
  void Connected(Session& s, uint32_t server_events) {
    s.connecting = false;
    constexpr uint32_t kHangup = EPOLLRDHUP | EPOLLHUP | EPOLLERR;
    // Data (the startup packet) or a FIN the client sent while the backend was being dialled.
    if (s.client_events & (EPOLLIN | kHangup)) Pump(s.client, (s.client_events & kHangup) != 0);
    if (!s.closed && (server_events & (EPOLLIN | kHangup)))
      Pump(s.server, (server_events & kHangup) != 0);
  }

  void OnEvents(Side& side, uint32_t events) {
    Session& s = *side.session;
    if (s.closed) return;
    if (s.connecting) {
      // Client data waits in the kernel until the backend connection is made; the edge that
      // announced it is remembered, as edge-triggered epoll will not repeat it.
      if (&side == &s.client) {
        s.client_events |= events;
        return;
      }
      if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
      if (events & (EPOLLERR | EPOLLHUP)) {  // refused, unreachable, reset: say why and close
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(s.server.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
        DialFailed(s.dest, err != 0 ? std::strerror(err) : "connection closed while connecting");
        Close(s);
        return;
      }
      Connected(s, events);
      return;
    }
    if ((events & EPOLLOUT) && side.pending) {
      if (!Flush(side)) return;  // still waiting, or closed
      // Written out: the other socket may have data it stopped reading for us, and an EOF whose
      // event came while it was paused.
      Pump(Other(side), true);
      if (s.closed) return;
    }
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
      if (side.read_done && (events & EPOLLERR)) {
        Close(s);  // nothing more can be read and the socket failed: the session is over
        return;
      }
      // A peer's FIN that came before this event was collected shows as EPOLLRDHUP and raises
      // no further event: read up to the EOF then, not only up to the first short read.
      Pump(side, (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0);
    }
  }

  // Writes side.pending to side.fd. True when everything is written; false when the socket is
  // full (EPOLLOUT will call again) or the session was closed.
  bool Flush(Side& to) {
    while (to.pending_off < to.pending_len) {
      ssize_t w = send(to.fd, to.pending.get() + to.pending_off, to.pending_len - to.pending_off,
                       MSG_NOSIGNAL);
      if (w < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
        Close(*to.session);
        return false;
      }
      to.pending_off += static_cast<size_t>(w);
      Add(*to.bytes_in, static_cast<uint64_t>(w));
    }
    to.pending.reset();
    to.pending_off = to.pending_len = 0;
    return true;
  }

  // Copies from `from` to the other socket until `from` is empty, the other socket is full, or
  // kReadsPerTurn reads were made. A read that returned less than it asked for emptied the socket
  // (TCP hands over all it holds, up to the size asked), so no read ends in EAGAIN in the usual
  // request/response exchange; with edge-triggered epoll the next arrival, data or FIN, wakes us
  // again. `to_the_end` reads on until EAGAIN or EOF instead: for a socket whose events were not
  // all seen (a FIN already reported, a pause for backpressure, a backend still connecting).
  void Pump(Side& from, bool to_the_end = false) {
    Side& to = Other(from);
    Session& s = *from.session;
    if (from.read_done || to.pending || s.closed) return;
    const size_t max = opts_.buffer_size;
    char* buf = scratch_.get();
    for (int i = 0; i < kReadsPerTurn; ++i) {
      ssize_t n = recv(from.fd, buf, max, 0);
      if (n > 0) {
        ssize_t w = send(to.fd, buf, static_cast<size_t>(n), MSG_NOSIGNAL);
        if (w < 0) {
          if (errno != EAGAIN && errno != EWOULDBLOCK) {
            Close(s);
            return;
          }
          w = 0;
        }
        Add(*to.bytes_in, static_cast<uint64_t>(w));
        if (w < n) {
          // The peer is slow: keep the rest until EPOLLOUT; stop reading meanwhile.
          to.pending_len = static_cast<size_t>(n - w);
          to.pending.reset(new char[to.pending_len]);
          std::memcpy(to.pending.get(), buf + w, to.pending_len);
          return;
        }
        if (static_cast<size_t>(n) < max && !to_the_end) return;
        continue;
      }
      if (n == 0) {
        from.read_done = true;
        if (to.read_done) {
          Close(s);  // both directions finished
        } else {
          shutdown(to.fd, SHUT_WR);  // half-close: the other direction keeps going
        }
        return;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      Close(s);
      return;
    }
    again_.push_back(&from);
  }

  void Close(Session& s) {
    if (s.closed) return;
    s.closed = true;
    close(s.client.fd);  // also removes it from the epoll set
    close(s.server.fd);
    if (s.prev)
      s.prev->next = s.next;
    else
      head_ = s.next;
    if (s.next) s.next->prev = s.prev;
    Sub(c_.open, 1);
    load_.fetch_sub(1, std::memory_order_relaxed);
    dead_.push_back(&s);  // freed after the current batch of events, which may name it
  }

  void FreeDead() {
    if (dead_.empty()) return;
    std::erase_if(again_, [](Side* s) { return s->session->closed; });
    for (Session* s : dead_) delete s;
    dead_.clear();
  }

  Relay& relay_;
  const RelayOptions& opts_;
  Counters c_;  // this thread's share of the relay's counters
  std::unique_ptr<char[]> scratch_;
  int epfd_ = -1;
  int wakefd_ = -1;
  std::mutex mu_;
  std::vector<std::function<void()>> queue_;
  Session* head_ = nullptr;
  std::vector<Session*> dead_;
  std::vector<Side*> again_;
  int listen_fd_ = -1;
  bool accept_paused_ = false;
  std::chrono::steady_clock::time_point accept_resume_;
  std::chrono::milliseconds backoff_{10};
  bool stop_ = false;
  // Sessions this thread serves plus connections handed to it and not yet adopted.
  std::atomic<size_t> load_{0};
  std::thread thread_;
};

Relay::Worker& Relay::LeastLoaded(Worker& self) {
  Worker* best = &self;
  // Another thread takes the connection only if it serves at least two fewer: handing over costs
  // a wake-up of that thread (the client waits for it), and by one it would only swap the
  // imbalance. The threads' counts stay within two of each other.
  const size_t own = self.load();  // other threads may add to it meanwhile: read it once
  size_t best_load = own > 0 ? own - 1 : 0;
  for (auto& w : workers_) {
    const size_t l = w->load();
    if (l < best_load) {
      best = w.get();
      best_load = l;
    }
  }
  return *best;
}

namespace {

// The CPUs this process may run on (a container's cpuset, taskset), as HAProxy counts them.
unsigned UsableCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
    return static_cast<unsigned>(CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace

Relay::Relay(RelayOptions opts) : opts_(std::move(opts)), counters_(std::make_unique<Counters>()) {
  const unsigned n = opts_.threads == 0 ? UsableCpus() : opts_.threads;
  for (unsigned i = 0; i < n; ++i) workers_.push_back(std::make_unique<Worker>(*this));
}

Relay::~Relay() {
  StopListening();
  SetDestination(std::nullopt);
  workers_.clear();  // each worker stops its thread and closes what is left
}

void Relay::OnEveryWorker(const std::function<void(Worker&)>& f) {
  std::latch done(static_cast<std::ptrdiff_t>(workers_.size()));
  for (auto& w : workers_) {
    Worker* wp = w.get();
    wp->Post([wp, &f, &done] {
      f(*wp);
      done.count_down();
    });
  }
  done.wait();
}

Relay::Destination Relay::destination() const {
  std::lock_guard l(dest_mu_);
  return destination_;
}

absl::Status Relay::StartListening() {
  std::lock_guard control(control_mu_);
  if (listen_fd_ >= 0) return absl::OkStatus();
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(opts_.port);
  if (int rc = getaddrinfo(opts_.listen_address.c_str(), port.c_str(), &hints, &res);
      rc != 0 || !res)
    return absl::InvalidArgumentError(fmt::format("cannot resolve listen address \"{}\": {}",
                                                  opts_.listen_address, gai_strerror(rc)));
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> guard(res, freeaddrinfo);
  int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  if (fd >= 0) ConfigureClients(fd, opts_);
  bool ok = fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0 &&
            bind(fd, res->ai_addr, res->ai_addrlen) == 0 && listen(fd, SOMAXCONN) == 0;
  if (!ok) {
    std::string why = std::strerror(errno);
    if (fd >= 0) close(fd);
    return absl::UnavailableError(
        fmt::format("cannot listen on {}:{}: {}", opts_.listen_address, opts_.port, why));
  }
  OnEveryWorker([fd](Worker& w) { w.AddListener(fd); });
  listen_fd_ = fd;
  return absl::OkStatus();
}

void Relay::StopListening() {
  std::lock_guard control(control_mu_);
  if (listen_fd_ < 0) return;
  // Every thread forgets the socket before it is closed, so none can accept on a reused number.
  OnEveryWorker([](Worker& w) { w.RemoveListener(); });
  close(listen_fd_);
  listen_fd_ = -1;
}

bool Relay::listening() const {
  std::lock_guard control(control_mu_);
  return listen_fd_ >= 0;
}

uint16_t Relay::local_port() const {
  std::lock_guard control(control_mu_);
  if (listen_fd_ < 0) return 0;
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return 0;
  if (addr.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
  return ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
}

size_t Relay::SetDestination(Destination dest) {
  std::lock_guard control(control_mu_);
  {
    std::lock_guard l(dest_mu_);
    if (dest == destination_) return 0;
    // Fence first: while the old connections are being closed, new ones wait.
    destination_.reset();
    fencing_ = dest.has_value();
  }
  const size_t closed = CloseEverywhere();
  std::lock_guard l(dest_mu_);
  destination_ = std::move(dest);
  fencing_ = false;
  return closed;
}

size_t Relay::CloseAll() {
  std::lock_guard control(control_mu_);
  return CloseEverywhere();
}

size_t Relay::CloseEverywhere() {
  std::atomic<size_t> closed{0};
  OnEveryWorker([&closed](Worker& w) { closed += w.CloseAllSessions(); });
  counters_->closed_by_fencing.fetch_add(closed, std::memory_order_relaxed);
  return closed;
}

size_t Relay::open_connections() const { return stats().open; }

unsigned Relay::threads() const { return static_cast<unsigned>(workers_.size()); }

RelayStats Relay::stats() const {
  auto ld = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  RelayStats r;
  r.closed_by_fencing = ld(counters_->closed_by_fencing);
  for (const auto& w : workers_) {
    const Counters& c = w->counters();
    r.open += ld(c.open);
    r.accepted += ld(c.accepted);
    r.refused += ld(c.refused);
    r.dial_failures += ld(c.dial_failures);
    r.bytes_to_server += ld(c.bytes_to_server);
    r.bytes_to_client += ld(c.bytes_to_client);
    r.accept_errors += ld(c.accept_errors);
  }
  return r;
}

}  // namespace stolon::proxy
