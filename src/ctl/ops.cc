#include "ctl/ops.h"

#include "common/status.h"
#include "ctl/status.h"
#include "fmt/format.h"
#include "fmt/ranges.h"

namespace stolon::ctl {
namespace {

std::string KnownKeepers(const cluster::ClusterData& cd) {
  std::vector<std::string> uids;
  for (const auto& [uid, k] : cd.keepers) uids.push_back(uid);
  return uids.empty() ? "none" : fmt::format("{}", fmt::join(uids, ", "));
}

}  // namespace

absl::StatusOr<cluster::ClusterData> RequireClusterData(
    const std::optional<cluster::ClusterData>& cd, const std::string& cluster_name) {
  if (!cd) {
    return absl::NotFoundError(fmt::format(
        "no cluster data for cluster \"{}\" in the store: initialize it with `stolonctl init` "
        "(or check --cluster-name and --store-prefix)",
        cluster_name));
  }
  RETURN_IF_ERROR(Annotate(cd->cluster.spec.WithDefaults().Validate(),
                           "the cluster spec in the store is invalid"));
  return *cd;
}

absl::StatusOr<cluster::ClusterData> UpdateSpec(const cluster::ClusterData& cd,
                                                const cluster::ClusterSpec& spec) {
  RETURN_IF_ERROR(cluster::ValidateSpecUpdate(cd.cluster.spec, spec));
  cluster::ClusterData next = cd;
  next.cluster.spec = spec;
  return next;
}

absl::StatusOr<cluster::ClusterData> FailKeeper(const cluster::ClusterData& cd,
                                                const std::string& keeper_uid) {
  auto it = cd.keepers.find(keeper_uid);
  if (it == cd.keepers.end()) {
    return absl::NotFoundError(fmt::format("keeper doesn't exist: \"{}\" (known keepers: {})",
                                           keeper_uid, KnownKeepers(cd)));
  }
  cluster::ClusterData next = cd;
  next.keepers[keeper_uid].status.force_fail = true;
  return next;
}

absl::StatusOr<cluster::ClusterData> Promote(const cluster::ClusterData& cd) {
  if (cd.cluster.spec.WithDefaults().role.value_or(cluster::kRoleMaster) == cluster::kRoleMaster) {
    return absl::AlreadyExistsError("cluster spec role already set to master");
  }
  cluster::ClusterSpec spec = cd.cluster.spec;
  spec.role = cluster::kRoleMaster;
  return UpdateSpec(cd, spec);
}

absl::StatusOr<cluster::ClusterData> RemoveKeeper(const cluster::ClusterData& cd,
                                                  const std::string& keeper_uid) {
  if (!cd.keepers.count(keeper_uid)) {
    return absl::NotFoundError(fmt::format("keeper doesn't exist: \"{}\" (known keepers: {})",
                                           keeper_uid, KnownKeepers(cd)));
  }
  cluster::ClusterData next = cd;
  if (const cluster::DB* db = FindDBForKeeper(cd, keeper_uid)) {
    if (db->uid == cd.cluster.status.master) {
      return absl::FailedPreconditionError(
          "keeper assigned db is the current cluster master db. "
          "Fail over first (stolonctl failkeeper), then remove it");
    }
    next.dbs.erase(db->uid);
  }
  next.keepers.erase(keeper_uid);
  return next;
}

}  // namespace stolon::ctl
