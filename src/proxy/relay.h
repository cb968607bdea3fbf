// The TCP relay of stolon-proxy: accepts client connections and pipes each one, byte for byte, to
// the current destination (the master PostgreSQL), never inspecting the protocol (stolon's pollon).
//
// Data path: `threads` relay threads, each with its own edge-triggered epoll set. Every thread
// waits on the listening socket (EPOLLEXCLUSIVE: one thread is woken per burst of connections)
// and hands each connection it accepts to the thread serving the fewest, which keeps it until it
// closes, so a connection never changes threads again and its state needs no lock. Per message one
// recv into the thread's scratch buffer and one send to the peer: a short read means the socket is
// empty and the next edge will say when more arrives, so no read ever ends in EAGAIN and no
// per-message epoll_ctl is needed. Only data the peer cannot take right now is copied into a buffer
// of the session (freed once written), and the direction stops reading until it is written
// (backpressure). An idle session owns no buffer. Per connection: TCP_NODELAY and the keepalive
// options come from the listening socket (Linux copies them to accepted sockets), one accept per
// listener event (the level-triggered listener reports a backlog again), and a socket is read
// only after epoll reported it, also while the backend is being dialled.
//
// Threading of the API: every method may be called from any thread except the relay's own (the
// daemon calls them from its io thread, tests from theirs). Control calls (listening, destination,
// CloseAll) are serialised among themselves and wait until every relay thread has applied them.
//
// Fencing (what keeps clients off an old master): any change of destination, including to or
// from "none", first sets the destination to none and closes every proxied connection (both
// client and backend side) on every relay thread, and only then stores the new destination: when
// SetDestination returns, no connection to the old destination is left and none accepted later
// can reach it; a connection accepted meanwhile waits and goes to the new destination. Setting the
// same destination again changes nothing. While the destination is none, accepted connections are
// closed at once.
#pragma once

#include <asio/ip/tcp.hpp>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace stolon::proxy {

struct RelayOptions {
  std::string listen_address = "127.0.0.1";
  uint16_t port = 5432;  // 0: pick a free port (tests); see local_port()
  // Client-socket keepalive tuning (SO_KEEPALIVE is always on); 0 keeps the OS default.
  std::chrono::seconds keepalive_idle{0};
  int keepalive_count = 0;
  std::chrono::seconds keepalive_interval{0};
  // The largest read per syscall, and the size of each relay thread's scratch buffer.
  size_t buffer_size = 32 * 1024;
  // Relay threads; 0 means one per CPU this process may run on (its affinity mask).
  unsigned threads = 1;
};

// Counters since construction; readable from any thread.
struct RelayStats {
  uint64_t open = 0;               // proxied connections open right now (incl. dialing)
  uint64_t accepted = 0;           // client connections accepted
  uint64_t refused = 0;            // closed at accept because there was no destination
  uint64_t dial_failures = 0;      // backend connect failed
  uint64_t closed_by_fencing = 0;  // closed by a destination change or CloseAll()
  uint64_t bytes_to_server = 0;    // client → backend
  uint64_t bytes_to_client = 0;    // backend → client
  uint64_t accept_errors = 0;      // accept() failures (each followed by a back-off)
};

class Relay {
 public:
  using Destination = std::optional<asio::ip::tcp::endpoint>;

  // Starts the relay threads; the relay is not listening and has no destination. Throws
  // std::system_error when the OS refuses the epoll set or a thread.
  explicit Relay(RelayOptions opts);
  // Stops listening, closes every connection and joins the relay threads.
  ~Relay();
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  // Opens the listening socket on listen_address:port. Idempotent: OK when already listening.
  // Fails (and stays closed) when the address cannot be resolved or bound.
  absl::Status StartListening();
  // Closes the listening socket; established connections are untouched. No-op when not listening.
  void StopListening();
  bool listening() const;
  // The bound port while listening (useful with port 0), else 0.
  uint16_t local_port() const;

  // Sets where new connections go. If `dest` differs from the current destination, first closes
  // every proxied connection and returns how many were closed; same destination: returns 0 and
  // does nothing.
  size_t SetDestination(Destination dest);
  Destination destination() const;

  // Closes every proxied connection (keeping destination and listener). Returns how many.
  size_t CloseAll();

  size_t open_connections() const;
  RelayStats stats() const;
  unsigned threads() const;

 private:
  struct Counters;
  class Worker;

  // The relay thread with the fewest connections (`self` unless another has fewer).
  Worker& LeastLoaded(Worker& self);
  // Closes every session on every relay thread, counts them as fenced; returns how many.
  size_t CloseEverywhere();
  // Runs `f` on every relay thread and returns when all have run it.
  void OnEveryWorker(const std::function<void(Worker&)>& f);

  const RelayOptions opts_;
  mutable std::mutex control_mu_;  // serialises the control calls
  mutable std::mutex dest_mu_;
  Destination destination_;  // read by the relay threads at accept time
  // Set while a change to a new destination closes the old connections: accepted connections
  // wait for the new destination instead of being refused.
  std::atomic<bool> fencing_{false};
  int listen_fd_ = -1;  // owned by the control calls
  std::unique_ptr<Counters> counters_;
  std::vector<std::unique_ptr<Worker>> workers_;
};

}  // namespace stolon::proxy
