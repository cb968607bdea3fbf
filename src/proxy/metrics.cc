#include "proxy/metrics.h"

#include <charconv>

#include <asio/experimental/as_tuple.hpp>

#include "fmt/format.h"
#include "proxy/relay.h"
#include "spdlog/spdlog.h"

namespace stolon::proxy {

using asio::ip::tcp;
namespace {
constexpr auto kAsTuple = asio::experimental::as_tuple(asio::use_awaitable);
}  // namespace

MetricsServer::MetricsServer(asio::io_context& io, std::function<std::string()> render)
    : io_(io), render_(std::move(render)) {}

MetricsServer::~MetricsServer() {
  *alive_ = false;
  Stop();
}

absl::Status MetricsServer::Start(const std::string& address) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos)
    return absl::InvalidArgumentError(fmt::format(
        "invalid --metrics-listen-address \"{}\": use host:port, e.g. 0.0.0.0:8080", address));
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "0.0.0.0";
  unsigned port = 0;
  std::string_view ps(address.data() + colon + 1, address.size() - colon - 1);
  auto [p, ec] = std::from_chars(ps.data(), ps.data() + ps.size(), port);
  if (ec != std::errc() || p != ps.data() + ps.size() || port > 65535)
    return absl::InvalidArgumentError(fmt::format(
        "invalid --metrics-listen-address \"{}\": bad port; use host:port, e.g. 0.0.0.0:8080", address));
  asio::error_code aec;
  auto addr = asio::ip::make_address(host, aec);
  if (aec)
    return absl::InvalidArgumentError(fmt::format(
        "invalid --metrics-listen-address \"{}\": host must be an IP address", address));
  tcp::endpoint ep(addr, static_cast<uint16_t>(port));
  auto acc = std::make_shared<tcp::acceptor>(io_);
  acc->open(ep.protocol(), aec);
  if (!aec) acc->set_option(asio::socket_base::reuse_address(true), aec);
  if (!aec) acc->bind(ep, aec);
  if (!aec) acc->listen(asio::socket_base::max_listen_connections, aec);
  if (aec) return absl::UnavailableError(fmt::format("cannot listen on {} for metrics: {}", address, aec.message()));
  acceptor_ = acc;
  asio::co_spawn(io_, AcceptLoop(std::move(acc)), asio::detached);
  return absl::OkStatus();
}

void MetricsServer::Stop() {
  if (!acceptor_) return;
  asio::error_code ignored;
  acceptor_->close(ignored);
  acceptor_.reset();
}

uint16_t MetricsServer::port() const {
  asio::error_code ec;
  return acceptor_ ? acceptor_->local_endpoint(ec).port() : 0;
}

asio::awaitable<void> MetricsServer::AcceptLoop(std::shared_ptr<tcp::acceptor> acceptor) {
  std::shared_ptr<bool> alive = alive_;
  while (acceptor->is_open()) {
    auto [ec, s] = co_await acceptor->async_accept(kAsTuple);
    if (!*alive || !acceptor->is_open()) co_return;
    if (ec) {
      asio::steady_timer t(acceptor->get_executor(), std::chrono::milliseconds(100));
      co_await t.async_wait(kAsTuple);
      continue;
    }
    asio::co_spawn(acceptor->get_executor(), Serve(std::move(s)), asio::detached);
  }
}

asio::awaitable<void> MetricsServer::Serve(tcp::socket s) {
  std::shared_ptr<bool> alive = alive_;
  std::string req;
  auto [ec, n] = co_await asio::async_read_until(s, asio::dynamic_buffer(req, 8192), "\r\n\r\n", kAsTuple);
  if (ec || !*alive) co_return;
  std::string body, status = "200 OK";
  if (req.rfind("GET /metrics ", 0) == 0 || req.rfind("GET /metrics?", 0) == 0) {
    body = render_();
  } else {
    status = "404 Not Found";
    body = "404 page not found\n";
  }
  std::string resp = fmt::format(
      "HTTP/1.1 {}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: "
      "{}\r\nConnection: close\r\n\r\n{}",
      status, body.size(), body);
  co_await asio::async_write(s, asio::buffer(resp), kAsTuple);
  asio::error_code ignored;
  s.shutdown(tcp::socket::shutdown_both, ignored);
}

std::string RenderProxyMetrics(const std::string& cluster_name, const RelayStats& s) {
  std::string out;
  auto metric = [&](const char* name, const char* type, const char* help, uint64_t v) {
    out += fmt::format("# HELP {0} {1}\n# TYPE {0} {2}\n{0} {3}\n", name, help, type, v);
  };
  out += fmt::format(
      "# HELP stolon_cluster_identifier Set to 1, labelled with the cluster name and component\n"
      "# TYPE stolon_cluster_identifier gauge\n"
      "stolon_cluster_identifier{{cluster_name=\"{}\",component=\"proxy\"}} 1\n",
      cluster_name);
  metric("stolon_proxy_connections_open", "gauge", "Proxied connections open now", s.open);
  metric("stolon_proxy_connections_accepted_total", "counter", "Client connections accepted", s.accepted);
  metric("stolon_proxy_connections_refused_total", "counter",
         "Client connections closed at accept because there was no master to route to", s.refused);
  metric("stolon_proxy_connections_fenced_total", "counter",
         "Proxied connections closed because the destination changed or the check timed out",
         s.closed_by_fencing);
  metric("stolon_proxy_dial_failures_total", "counter", "Failed connections to the master", s.dial_failures);
  metric("stolon_proxy_accept_errors_total", "counter", "accept() failures", s.accept_errors);
  metric("stolon_proxy_bytes_to_server_total", "counter", "Bytes relayed from clients to the master",
         s.bytes_to_server);
  metric("stolon_proxy_bytes_to_client_total", "counter", "Bytes relayed from the master to clients",
         s.bytes_to_client);
  return out;
}

}  // namespace stolon::proxy
