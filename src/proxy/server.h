// ProxyServer: the heart of stolon-proxy (ProxyDaemon in proxy/daemon.h wires it to the store and
// the stop signals). It owns the io_context (one thread: the timeout checker, the metrics
// endpoint, and the calls into the relay), the Relay
// (with its own relay threads, see relay.h), and the check-loop thread that talks to the store and
// posts its decisions to the io_context.
//
// Timeout checker (stolon TimeoutChecker): a timer of proxyTimeout re-armed by every successful
// check. When it fires, every connection is closed and, with --stop-listening, the listener too;
// the next successful check reopens it. A proxy whose first checks fail never listens.
//
// With --metrics-listen-address, an HTTP endpoint on the io thread serves /metrics (stolon's
// stolon_cluster_identifier and stolon_proxy_health, plus the relay's counters, the current
// destination, the age of the last successful check and whether the proxy listens), /health
// (503 while the checks fail or the proxyTimeout fired) and /master (200 only while the proxy
// routes to the elected master: what an external load balancer follows).
#pragma once

#include <asio.hpp>
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "absl/status/status.h"
#include "common/clock.h"
#include "common/http_server.h"
#include "common/metrics.h"
#include "proxy/checker.h"
#include "proxy/config.h"
#include "proxy/relay.h"

namespace stolon::proxy {

class ProxyServer final : private RelayControl {
 public:
  // `store` must outlive the server. `uid` is this proxy's uid (a random 8-hex per start).
  ProxyServer(const ProxyConfig& config, ProxyStore& store, std::string uid);
  ~ProxyServer() override;

  // Starts /metrics, /health and /master when --metrics-listen-address is set (Run() does it
  // otherwise). The error names the address.
  absl::Status StartEndpoint();
  // Runs until Stop(), then closes everything. Returns the exit code: 0, or 1 when the metrics
  // endpoint cannot listen.
  int Run();
  // Asks Run() to return (thread-safe).
  void Stop();
  // A clusterdata document seen by a store watch (thread-safe; one caller thread). When the route
  // it implies differs from the previous document's, the next check starts now instead of after
  // the check interval: a new master is followed within a store round trip. The check itself
  // still reads the store, so a watch is only ever a hint.
  void OnClusterDataChanged(const std::string& json);

  // For tests: the relay's counters and the uid.
  RelayStats stats() const { return relay_.stats(); }
  const std::string& uid() const { return checker_.uid(); }
  // The metrics registry (/metrics). For tests: render it only while Run() is not running (its
  // collectors read the relay, which belongs to the io thread).
  const MetricsRegistry& metrics() const { return metrics_; }
  // The metrics port once Run() started it (0 when disabled); thread-safe after startup.
  uint16_t metrics_port() const { return metrics_port_.load(); }

 private:
  // RelayControl, called from the check thread: each runs on the io thread and waits for it.
  absl::Status StartListening() override;
  size_t SetDestination(std::optional<asio::ip::tcp::endpoint> dest) override;

  // Runs `f` on the io thread and returns its result; returns `def` once stopping.
  template <class T, class F>
  T OnIo(F f, T def);

  void CheckLoop();
  void DeclareMetrics();
  // The HTTP handlers (io thread).
  absl::Status Health() const;
  HttpResponse Master() const;
  void ArmTimeout(Duration d);  // io thread
  void OnTimeout(Duration d);   // io thread
  void Shutdown();              // io thread

  ProxyConfig config_;
  asio::io_context io_{1};
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  Relay relay_;
  MetricsRegistry metrics_;
  HttpServer http_;
  std::atomic<uint16_t> metrics_port_{0};
  const SteadyTime started_ = std::chrono::steady_clock::now();
  // What the health endpoint reports. Written by the check thread (check results) and the io
  // thread (timeout); read on the io thread.
  mutable std::mutex health_mu_;
  std::string last_check_error_ = "no check completed yet";  // "" after a successful check
  std::optional<SteadyTime> last_success_;
  bool timed_out_ = false;  // the proxyTimeout fired since the last successful check
  Duration timeout_fired_after_{0};
  asio::steady_timer timeout_timer_;
  bool endpoint_started_ = false;
  RandomIdGenerator ids_;
  Checker checker_;

  std::atomic<bool> stopping_{false};
  std::mutex mu_;  // guards the check loop's sleep and wake_
  std::condition_variable cv_;
  bool wake_ = false;
  std::optional<RouteDecision> last_watched_route_;  // OnClusterDataChanged's caller thread only
  std::thread check_thread_;
};

}  // namespace stolon::proxy
