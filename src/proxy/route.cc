#include "proxy/route.h"

#include <algorithm>
#include <charconv>

#include "fmt/format.h"

namespace stolon::proxy {

std::string Endpoint::ToString() const {
  if (host.find(':') != std::string::npos) return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

std::string_view RouteReasonName(RouteReason r) {
  switch (r) {
    case RouteReason::kRouted:
      return "routed";
    case RouteReason::kNoProxyObject:
      return "no proxy object";
    case RouteReason::kNoMaster:
      return "no master";
    case RouteReason::kMasterDbMissing:
      return "master db missing";
    case RouteReason::kNoAddress:
      return "no master address";
    case RouteReason::kNotEnabled:
      return "not enabled";
  }
  return "unknown";
}

namespace {

// Parses a decimal TCP port 1..65535.
std::optional<uint16_t> ParsePort(std::string_view s) {
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v == 0 || v > 65535) return std::nullopt;
  return static_cast<uint16_t>(v);
}

}  // namespace

RouteDecision DecideRoute(const cluster::ClusterData& cd, std::string_view proxy_uid) {
  RouteDecision d;
  const cluster::Proxy& proxy = cd.proxy;
  // Our model has no null proxy pointer: an untouched proxy object (never written by a sentinel,
  // which always bumps the generation) stands for Go's `cd.Proxy == nil`.
  if (proxy == cluster::Proxy{}) {
    d.reason = RouteReason::kNoProxyObject;
    d.publish = true;
    d.explanation = "the cluster data has no proxy object yet";
    return d;
  }
  d.proxy_generation = proxy.generation;
  d.master_db_uid = proxy.spec.master_db_uid;
  d.publish = true;  // from here on the proxy generation is acknowledged
  if (proxy.spec.master_db_uid.empty()) {
    d.reason = RouteReason::kNoMaster;
    d.explanation = "the proxy spec names no master db";
    return d;
  }
  auto db = cd.dbs.find(proxy.spec.master_db_uid);
  if (db == cd.dbs.end()) {
    d.reason = RouteReason::kMasterDbMissing;
    d.explanation = fmt::format("master db {} is not in the cluster data", d.master_db_uid);
    return d;
  }
  const cluster::DBStatus& st = db->second.status;
  std::optional<uint16_t> port = ParsePort(st.port);
  if (st.listen_address.empty() || !port) {
    d.reason = RouteReason::kNoAddress;
    d.publish = false;
    d.explanation =
        fmt::format("master db {} has no valid address yet (listenAddress \"{}\", port \"{}\")",
                    d.master_db_uid, st.listen_address, st.port);
    return d;
  }
  d.publish_required = true;
  const auto& enabled = proxy.spec.enabled_proxies;
  if (std::find(enabled.begin(), enabled.end(), proxy_uid) == enabled.end()) {
    d.reason = RouteReason::kNotEnabled;
    d.explanation = fmt::format("proxy {} is not in enabledProxies", proxy_uid);
    return d;
  }
  d.reason = RouteReason::kRouted;
  d.target = Endpoint{st.listen_address, *port};
  d.explanation = fmt::format("master db {} at {}", d.master_db_uid, d.target->ToString());
  return d;
}

std::optional<Endpoint> RouteTarget(const cluster::ClusterData& cd, std::string_view proxy_uid) {
  return DecideRoute(cd, proxy_uid).target;
}

}  // namespace stolon::proxy
