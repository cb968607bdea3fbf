// What the keeper's loops (convergence pass, PostgreSQL probe, KeeperInfo publisher, /metrics)
// share: the db local state, the cluster uid, the sleep interval, the last probe and the pass
// report. Every accessor takes the lock; nothing else is shared between the loops.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "cluster/cluster.h"
#include "common/clock.h"
#include "common/duration.h"
#include "keeper/local_state.h"
#include "postgresql/util.h"

namespace stolon::keeper {

// What the convergence passes report for /metrics and /health.
struct PassReport {
  uint64_t passes = 0;                            // passes ended
  uint64_t failed_passes = 0;                     // of which ended with an error
  std::optional<WallTime> cluster_data_valid_at;  // last read of a usable cluster data
  std::optional<WallTime> last_success_at;        // last pass that ended without error
  std::optional<std::string> last_error;          // nullopt: no pass ended yet; "": it succeeded
  std::string target_role;  // our db's spec role in the last cluster data; "" without a db
  std::string local_role;   // the instance's role at the last pass (master, standby, undefined)
  int64_t wanted_generation = 0;  // our db's generation in the last cluster data; 0 without a db
  bool needs_reload = false;      // changed parameters/hba not applied by a reload yet
  bool needs_restart = false;     // parameters changed that only a restart applies
};

class SharedState {
 public:
  DBLocalState db_state() const;
  void set_db_state(DBLocalState s);
  std::string cluster_uid() const;
  void set_cluster_uid(std::string uid);
  Duration sleep_interval() const;
  void set_sleep_interval(Duration d);
  // The last probed PostgresState (nullopt until the first probe).
  std::optional<cluster::PostgresState> pg_state() const;
  void set_pg_state(std::optional<cluster::PostgresState> s);
  std::optional<postgresql::PGVersion> binary_version() const;
  void set_binary_version(postgresql::PGVersion v);
  PassReport pass_report() const;
  // Runs `f` on the report under the lock.
  void UpdatePassReport(const std::function<void(PassReport&)>& f);

 private:
  mutable absl::Mutex mu_;
  DBLocalState db_state_ ABSL_GUARDED_BY(mu_);
  std::string cluster_uid_ ABSL_GUARDED_BY(mu_);
  Duration sleep_interval_ ABSL_GUARDED_BY(mu_) = cluster::kDefaultSleepInterval;
  std::optional<cluster::PostgresState> pg_state_ ABSL_GUARDED_BY(mu_);
  std::optional<postgresql::PGVersion> binary_version_ ABSL_GUARDED_BY(mu_);
  PassReport pass_report_ ABSL_GUARDED_BY(mu_);
};

}  // namespace stolon::keeper
