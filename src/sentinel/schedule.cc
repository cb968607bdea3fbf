// When the leader checks next: a sleepInterval tick, brought forward to the moment a keeper or db
// that is still healthy would pass failInterval; and whether the master's synchronous standby set
// is moving, so that keeper info changes deserve a check at once.
#include <algorithm>

#include "sentinel/cluster_view.h"

namespace stolon::sentinel {
namespace {

using namespace std::chrono_literals;

// failInterval is compared with ">": check just after the deadline, not on it.
constexpr Duration kPastDeadline = 20ms;
// Never spin: a deadline that has just passed is checked again this long after the last check.
constexpr Duration kMinDelay = 20ms;

// When `keeper`'s failInterval would expire if it shows no further sign of life; nullopt when
// nothing runs (no timer, and its info was never seen changing: a new leader gives a full
// failInterval from the first stale check, which the next tick covers).
std::optional<SteadyTime> KeeperDeadline(const std::string& keeper, const SentinelState& state,
                                         Duration fail) {
  if (auto t = state.keeper_error_timers.find(keeper); t != state.keeper_error_timers.end()) {
    return t->second + fail;
  }
  auto h = state.keeper_info_histories.find(keeper);
  if (h == state.keeper_info_histories.end() || !h->second.seen) return std::nullopt;
  return h->second.first_seen + fail;
}

}  // namespace

Duration NextCheckDelay(const cluster::ClusterData& cd, const SentinelState& state,
                        SteadyTime now) {
  const cluster::ClusterSpec spec = cd.cluster.spec.WithDefaults();
  const Duration sleep = *spec.sleep_interval;
  const Duration fail = *spec.fail_interval;
  std::optional<SteadyTime> earliest;
  auto consider = [&](std::optional<SteadyTime> deadline) {
    if (deadline && (!earliest || *deadline < *earliest)) earliest = deadline;
  };
  for (const auto& [uid, k] : cd.keepers) {
    if (k.status.healthy) consider(KeeperDeadline(uid, state, fail));
  }
  for (const auto& [uid, db] : cd.dbs) {
    if (!db.status.healthy) continue;
    if (auto t = state.db_error_timers.find(uid); t != state.db_error_timers.end()) {
      consider(t->second + fail);
    }
  }
  if (!earliest) return sleep;
  const Duration until = *earliest + kPastDeadline - now;
  return std::clamp(until, kMinDelay, sleep);
}

bool SyncStandbysSettling(const cluster::ClusterData& cd) {
  auto m = cd.dbs.find(cd.cluster.status.master);
  if (m == cd.dbs.end()) return false;
  const cluster::DB& master = m->second;
  if (!master.spec.synchronous_replication) return false;
  auto sorted = [](std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  if (sorted(master.spec.synchronous_standbys) != sorted(master.status.synchronous_standbys)) {
    return true;
  }
  const auto& ext = master.spec.external_synchronous_standbys;
  if (std::find(ext.begin(), ext.end(), cluster::kFakeStandbyName) != ext.end()) return true;
  for (const auto& uid : master.spec.synchronous_standbys) {
    auto db = cd.dbs.find(uid);
    if (db == cd.dbs.end() || !db->second.status.healthy) return true;
    auto k = cd.keepers.find(db->second.spec.keeper_uid);
    if (k == cd.keepers.end() || !k->second.status.healthy) return true;
  }
  return false;
}

}  // namespace stolon::sentinel
