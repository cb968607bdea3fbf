// The stolon-sentinel daemon (composition root): validates the config, opens the store, picks a
// random 8-hex uid, then runs two loops until SIGINT/SIGTERM, as stolon v0.17's sentinel does:
//   - the election: store::Election campaigns on <base>/sentinel-leader in the background. It
//     reports leader=false when it loses the session or cannot confirm leadership, retries after
//     store errors by itself, and counts every win (the leadership count);
//   - the check loop: SentinelChecker::Check() once at start, then each next check
//     sleepInterval (from the cluster data) after the previous one ended.
// With --metrics-listen-address, /metrics (RegisterSentinelMetrics) and /health (SentinelHealth)
// are served on their own thread.
// On a signal the election is stopped first (its lease is revoked so another sentinel takes
// over at once), then the check loop; the process exits 0.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/clock.h"
#include "common/metrics.h"
#include "daemon/daemon.h"
#include "sentinel/daemon_check.h"
#include "sentinel/daemon_config.h"

namespace stolon::sentinel {

// Declares the sentinel's metrics on `registry`, refreshed from `leadership` and `checker` at
// every scrape (both must outlive the registry's use): stolon's
// stolon_cluster_identifier{cluster_name,component="sentinel"}, stolon_sentinel_is_leader,
// stolon_sentinel_leader_count and stolon_sentinel_last_cluster_check_success_seconds (unix time
// of the last check that wrote the cluster data; 0 before the first), plus the checks run and
// failed, the last check's duration, the failovers performed and the keepers healthy/total.
void RegisterSentinelMetrics(MetricsRegistry& registry, const std::string& cluster_name,
                             const Leadership& leadership, const SentinelChecker& checker);

// /health: OK while the checks work (including "not the leader" and "waiting for the cluster
// data"); Unavailable with the reason before the first check ended and while the last one failed
// (store unreachable, unusable cluster data, a refused computation, a lost or failed write).
absl::Status SentinelHealth(const SentinelChecker& checker);

// The sentinel daemon (daemon/daemon.h's life cycle). Create finalizes the config and opens the
// store through `env` (errors name the flag or the store); Start campaigns, starts the check loop
// and the endpoint; Stop gives up leadership first, then stops the loop (exit code 0).
class SentinelDaemon final : public Daemon {
 public:
  static absl::StatusOr<std::unique_ptr<Daemon>> Create(SentinelConfig config, Env& env);
  ~SentinelDaemon() override;
  absl::Status Start() override;
  int Stop() override;

 private:
  struct Parts;
  explicit SentinelDaemon(std::unique_ptr<Parts> parts);
  // Wakes the check loop when a proxy or keeper info changes while a check waits for them.
  void WakeOnInfoChanges();
  std::unique_ptr<Parts> p_;
};

}  // namespace stolon::sentinel
