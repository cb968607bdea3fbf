// The stolon-keeper daemon (composition root): validates the config, takes the data dir lock,
// resolves the keeper uid, then runs three loops until SIGINT/SIGTERM, as stolon v0.17's keeper
// does:
//   - the convergence pass (StateMachine) every sleepInterval after the previous one ends,
//   - the PostgresState probe every sleepInterval/2,
//   - the KeeperInfo publication every sleepInterval (TTL sleepInterval, floored by the store).
// On SIGINT/SIGTERM postgres is stopped (fast) and the keeper exits 0.
#pragma once

#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "daemon/daemon.h"
#include "keeper/config.h"

namespace stolon::keeper {

// The message logged when started as root.
inline constexpr const char* kRootRefusal =
    "must not run as root: PostgreSQL refuses to; run it as an unprivileged user "
    "(e.g. su -s /bin/sh stolon -c ...)";

// The keeper daemon (daemon/daemon.h's life cycle). Create refuses root, finalizes the config,
// prepares and locks the data dir, resolves the keeper uid and opens the store through `env`
// (errors name the problem and the fix); Start stops a postgres left running, then runs the three
// loops and the endpoint; Stop stops postgres (fast) and the loops (exit code 0).
class KeeperDaemon final : public Daemon {
 public:
  static absl::StatusOr<std::unique_ptr<Daemon>> Create(KeeperConfig config, Env& env);
  ~KeeperDaemon() override;
  absl::Status Start() override;
  int Stop() override;

 private:
  struct Parts;
  explicit KeeperDaemon(std::unique_ptr<Parts> parts);
  // Declares the metrics and starts /metrics and /health when --metrics-listen-address is set.
  absl::Status StartEndpoint();
  std::unique_ptr<Parts> p_;
};

}  // namespace stolon::keeper
