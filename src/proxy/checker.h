// The proxy's check loop body (stolon cmd/proxy/cmd/proxy.go Check): read the clusterdata, decide
// the route, publish this proxy's ProxyInfo, and apply the decision to the relay. Fails closed:
// every doubt (no clusterdata, bad format, invalid spec, no master, not enabled) closes the
// client connections.
//
// The check runs on its own thread because store calls block; it reaches the relay only through
// the RelayControl interface, which the daemon implements by posting to the relay's executor.
#pragma once

#include <asio/ip/tcp.hpp>
#include <atomic>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cluster/cluster.h"
#include "common/duration.h"
#include "common/ids.h"
#include "proxy/route.h"

namespace stolon::proxy {

// What a check needs from the store. Calls block for at most the store timeout.
class ProxyStore {
 public:
  virtual ~ProxyStore() = default;
  // A quorum read of the clusterdata. nullopt: no clusterdata yet, or the key holds JSON null.
  // Errors: kUnavailable when the store cannot answer; kFailedPrecondition (wrong
  // formatVersion) or kInvalidArgument (undecodable) when the document is unusable.
  virtual absl::StatusOr<std::optional<cluster::ClusterData>> GetClusterData() = 0;
  // Publishes this proxy's info under its uid with the given TTL.
  virtual absl::Status SetProxyInfo(const cluster::ProxyInfo& info, Duration ttl) = 0;
};

// What a check does to the relay. Implementations must be callable from the check thread.
class RelayControl {
 public:
  virtual ~RelayControl() = default;
  // Opens the listener if closed (idempotent).
  virtual absl::Status StartListening() = 0;
  // Sets the destination (nullopt: refuse); returns how many connections the change closed.
  virtual size_t SetDestination(std::optional<asio::ip::tcp::endpoint> dest) = 0;
};

// Resolves an Endpoint to a socket address (IP literals without a lookup). Replaceable in tests.
absl::StatusOr<asio::ip::tcp::endpoint> ResolveEndpoint(const Endpoint& e);

class Checker {
 public:
  struct Options {
    std::string uid;  // this proxy's uid (random 8 hex per start)
    // Until the first successful publish, the stolon defaults.
    Duration check_interval = cluster::kDefaultProxyCheckInterval;
    Duration proxy_timeout = cluster::kDefaultProxyTimeout;
  };
  Checker(ProxyStore& store, RelayControl& relay, IdGenerator& ids, Options opts);

  // One check, steps 1-11 of stolon's Check. OK means "the store answered and the decision is
  // applied": the caller re-arms the timeout checker. An error is logged by the caller; the
  // connections were already closed when the error is about the document itself.
  // Not thread-safe: one thread runs checks.
  absl::Status Check();

  // The intervals in force (updated from the spec after each successful ProxyInfo publish).
  Duration check_interval() const { return opts_.check_interval; }
  Duration proxy_timeout() const { return opts_.proxy_timeout; }
  const std::string& uid() const { return opts_.uid; }
  // Tells the checker that the connections were closed outside a check (the proxyTimeout fence),
  // so the next check logs its outcome even when it equals the previous one. Thread-safe.
  void NoteFenced() { fenced_ = true; }

 private:
  // Steps 5-11 on a valid cluster data: decide the route, publish our info, apply.
  absl::Status Route(const cluster::ClusterData& cd, const cluster::ClusterSpec& spec);
  // Applies a destination and logs it when the outcome differs from the previous check.
  void Apply(const std::optional<asio::ip::tcp::endpoint>& dest, const std::string& outcome,
             const std::string& why);
  absl::Status Publish(int64_t generation, Duration timeout);

  ProxyStore& store_;
  RelayControl& relay_;
  IdGenerator& ids_;
  Options opts_;
  std::atomic<bool> fenced_{false};
  std::string last_outcome_;  // outcome and reason last logged (empty before the first check)
};

}  // namespace stolon::proxy
