#include "keeper/metrics.h"

#include <chrono>

#include "cluster/cluster.h"

namespace stolon::keeper {
namespace {

double UnixSeconds(WallTime t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

// stolon's role gauges: every known role labelled, 1 for the current one (none when unknown).
void SetRole(MetricFamily& f, const std::string& role) {
  for (const char* r : {cluster::kRoleUndefined, cluster::kRoleMaster, cluster::kRoleStandby}) {
    f.Set({{"role", r}}, role == r ? 1 : 0);
  }
}

}  // namespace

KeeperMetrics::KeeperMetrics(MetricsRegistry& registry, const std::string& cluster_name,
                             const SharedState& shared) {
  AddClusterIdentifier(registry, cluster_name, "keeper");
  MetricFamily* cd_valid = &registry.Gauge(
      "stolon_keeper_clusterdata_last_valid_update_seconds",
      "Last time we received a valid clusterdata from our store as seconds since unix epoch");
  MetricFamily* target_role =
      &registry.Gauge("stolon_keeper_target_role", "Keeper last requested target role", true);
  MetricFamily* local_role =
      &registry.Gauge("stolon_keeper_local_role", "Keeper current local role", true);
  SetRole(*target_role, "");
  SetRole(*local_role, "");
  MetricFamily* needs_reload =
      &registry.Gauge("stolon_keeper_needs_reload", "Set to 1 if Postgres requires reload");
  MetricFamily* needs_restart =
      &registry.Gauge("stolon_keeper_needs_restart", "Set to 1 if Postgres requires restart");
  MetricFamily* last_sync = &registry.Gauge("stolon_keeper_last_sync_success_seconds",
                                            "Last time we successfully synced our keeper");
  MetricFamily* sleep_interval =
      &registry.Gauge("stolon_keeper_sleep_interval", "Seconds to sleep between sync loops");
  shutdown_ =
      &registry.Gauge("stolon_keeper_shutdown_seconds",
                      "Shutdown time (received termination signal) since unix epoch in seconds");
  MetricFamily* passes = &registry.Counter("stolon_keeper_passes_total", "Keeper passes run");
  MetricFamily* failed_passes = &registry.Counter("stolon_keeper_pass_failures_total",
                                                  "Keeper passes that ended with an error");
  MetricFamily* wanted =
      &registry.Gauge("stolon_keeper_db_generation_wanted",
                      "Generation of our db spec in the cluster data (0 when no db is assigned)");
  MetricFamily* applied = &registry.Gauge(
      "stolon_keeper_db_generation_applied",
      "Db spec generation fully applied by the last converged pass (saved in dbstate)");
  MetricFamily* up = &registry.Gauge(
      "stolon_keeper_postgres_up", "Set to 1 if the last probe found postgres running and healthy");
  MetricFamily* wal = &registry.Gauge(
      "stolon_keeper_wal_position_bytes",
      "WAL position of the instance (current on a master, last received/replayed on a standby)");
  MetricFamily* timeline = &registry.Gauge("stolon_keeper_timeline_id", "Timeline of the instance");
  lag_family_ = &registry.Gauge(
      "stolon_keeper_standby_replication_lag_bytes",
      "Bytes between the master's current WAL position and the replay position of each "
      "standby (label standby = its db uid), as this keeper's master sees it",
      true);
  const SharedState* sh = &shared;
  registry.OnCollect([=, this] {
    const PassReport p = sh->pass_report();
    if (p.cluster_data_valid_at) cd_valid->Set(UnixSeconds(*p.cluster_data_valid_at));
    if (p.last_success_at) last_sync->Set(UnixSeconds(*p.last_success_at));
    SetRole(*target_role, p.target_role);
    SetRole(*local_role, p.local_role);
    needs_reload->Set(p.needs_reload ? 1 : 0);
    needs_restart->Set(p.needs_restart ? 1 : 0);
    sleep_interval->Set(std::chrono::duration<double>(sh->sleep_interval()).count());
    passes->Set(static_cast<double>(p.passes));
    failed_passes->Set(static_cast<double>(p.failed_passes));
    wanted->Set(static_cast<double>(p.wanted_generation));
    applied->Set(static_cast<double>(sh->db_state().generation));
    const std::optional<cluster::PostgresState> pg = sh->pg_state();
    up->Set(pg && pg->healthy ? 1 : 0);
    wal->Set(pg ? static_cast<double>(pg->xlog_pos) : 0);
    timeline->Set(pg ? static_cast<double>(pg->timeline_id) : 0);
    std::lock_guard l(mu_);
    lag_family_->Clear();
    for (const auto& [standby, bytes] : lag_) {
      lag_family_->Set({{"standby", standby}}, static_cast<double>(bytes));
    }
  });
}

void KeeperMetrics::SetStandbyLag(std::map<std::string, int64_t> lag) {
  std::lock_guard l(mu_);
  lag_ = std::move(lag);
}

void KeeperMetrics::SetShutdown(WallTime t) { shutdown_->Set(UnixSeconds(t)); }

absl::Status KeeperHealth(const PassReport& report) {
  if (!report.last_error) return absl::UnavailableError("starting: no keeper pass completed yet");
  if (!report.last_error->empty()) {
    return absl::UnavailableError("the last keeper pass failed: " + *report.last_error);
  }
  return absl::OkStatus();
}

}  // namespace stolon::keeper
