// The stolon-sentinel daemon (composition root): validates the config, opens the store, picks a
// random 8-hex uid, then runs two loops until SIGINT/SIGTERM (facts 2.4, 4.1):
//   - the election: store::Election campaigns on <base>/sentinel-leader in the background. It
//     reports leader=false when it loses the session or cannot confirm leadership, retries after
//     store errors by itself, and counts every win (the leadership count);
//   - the check loop: SentinelChecker::Check() once at start, then each next check
//     sleepInterval (from the cluster data) after the previous one ended.
// With --metrics-listen-address, /metrics is served (RenderSentinelMetrics).
// On a signal the election is stopped first (its lease is revoked so another sentinel takes
// over at once), then the check loop; the process exits 0.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/clock.h"
#include "sentinel/daemon_config.h"

namespace stolon::sentinel {

// The sentinel's Prometheus metrics (text exposition format) for --metrics-listen-address:
// stolon_cluster_identifier{cluster_name,component="sentinel"} 1, stolon_sentinel_is_leader,
// stolon_sentinel_leader_count and stolon_sentinel_last_cluster_check_success_seconds (unix
// time of the last check that wrote the cluster data; absent before the first).
std::string RenderSentinelMetrics(const std::string& cluster_name, bool leader,
                                  uint64_t leader_count, std::optional<WallTime> last_success);

// Runs the sentinel with a parsed config (FinalizeSentinelConfig is called here). Returns the
// process exit code: 0 after a signal-initiated shutdown, 1 on a fatal start-up error (logged).
int RunSentinel(SentinelConfig& config);

}  // namespace stolon::sentinel
