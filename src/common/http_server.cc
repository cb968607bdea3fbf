#include "common/http_server.h"

#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <charconv>
#include <string_view>

#include "common/log.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"

namespace stolon {

using asio::ip::tcp;

namespace {

constexpr auto kAsTuple = asio::experimental::as_tuple(asio::use_awaitable);
// A client that sends no complete request in this time is dropped.
constexpr auto kRequestTimeout = std::chrono::seconds(10);
constexpr size_t kMaxRequest = 8192;

const char* Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 503:
      return "Service Unavailable";
    default:
      return "Unknown";
  }
}

std::string Serialize(const HttpResponse& r) {
  return fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
      r.status, Reason(r.status), r.content_type, r.body.size(), r.body);
}

}  // namespace

absl::StatusOr<tcp::endpoint> ParseListenAddress(const std::string& address,
                                                 const std::string& flag) {
  auto bad = [&](const std::string& why) {
    return absl::InvalidArgumentError(
        fmt::format("invalid {} \"{}\": {}; use host:port, e.g. 0.0.0.0:8080", flag, address, why));
  };
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) return bad("no port");
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.find(':') != std::string::npos && address.front() != '[') {
    return bad("an IPv6 host must be in brackets");
  }
  const std::string_view ps(address.data() + colon + 1, address.size() - colon - 1);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(ps.data(), ps.data() + ps.size(), port);
  if (ps.empty() || ec != std::errc() || end != ps.data() + ps.size() || port > 65535) {
    return bad("bad port");
  }
  if (host.empty()) host = "0.0.0.0";
  asio::error_code aec;
  asio::ip::address addr = asio::ip::make_address(host, aec);
  if (aec) {
    asio::io_context io;
    tcp::resolver resolver(io);
    auto results = resolver.resolve(host, "", aec);
    if (aec || results.empty()) return bad(fmt::format("cannot resolve host \"{}\"", host));
    addr = results.begin()->endpoint().address();
  }
  return tcp::endpoint(addr, static_cast<uint16_t>(port));
}

HttpResponse HealthResponse(const absl::Status& s) {
  if (s.ok()) return HttpResponse{200, "ok\n"};
  std::string line(s.message());
  for (char& c : line) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return HttpResponse{503, line + "\n"};
}

HttpResponse MetricsResponse(const MetricsRegistry& r) {
  return HttpResponse{200, r.Render(), kPrometheusContentType};
}

// State shared with the coroutines, so that they never touch a destroyed HttpServer.
struct HttpServer::Shared {
  std::map<std::string, HttpHandler> routes;
};

HttpServer::HttpServer(asio::io_context& io) : io_(io), shared_(std::make_shared<Shared>()) {}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Handle(std::string path, HttpHandler handler) {
  shared_->routes[std::move(path)] = std::move(handler);
}

absl::Status HttpServer::Start(const std::string& address) {
  absl::StatusOr<tcp::endpoint> ep = ParseListenAddress(address);
  if (!ep.ok()) return ep.status();
  auto acc = std::make_shared<tcp::acceptor>(io_);
  asio::error_code ec;
  acc->open(ep->protocol(), ec);
  if (!ec) acc->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acc->bind(*ep, ec);
  if (!ec) acc->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::UnavailableError(
        fmt::format("cannot listen on --metrics-listen-address \"{}\": {}", address, ec.message()));
  }
  port_ = acc->local_endpoint(ec).port();
  acceptor_ = acc;
  asio::co_spawn(io_, AcceptLoop(shared_, std::move(acc)), asio::detached);
  return absl::OkStatus();
}

void HttpServer::Stop() {
  if (!acceptor_) return;
  asio::error_code ignored;
  acceptor_->close(ignored);
  acceptor_.reset();
  port_ = 0;
}

asio::awaitable<void> HttpServer::AcceptLoop(std::shared_ptr<Shared> shared,
                                             std::shared_ptr<tcp::acceptor> acceptor) {
  while (acceptor->is_open()) {
    auto [ec, s] = co_await acceptor->async_accept(kAsTuple);
    if (!acceptor->is_open()) co_return;
    if (ec) {  // e.g. out of descriptors: back off instead of spinning
      asio::steady_timer t(acceptor->get_executor(), std::chrono::milliseconds(100));
      co_await t.async_wait(kAsTuple);
      continue;
    }
    asio::co_spawn(acceptor->get_executor(), Serve(shared, std::move(s)), asio::detached);
  }
}

asio::awaitable<void> HttpServer::Serve(std::shared_ptr<Shared> shared, tcp::socket s) {
  using namespace asio::experimental::awaitable_operators;
  std::string req;
  asio::steady_timer deadline(s.get_executor(), kRequestTimeout);
  auto read = co_await (
      asio::async_read_until(s, asio::dynamic_buffer(req, kMaxRequest), "\r\n\r\n", kAsTuple) ||
      deadline.async_wait(kAsTuple));
  if (read.index() != 0) co_return;  // timed out
  if (auto [ec, n] = std::get<0>(read); ec) co_return;

  HttpResponse resp;
  // Request line: METHOD SP target SP version.
  const size_t sp1 = req.find(' ');
  const size_t sp2 = sp1 == std::string::npos ? sp1 : req.find(' ', sp1 + 1);
  if (sp2 == std::string::npos) {
    resp = HttpResponse{400, "bad request\n"};
  } else if (req.compare(0, sp1, "GET") != 0) {
    resp = HttpResponse{405, "only GET is supported\n"};
  } else {
    std::string path = req.substr(sp1 + 1, sp2 - sp1 - 1);
    if (size_t q = path.find('?'); q != std::string::npos) path.resize(q);
    auto it = shared->routes.find(path);
    resp = it == shared->routes.end() ? HttpResponse{404, "404 page not found\n"} : it->second();
  }
  const std::string out = Serialize(resp);
  co_await asio::async_write(s, asio::buffer(out), kAsTuple);
  asio::error_code ignored;
  s.shutdown(tcp::socket::shutdown_both, ignored);
}

MetricsEndpoint::MetricsEndpoint() = default;

MetricsEndpoint::~MetricsEndpoint() { Stop(); }

absl::Status MetricsEndpoint::Start(const std::string& address) {
  if (absl::Status s = server_.Start(address); !s.ok()) return s;
  thread_ = std::thread([this] { io_.run(); });
  return absl::OkStatus();
}

absl::Status MetricsEndpoint::StartIfConfigured(const std::string& address) {
  if (address.empty()) return absl::OkStatus();
  if (absl::Status s = Start(address); !s.ok()) return s;
  spdlog::info("serving /metrics and /health{}",
               LogFields({{"address", address}, {"port", std::to_string(port())}}));
  return absl::OkStatus();
}

void MetricsEndpoint::Stop() {
  if (!thread_.joinable()) return;
  io_.stop();
  thread_.join();
  server_.Stop();
}

}  // namespace stolon
