// The proxy's routing decision: given the clusterdata, where (if anywhere) may this proxy send
// client connections. A pure function of its inputs, so every fail-closed case is unit-testable
// without a store or sockets (stolon cmd/proxy/cmd/proxy.go Check, steps 6-10).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "cluster/cluster.h"

namespace stolon::proxy {

// A backend address as published in the clusterdata: host (an IP literal or a name, resolved by
// the caller) and TCP port.
struct Endpoint {
  std::string host;
  uint16_t port = 0;
  bool operator==(const Endpoint&) const = default;
  // "host:port", or "[v6]:port" when host contains ':'.
  std::string ToString() const;
};

// Why a decision routes or not. Every value but kRouted means "close every connection".
enum class RouteReason {
  kRouted,           // this proxy is enabled and the master db has an address
  kNoProxyObject,    // the clusterdata has no proxy object yet (generation 0, empty spec)
  kNoMaster,         // proxy.spec.masterDbUid is empty
  kMasterDbMissing,  // masterDbUid names a db absent from dbs
  kNoAddress,        // the master db has no (valid) listenAddress/port yet
  kNotEnabled,       // this proxy's uid is not in proxy.spec.enabledProxies
};

// A short lower-case name for logs ("no master", "not enabled", ...).
std::string_view RouteReasonName(RouteReason r);

// The full decision. `target` is set iff reason == kRouted.
struct RouteDecision {
  RouteReason reason = RouteReason::kNoProxyObject;
  std::optional<Endpoint> target;
  // The master db uid named by the spec ("" when none) and the proxy generation this decision
  // acknowledges (0 without a proxy object): what the proxy publishes in its ProxyInfo.
  std::string master_db_uid;
  int64_t proxy_generation = 0;
  // Whether stolon publishes ProxyInfo for this outcome, and whether a failed publish fails the
  // check: no proxy object / master missing publish best effort; no address publishes nothing;
  // routed / not enabled must publish (else the sentinel would not know about this proxy).
  bool publish = false;
  bool publish_required = false;
  // One human sentence explaining the outcome, for logs
  // ("master db d4e5f601 has no listen address yet").
  std::string explanation;

  bool operator==(const RouteDecision&) const = default;
};

// Decides the route for proxy `proxy_uid`. REQUIRES: the caller has already checked the format
// version and validated the spec (those failures close connections before any routing).
RouteDecision DecideRoute(const cluster::ClusterData& cd, std::string_view proxy_uid);

// The routing decision only: the master's endpoint when this proxy may route to it.
std::optional<Endpoint> RouteTarget(const cluster::ClusterData& cd, std::string_view proxy_uid);

}  // namespace stolon::proxy
