#include "proxy/server.h"

#include <csignal>
#include <future>

#include "cluster/json.h"
#include "common/log.h"
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
  return o;
}

std::string Ms(Duration d) { return FormatGoDuration(d); }

}  // namespace

ProxyServer::ProxyServer(const ProxyConfig& config, ProxyStore& store, std::string uid)
    : config_(config),
      guard_(asio::make_work_guard(io_)),
      relay_(io_, RelayOptionsFrom(config)),
      metrics_(io_, [this] { return RenderProxyMetrics(config_.common.cluster_name, relay_.stats()); }),
      timeout_timer_(io_),
      signals_(io_, SIGINT, SIGTERM),
      checker_(store, *this, ids_, Checker::Options{std::move(uid)}) {}

ProxyServer::~ProxyServer() {
  Stop();
  if (check_thread_.joinable()) check_thread_.join();
}

template <class T, class F>
T ProxyServer::OnIo(F f, T def) {
  if (stopping_) return def;
  auto p = std::make_shared<std::promise<T>>();
  std::future<T> fut = p->get_future();
  asio::post(io_, [this, p, f = std::move(f), def]() mutable {
    p->set_value(stopping_ ? def : f());
  });
  return fut.get();
}

absl::Status ProxyServer::StartListening() {
  return OnIo<absl::Status>(
      [this]() -> absl::Status {
        if (relay_.listening()) return absl::OkStatus();
        absl::Status st = relay_.StartListening();
        if (st.ok()) {
          spdlog::info("listening{}", LogFields({{"address", fmt::format("{}:{}", config_.listen_address,
                                                                          config_.port)}}));
        }
        return st;
      },
      absl::CancelledError("stopping"));
}

size_t ProxyServer::SetDestination(std::optional<asio::ip::tcp::endpoint> dest) {
  return OnIo<size_t>([this, dest] { return relay_.SetDestination(dest); }, 0);
}

void ProxyServer::ArmTimeout(Duration d) {
  timeout_timer_.expires_after(d);
  timeout_timer_.async_wait([this, d](const asio::error_code& ec) {
    if (ec || stopping_) return;  // re-armed (cancelled) or shutting down
    OnTimeout(d);
  });
}

void ProxyServer::OnTimeout(Duration d) {
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
  metrics_.Stop();
  timeout_timer_.cancel();
  asio::error_code ignored;
  signals_.cancel(ignored);
  spdlog::info("stopping: closed {} connections", closed);
}

void ProxyServer::Stop() {
  if (stopping_.exchange(true)) return;
  cv_.notify_all();
  asio::post(io_, [this] { Shutdown(); });
}

int ProxyServer::Run() {
  spdlog::info("proxy uid{}", LogFields({{"uid", checker_.uid()}}));
  if (!config_.common.metrics_listen_address.empty()) {
    if (absl::Status st = metrics_.Start(config_.common.metrics_listen_address); !st.ok()) {
      spdlog::error("{}", std::string(st.message()));
      return 1;
    }
    metrics_port_ = metrics_.port();
  }
  signals_.async_wait([this](const asio::error_code& ec, int sig) {
    if (ec) return;
    spdlog::info("got signal {}", sig == SIGINT ? "SIGINT" : "SIGTERM");
    Stop();
  });
  // The timeout checker runs from the start: a proxy that never reaches the store stays closed.
  ArmTimeout(checker_.proxy_timeout());
  check_thread_ = std::thread([this] { CheckLoop(); });
  io_.run();
  check_thread_.join();
  return 0;
}

}  // namespace stolon::proxy
