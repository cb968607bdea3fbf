#include "proxy/server.h"

#include <future>

#include "cluster/json.h"
#include "common/log.h"
#include "common/status.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"

namespace stolon::proxy {

namespace {

RelayOptions RelayOptionsFrom(const ProxyConfig& c) {
  RelayOptions o;
  o.listen_address = c.listen_address;
  o.port = static_cast<uint16_t>(c.port);
  o.keepalive_idle = std::chrono::seconds(c.keepalive_idle);
  o.keepalive_count = c.keepalive_count;
  o.keepalive_interval = std::chrono::seconds(c.keepalive_interval);
  o.threads = static_cast<unsigned>(c.relay_threads);
  return o;
}

std::string Ms(Duration d) { return FormatGoDuration(d); }

}  // namespace

ProxyServer::ProxyServer(const ProxyConfig& config, ProxyStore& store, std::string uid)
    : config_(config),
      guard_(asio::make_work_guard(io_)),
      relay_(RelayOptionsFrom(config)),
      http_(io_),
      timeout_timer_(io_),
      checker_(store, *this, ids_, Checker::Options{std::move(uid)}) {
  DeclareMetrics();
  http_.Handle("/metrics", [this] { return MetricsResponse(metrics_); });
  http_.Handle("/health", [this] { return HealthResponse(Health()); });
  http_.Handle("/master", [this] { return Master(); });
}

void ProxyServer::DeclareMetrics() {
  AddClusterIdentifier(metrics_, config_.common.cluster_name, "proxy");
  MetricFamily* health = &metrics_.Gauge(
      "stolon_proxy_health", "Set to 1 if proxy healthy and accepting connections to the master");
  MetricFamily* open =
      &metrics_.Gauge("stolon_proxy_connections_open", "Proxied connections open now");
  MetricFamily* accepted =
      &metrics_.Counter("stolon_proxy_connections_accepted_total", "Client connections accepted");
  MetricFamily* refused = &metrics_.Counter(
      "stolon_proxy_connections_refused_total",
      "Client connections closed at accept because there was no master to route to");
  MetricFamily* fenced = &metrics_.Counter(
      "stolon_proxy_connections_fenced_total",
      "Proxied connections closed because the destination changed or the proxyTimeout fired");
  MetricFamily* dial_failures =
      &metrics_.Counter("stolon_proxy_dial_failures_total", "Failed connections to the master");
  MetricFamily* accept_errors =
      &metrics_.Counter("stolon_proxy_accept_errors_total", "accept() failures");
  MetricFamily* to_server = &metrics_.Counter("stolon_proxy_bytes_to_server_total",
                                              "Bytes relayed from clients to the master");
  MetricFamily* to_client = &metrics_.Counter("stolon_proxy_bytes_to_client_total",
                                              "Bytes relayed from the master to clients");
  MetricFamily* destination = &metrics_.Gauge(
      "stolon_proxy_destination_info",
      "Set to 1, labelled with the address connections are routed to (\"\" when none)", true);
  MetricFamily* since_check = &metrics_.Gauge(
      "stolon_proxy_last_check_success_age_seconds",
      "Seconds since the last successful check of the store (since start if none succeeded)");
  MetricFamily* listening =
      &metrics_.Gauge("stolon_proxy_listening", "Set to 1 while the proxy listens for clients");
  // Collected at scrape time on the io thread, where the relay lives.
  metrics_.OnCollect([=, this] {
    const RelayStats s = relay_.stats();
    open->Set(static_cast<double>(s.open));
    accepted->Set(static_cast<double>(s.accepted));
    refused->Set(static_cast<double>(s.refused));
    fenced->Set(static_cast<double>(s.closed_by_fencing));
    dial_failures->Set(static_cast<double>(s.dial_failures));
    accept_errors->Set(static_cast<double>(s.accept_errors));
    to_server->Set(static_cast<double>(s.bytes_to_server));
    to_client->Set(static_cast<double>(s.bytes_to_client));
    const Relay::Destination& dest = relay_.destination();
    std::string address;
    if (dest) address = fmt::format("{}:{}", dest->address().to_string(), dest->port());
    destination->SetOnly({{"address", address}});
    health->Set(dest && relay_.listening() ? 1 : 0);
    listening->Set(relay_.listening() ? 1 : 0);
    SteadyTime since = started_;
    {
      std::lock_guard l(health_mu_);
      if (last_success_) since = *last_success_;
    }
    since_check->Set(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count());
  });
}

absl::Status ProxyServer::Health() const {
  std::lock_guard l(health_mu_);
  if (timed_out_) {
    return absl::UnavailableError(fmt::format(
        "no successful store check for {} (proxyTimeout): all connections closed; last error: {}",
        Ms(timeout_fired_after_), last_check_error_.empty() ? "none" : last_check_error_));
  }
  if (!last_check_error_.empty()) {
    return absl::UnavailableError("the last check failed: " + last_check_error_);
  }
  return absl::OkStatus();
}

HttpResponse ProxyServer::Master() const {
  const Relay::Destination& dest = relay_.destination();
  if (dest && relay_.listening()) {
    return HttpResponse{200, fmt::format("routing to the master at {}:{}\n",
                                         dest->address().to_string(), dest->port())};
  }
  return HttpResponse{503, relay_.listening() ? "no master to route to\n" : "not listening\n"};
}

ProxyServer::~ProxyServer() {
  Stop();
  if (check_thread_.joinable()) check_thread_.join();
}

template <class T, class F>
T ProxyServer::OnIo(F f, T def) {
  if (stopping_) return def;
  auto p = std::make_shared<std::promise<T>>();
  std::future<T> fut = p->get_future();
  asio::post(io_,
             [this, p, f = std::move(f), def]() mutable { p->set_value(stopping_ ? def : f()); });
  return fut.get();
}

absl::Status ProxyServer::StartListening() {
  return OnIo<absl::Status>(
      [this]() -> absl::Status {
        if (relay_.listening()) return absl::OkStatus();
        absl::Status st = relay_.StartListening();
        if (st.ok()) {
          spdlog::info(
              "listening{}",
              LogFields({{"address", fmt::format("{}:{}", config_.listen_address, config_.port)}}));
        }
        return st;
      },
      absl::CancelledError("stopping"));
}

size_t ProxyServer::SetDestination(std::optional<asio::ip::tcp::endpoint> dest) {
  return OnIo<size_t>([this, dest] { return relay_.SetDestination(dest); }, 0);
}

void ProxyServer::ArmTimeout(Duration d) {
  {
    std::lock_guard l(health_mu_);
    timed_out_ = false;
  }
  timeout_timer_.expires_after(d);
  timeout_timer_.async_wait([this, d](const asio::error_code& ec) {
    if (ec || stopping_) return;  // re-armed (cancelled) or shutting down
    OnTimeout(d);
  });
}

void ProxyServer::OnTimeout(Duration d) {
  {
    std::lock_guard l(health_mu_);
    timed_out_ = true;
    timeout_fired_after_ = d;
  }
  size_t closed = relay_.SetDestination(std::nullopt);
  checker_.NoteFenced();
  bool stop = config_.stop_listening && relay_.listening();
  spdlog::warn("no successful store check for {} (proxyTimeout): closing {} connections{}", Ms(d),
               closed, stop ? " and stopping listening" : "");
  if (stop) relay_.StopListening();
}

void ProxyServer::CheckLoop() {
  while (!stopping_) {
    absl::Status st = checker_.Check();
    {
      std::lock_guard l(health_mu_);
      last_check_error_ = st.ok() ? "" : std::string(st.message());
      if (st.ok()) last_success_ = std::chrono::steady_clock::now();
    }
    if (st.ok()) {
      Duration timeout = checker_.proxy_timeout();
      OnIo<int>(
          [this, timeout] {
            ArmTimeout(timeout);
            return 0;
          },
          0);
    } else {
      spdlog::error("check function error{}", LogFields({{"error", std::string(st.message())}}));
    }
    std::unique_lock l(mu_);
    cv_.wait_for(l, checker_.check_interval(), [this] { return stopping_.load() || wake_; });
    wake_ = false;
  }
  // Let Run() return once the io_context has nothing left to do.
  asio::post(io_, [this] { guard_.reset(); });
}

void ProxyServer::OnClusterDataChanged(const std::string& json) {
  auto cd = cluster::ParseClusterDataOrNull(json);
  if (!cd.ok() || !cd->has_value()) return;  // the check reports unusable documents
  RouteDecision route = DecideRoute(**cd, checker_.uid());
  if (last_watched_route_ == route) return;
  last_watched_route_ = std::move(route);
  {
    std::lock_guard l(mu_);
    wake_ = true;
  }
  cv_.notify_all();
}

void ProxyServer::Shutdown() {
  size_t closed = relay_.SetDestination(std::nullopt);
  relay_.StopListening();
  http_.Stop();
  timeout_timer_.cancel();
  spdlog::info("stopping: closed {} connections", closed);
}

void ProxyServer::Stop() {
  if (stopping_.exchange(true)) return;
  cv_.notify_all();
  asio::post(io_, [this] { Shutdown(); });
}

absl::Status ProxyServer::StartEndpoint() {
  if (endpoint_started_ || config_.common.metrics_listen_address.empty()) return absl::OkStatus();
  RETURN_IF_ERROR(http_.Start(config_.common.metrics_listen_address));
  endpoint_started_ = true;
  metrics_port_ = http_.port();
  spdlog::info("serving /metrics, /health and /master{}",
               LogFields({{"address", config_.common.metrics_listen_address},
                          {"port", std::to_string(metrics_port_.load())}}));
  return absl::OkStatus();
}

int ProxyServer::Run() {
  spdlog::info("proxy uid{}", LogFields({{"uid", checker_.uid()}}));
  if (absl::Status st = StartEndpoint(); !st.ok()) {
    spdlog::error("{}", std::string(st.message()));
    return 1;
  }
  // The timeout checker runs from the start: a proxy that never reaches the store stays closed.
  ArmTimeout(checker_.proxy_timeout());
  check_thread_ = std::thread([this] { CheckLoop(); });
  io_.run();
  check_thread_.join();
  return 0;
}

}  // namespace stolon::proxy
