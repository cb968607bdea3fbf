#include "proxy/checker.h"

#include <algorithm>
#include <asio/io_context.hpp>

#include "common/status.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"

namespace stolon::proxy {

using asio::ip::tcp;

absl::StatusOr<tcp::endpoint> ResolveEndpoint(const Endpoint& e) {
  asio::error_code ec;
  auto addr = asio::ip::make_address(e.host, ec);
  if (!ec) return tcp::endpoint(addr, e.port);
  asio::io_context io;
  tcp::resolver resolver(io);
  auto results = resolver.resolve(e.host, std::to_string(e.port), ec);
  if (ec || results.empty()) {
    return absl::UnavailableError(
        fmt::format("cannot resolve master address {}: {}", e.ToString(), ec.message()));
  }
  return results.begin()->endpoint();
}

Checker::Checker(ProxyStore& store, RelayControl& relay, IdGenerator& ids, Options opts)
    : store_(store), relay_(relay), ids_(ids), opts_(std::move(opts)) {}

void Checker::Apply(const std::optional<tcp::endpoint>& dest, const std::string& outcome,
                    const std::string& why) {
  size_t closed = relay_.SetDestination(dest);
  std::string state = outcome + "|" + why;
  // Nothing changed: no log every interval. After a proxyTimeout fence the same outcome means
  // routing again, which is worth a line.
  const bool after_fence = fenced_.exchange(false);
  if (state == last_outcome_ && closed == 0 && !after_fence) return;
  last_outcome_ = std::move(state);
  if (dest) {
    spdlog::info("{}: closing {} connections", outcome, closed);
  } else {
    spdlog::info("{} ({}): closing {} connections", outcome, why, closed);
  }
}

absl::Status Checker::Publish(int64_t generation, Duration timeout) {
  cluster::ProxyInfo info;
  info.info_uid = ids_.NewUid();
  info.uid = opts_.uid;
  info.generation = generation;
  info.proxy_timeout = timeout;
  return Annotate(store_.SetProxyInfo(info, 2 * timeout), "failed to update proxyInfo");
}

absl::Status Checker::Check() {
  // 1. Quorum read. A store failure returns before anything else: no listening, no re-arm, so
  //    the timeout checker eventually closes everything.
  absl::StatusOr<std::optional<cluster::ClusterData>> read = store_.GetClusterData();
  const bool bad_document =
      !read.ok() && (read.status().code() == absl::StatusCode::kFailedPrecondition ||
                     read.status().code() == absl::StatusCode::kInvalidArgument);
  if (!read.ok() && !bad_document) return Annotate(read.status(), "cannot get cluster data");

  // 2. The store answered: listen (idempotent).
  RETURN_IF_ERROR(relay_.StartListening());

  // 4 (decode side). An unusable document fails closed.
  if (bad_document) {
    Apply(std::nullopt, "no route", std::string(read.status().message()));
    return Annotate(read.status(), "unusable cluster data");
  }
  // 3. No clusterdata (or JSON null): closed, but a valid answer.
  if (!read->has_value()) {
    Apply(std::nullopt, "no route", "no cluster data");
    return absl::OkStatus();
  }
  const cluster::ClusterData& cd = **read;
  // 4. Format version and spec.
  if (cd.format_version != cluster::kCurrentCDFormatVersion) {
    std::string why = fmt::format("unsupported clusterdata format version {}", cd.format_version);
    Apply(std::nullopt, "no route", why);
    return absl::FailedPreconditionError(why);
  }
  cluster::ClusterSpec spec = cd.cluster.spec.WithDefaults();
  if (absl::Status st = spec.Validate(); !st.ok()) {
    std::string why = "invalid cluster spec: " + std::string(st.message());
    Apply(std::nullopt, "no route", why);
    return absl::InvalidArgumentError(why);
  }
  return Route(cd, spec);
}

absl::Status Checker::Route(const cluster::ClusterData& cd, const cluster::ClusterSpec& spec) {
  // 5. Publish the larger timeout, so a shrinking spec never makes the sentinel drop us early.
  const Duration spec_interval =
      spec.proxy_check_interval.value_or(cluster::kDefaultProxyCheckInterval);
  const Duration spec_timeout = spec.proxy_timeout.value_or(cluster::kDefaultProxyTimeout);
  const Duration publish_timeout = std::max(opts_.proxy_timeout, spec_timeout);

  RouteDecision d = DecideRoute(cd, opts_.uid);
  switch (d.reason) {
    case RouteReason::kNoProxyObject:    // 6.
    case RouteReason::kMasterDbMissing:  // 7. (also masterDbUid "")
    case RouteReason::kNoMaster: {
      Apply(std::nullopt, "no route", d.explanation);
      if (absl::Status st = Publish(d.proxy_generation, publish_timeout); !st.ok()) {
        spdlog::warn("{}",
                     std::string(st.message()));  // best effort in these branches, as stolon does
      }
      return absl::OkStatus();
    }
    case RouteReason::kNoAddress:  // 8.
      Apply(std::nullopt, "no route", d.explanation);
      return absl::OkStatus();
    case RouteReason::kRouted:
    case RouteReason::kNotEnabled:
      break;
  }
  // 8. Resolve.
  std::optional<tcp::endpoint> dest;
  if (d.target) {
    absl::StatusOr<tcp::endpoint> ep = ResolveEndpoint(*d.target);
    if (!ep.ok()) {
      Apply(std::nullopt, "no route", std::string(ep.status().message()));
      return absl::OkStatus();
    }
    dest = *ep;
  }
  // 9. Publish; failing here fails the check, because the sentinel would not know about us.
  if (absl::Status st = Publish(d.proxy_generation, publish_timeout); !st.ok()) return st;
  // 11. The spec's intervals take effect once the sentinel can see our info.
  opts_.check_interval = spec_interval;
  opts_.proxy_timeout = spec_timeout;
  // 10. Route only when enabled.
  if (d.reason == RouteReason::kNotEnabled) {
    Apply(std::nullopt, "no route", d.explanation);
    return absl::OkStatus();
  }
  Apply(dest, fmt::format("master changed to {} (db {})", d.target->ToString(), d.master_db_uid),
        "");
  return absl::OkStatus();
}

}  // namespace stolon::proxy
