// The normal phase (4.7), in stolon's order.
#include "sentinel/internal.h"

namespace stolon::sentinel::internal {
namespace {

// Steps 5a-5g: only when the master is healthy and converged.
void ManageDbs(const ClusterData& cd, const std::string& master_uid, ClusterData& next, Ctx& ctx) {
  RemoveUnusableDbs(cd, master_uid, next, ctx);
  Buckets b = ValidStandbysByStatus(next, ctx);
  for (const auto& [uid, db] : b.good) next.dbs.at(uid).spec.init_mode = cluster::kInitModeNone;
  ManageSynchronousStandbys(master_uid, b, next, ctx);
  ManageStandbyCount(master_uid, b, next, ctx);
  ReconfigureStandbys(master_uid, next);
}

// Step 5: the master did not change in this check.
void UpdateUnchangedMaster(const std::string& master_uid, const cluster::ProxiesInfo& active,
                           ClusterData& next, Ctx& ctx) {
  UpdateProxySpec(master_uid, active, next, ctx);
  DB& master = next.dbs.at(master_uid);
  if (*ctx.spec.role == cluster::kRoleMaster &&
      (master.spec.role != cluster::kRoleMaster || master.spec.follow_config)) {
    ctx.log.Add("promoting db {} on keeper {} to master: the cluster role is master", master_uid,
                master.spec.keeper_uid);
    master.spec.role = cluster::kRoleMaster;
    master.spec.follow_config.reset();
  }
}

}  // namespace

absl::Status UpdateNormal(const ClusterData& cd, const cluster::ProxiesInfo& active,
                          ClusterData& next, Ctx& ctx) {
  RemoveDeadKeepers(cd, next, ctx);
  const std::string cur_uid = cd.cluster.status.master;
  auto cur = cd.dbs.find(cur_uid);
  if (cur == cd.dbs.end()) {
    return absl::FailedPreconditionError(
        fmt::format("master db {:?} does not exist in the cluster data", cur_uid));
  }
  std::string wanted = cur_uid;
  if (!MasterOk(cd, cur->second, ctx)) {
    std::string chosen = ChooseNewMaster(cd, cur->second, ctx);
    if (!chosen.empty()) wanted = chosen;
  }
  if (wanted != cur_uid) {
    ApplyNewMaster(cur_uid, wanted, next, ctx);
  } else {
    UpdateUnchangedMaster(cur_uid, active, next, ctx);
    const DB& master = next.dbs.at(cur_uid);
    const bool converged =
        DbConvergenceState(master, *ctx.spec.convergence_timeout, ctx) == Convergence::kConverged;
    if (master.status.healthy && converged) {
      ManageDbs(cd, cur_uid, next, ctx);
    } else {
      ctx.log.Add("master db {} on keeper {} is not {} yet: standbys left unchanged", cur_uid,
                  master.spec.keeper_uid, master.status.healthy ? "converged" : "healthy");
    }
  }
  UpdateMasterFollowers(wanted, next);
  return absl::OkStatus();
}

}  // namespace stolon::sentinel::internal
