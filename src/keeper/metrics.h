// The keeper's /metrics and /health (--metrics-listen-address).
//
// Metrics: stolon's own (stolon_cluster_identifier{component="keeper"},
// stolon_keeper_clusterdata_last_valid_update_seconds, stolon_keeper_target_role{role},
// stolon_keeper_local_role{role}, stolon_keeper_needs_reload, stolon_keeper_needs_restart,
// stolon_keeper_last_sync_success_seconds (the last pass that ended without error),
// stolon_keeper_sleep_interval, stolon_keeper_shutdown_seconds), plus the db generation wanted
// and applied, the WAL position and timeline, postgres up, the passes run and failed, and the
// replication lag of each standby as this keeper's master sees it.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "common/metrics.h"
#include "keeper/shared_state.h"

namespace stolon::keeper {

class KeeperMetrics {
 public:
  // Declares the families on `registry`; values are read from `shared` at every scrape. Both
  // must outlive this object.
  KeeperMetrics(MetricsRegistry& registry, const std::string& cluster_name,
                const SharedState& shared);

  // The lag, in bytes, of each standby (by db uid) streaming from our master; empty when we are
  // not a master. Thread-safe.
  void SetStandbyLag(std::map<std::string, int64_t> lag);
  // Records the time of the termination signal (stolon_keeper_shutdown_seconds).
  void SetShutdown(WallTime t);

 private:
  std::mutex mu_;
  std::map<std::string, int64_t> lag_;  // guarded by mu_
  MetricFamily* lag_family_;
  MetricFamily* shutdown_;
};

// /health from the last pass: OK when it ended without error; Unavailable with the reason before
// the first pass ended or when the last one failed.
absl::Status KeeperHealth(const PassReport& report);

}  // namespace stolon::keeper
