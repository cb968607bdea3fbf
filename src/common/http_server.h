// A minimal HTTP/1.1 server for --metrics-listen-address: GET requests routed by exact path
// (query strings ignored), one request per connection, "Connection: close". It serves
// /metrics (Prometheus text), /health and program-specific paths such as the proxy's /master.
//
// HttpServer runs on an io_context the caller owns; handlers run on that io_context's threads.
// MetricsEndpoint wraps one on its own io_context and thread, for programs whose other threads
// block (the keeper's and the sentinel's loops), so scrapes are answered meanwhile.
#pragma once

#include <asio.hpp>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/metrics.h"

namespace stolon {

struct HttpResponse {
  int status = 200;
  std::string body;
  std::string content_type = "text/plain; charset=utf-8";
};
using HttpHandler = std::function<HttpResponse()>;

// The Prometheus text exposition content type.
inline constexpr const char* kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

// Parses a listen address: "host:port", ":port" (all interfaces) or "[v6]:port"; host is an IP
// address or a name resolved now (e.g. localhost). InvalidArgument, naming `flag`, otherwise.
absl::StatusOr<asio::ip::tcp::endpoint> ParseListenAddress(
    const std::string& address, const std::string& flag = "--metrics-listen-address");

// 200 "ok" when `s` is OK, else 503 with the status message as its one line.
HttpResponse HealthResponse(const absl::Status& s);
// 200 with `r.Render()` as Prometheus text.
HttpResponse MetricsResponse(const MetricsRegistry& r);

class HttpServer {
 public:
  explicit HttpServer(asio::io_context& io);
  // Closes the listener; connections still being served finish on their own.
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Routes GET `path` to `handler`. REQUIRES: called before Start().
  void Handle(std::string path, HttpHandler handler);
  // Binds and listens on `address` (ParseListenAddress), then serves on the io_context.
  // InvalidArgument for a malformed address, Unavailable when it cannot be bound.
  absl::Status Start(const std::string& address);
  // Closes the listener. Call on the io_context's thread, or while it is not running.
  void Stop();
  // The bound port (useful with port 0); 0 when not listening. Thread-safe after Start().
  uint16_t port() const { return port_; }

 private:
  struct Shared;
  static asio::awaitable<void> AcceptLoop(std::shared_ptr<Shared> shared,
                                          std::shared_ptr<asio::ip::tcp::acceptor> acceptor);
  static asio::awaitable<void> Serve(std::shared_ptr<Shared> shared, asio::ip::tcp::socket s);

  asio::io_context& io_;
  std::shared_ptr<Shared> shared_;
  std::shared_ptr<asio::ip::tcp::acceptor> acceptor_;
  std::atomic<uint16_t> port_{0};
};

// An HttpServer on its own io_context and thread.
class MetricsEndpoint {
 public:
  MetricsEndpoint();
  ~MetricsEndpoint();  // Stop()
  // See HttpServer::Handle. REQUIRES: before Start().
  void Handle(std::string path, HttpHandler handler) {
    server_.Handle(std::move(path), std::move(handler));
  }
  // Binds `address` and starts the serving thread. Errors as HttpServer::Start.
  absl::Status Start(const std::string& address);
  // For the daemons' --metrics-listen-address: nothing when `address` is empty, else Start and
  // log "serving /metrics and /health" with the address and the bound port.
  absl::Status StartIfConfigured(const std::string& address);
  // Stops serving and joins the thread (idempotent; any thread but the serving one).
  void Stop();
  uint16_t port() const { return server_.port(); }

 private:
  asio::io_context io_{1};
  HttpServer server_{io_};
  std::thread thread_;
};

}  // namespace stolon
