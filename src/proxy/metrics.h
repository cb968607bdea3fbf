// A minimal Prometheus endpoint for stolon-proxy (--metrics-listen-address): GET /metrics
// answers with the text exposition format; anything else is 404. One request per connection.
//
// Runs on the relay's executor; `render` is called there for every scrape.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <asio.hpp>

#include "absl/status/status.h"

namespace stolon::proxy {

class MetricsServer {
 public:
  MetricsServer(asio::io_context& io, std::function<std::string()> render);
  ~MetricsServer();
  // Listens on `address` ("host:port", ":port" or "[v6]:port"). InvalidArgument for a malformed
  // address, Unavailable when it cannot be bound.
  absl::Status Start(const std::string& address);
  void Stop();
  uint16_t port() const;

 private:
  asio::awaitable<void> AcceptLoop(std::shared_ptr<asio::ip::tcp::acceptor> acceptor);
  asio::awaitable<void> Serve(asio::ip::tcp::socket s);

  asio::io_context& io_;
  std::function<std::string()> render_;
  std::shared_ptr<asio::ip::tcp::acceptor> acceptor_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// The proxy's metrics in the text exposition format.
struct RelayStats;
std::string RenderProxyMetrics(const std::string& cluster_name, const RelayStats& s);

}  // namespace stolon::proxy
