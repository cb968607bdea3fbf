// The TCP relay of stolon-proxy: accepts client connections and pipes each one, byte for byte, to
// the current destination (the master PostgreSQL), never inspecting the protocol (stolon's pollon).
//
// Threading: a Relay lives on one executor (a single-threaded io_context in the daemon). Every
// method except stats() must be called on that executor's thread (from a handler posted to it,
// or before/after the io_context runs). The daemon's check loop therefore posts its decisions.
//
// Fencing (what keeps clients off an old master): any change of destination, including to or
// from "none", closes every proxied connection (both client and backend side) before the new
// destination is stored, so no connection accepted later can reach the old one and no old
// connection survives the switch. Setting the same destination again changes nothing. While the
// destination is none, accepted connections are closed at once.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <asio.hpp>

#include "absl/status/status.h"

namespace stolon::proxy {

struct RelayOptions {
  std::string listen_address = "127.0.0.1";
  uint16_t port = 5432;  // 0: pick a free port (tests); see local_port()
  // Client-socket keepalive tuning (SO_KEEPALIVE is always on); 0 keeps the OS default.
  std::chrono::seconds keepalive_idle{0};
  int keepalive_count = 0;
  std::chrono::seconds keepalive_interval{0};
  // The largest read per syscall. Reads go into one scratch buffer of this size per thread; a
  // session holds a buffer of its own only while its peer cannot take the data read for it.
  size_t buffer_size = 32 * 1024;
};

// Counters since construction; readable from any thread.
struct RelayStats {
  uint64_t open = 0;                // proxied connections open right now (incl. dialing)
  uint64_t accepted = 0;            // client connections accepted
  uint64_t refused = 0;             // closed at accept because there was no destination
  uint64_t dial_failures = 0;       // backend connect failed
  uint64_t closed_by_fencing = 0;   // closed by a destination change or CloseAll()
  uint64_t bytes_to_server = 0;     // client → backend
  uint64_t bytes_to_client = 0;     // backend → client
  uint64_t accept_errors = 0;       // accept() failures (each followed by a back-off)
};

class Relay {
 public:
  using Destination = std::optional<asio::ip::tcp::endpoint>;

  // Creates a relay that is not listening and has no destination.
  Relay(asio::io_context& io, RelayOptions opts);
  // Closes the listener and every connection. Coroutines still pending finish (with errors) when
  // the io_context next runs, or are destroyed with it; they never touch the Relay after this.
  ~Relay();
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  // Opens the listening socket on listen_address:port. Idempotent: OK when already listening.
  // Fails (and stays closed) when the address cannot be bound.
  absl::Status StartListening();
  // Closes the listening socket (pending accepts end); established connections are untouched.
  // No-op when not listening.
  void StopListening();
  bool listening() const { return acceptor_ != nullptr; }
  // The bound port while listening (useful with port 0), else 0.
  uint16_t local_port() const;

  // Sets where new connections go. If `dest` differs from the current destination, first closes
  // every proxied connection and returns how many were closed; same destination: returns 0 and
  // does nothing.
  size_t SetDestination(Destination dest);
  const Destination& destination() const;

  // Closes every proxied connection (keeping destination and listener). Returns how many.
  size_t CloseAll();

  size_t open_connections() const;
  RelayStats stats() const;

 private:
  struct Session;
  struct Shared;  // state shared with the coroutines, so they may outlive the Relay

  static asio::awaitable<void> AcceptLoop(std::shared_ptr<Shared> shared,
                                          std::shared_ptr<asio::ip::tcp::acceptor> acceptor);
  static asio::awaitable<void> Serve(std::shared_ptr<Shared> shared, asio::ip::tcp::socket client,
                                     asio::ip::tcp::endpoint dest);

  asio::io_context& io_;
  RelayOptions opts_;
  std::shared_ptr<Shared> shared_;
  std::shared_ptr<asio::ip::tcp::acceptor> acceptor_;
};

}  // namespace stolon::proxy
