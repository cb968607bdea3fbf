// The stolon-proxy daemon (daemon/daemon.h's life cycle): the ProxyServer, its store, and the
// watch on the cluster data that makes it follow a new master within a store round trip.
#pragma once

#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "daemon/daemon.h"
#include "proxy/config.h"

namespace stolon::proxy {

// Create opens the store through `env` (errors name the flag or the store); Start raises the
// open-file limit to the hard limit (two descriptors per client connection), starts the
// endpoint and the server's thread; Stop closes every connection and the listener (exit code 0).
class ProxyDaemon final : public Daemon {
 public:
  static absl::StatusOr<std::unique_ptr<Daemon>> Create(ProxyConfig config, Env& env);
  ~ProxyDaemon() override;
  absl::Status Start() override;
  int Stop() override;

 private:
  struct Parts;
  explicit ProxyDaemon(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> p_;
};

}  // namespace stolon::proxy
