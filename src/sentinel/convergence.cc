// Convergence tracking: how long a db has been converging to its current spec generation.
#include "sentinel/internal.h"

namespace stolon::sentinel::internal {

void UpdateDbConvergenceInfos(const ClusterData& cd, SteadyTime now, SentinelState& state) {
  auto& infos = state.db_convergence_infos;
  for (auto it = infos.begin(); it != infos.end();) {
    it = cd.dbs.count(it->first) ? std::next(it) : infos.erase(it);
  }
  for (const auto& [uid, db] : cd.dbs) {
    if (db.status.current_generation == db.generation) {
      infos.erase(uid);
      continue;
    }
    auto it = infos.find(uid);
    if (it == infos.end() || it->second.generation != db.generation) {
      infos[uid] = {db.generation, now};
    }
  }
}

Convergence DbConvergenceState(const DB& db, Duration timeout, const Ctx& ctx) {
  if (db.status.current_generation == db.generation) return Convergence::kConverged;
  if (timeout == Duration::zero()) return Convergence::kConverging;
  auto it = ctx.state.db_convergence_infos.find(db.uid);
  // No entry (the keeper moved away from a generation it had reached) or an entry for another
  // generation: the clock starts now, when the infos are refreshed at the end of this check.
  if (it == ctx.state.db_convergence_infos.end() || it->second.generation != db.generation) {
    return Convergence::kConverging;
  }
  return ctx.now - it->second.since > timeout ? Convergence::kFailed : Convergence::kConverging;
}

}  // namespace stolon::sentinel::internal
