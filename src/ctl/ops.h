// The clusterdata changes behind stolonctl's subcommands, as pure functions: each takes the
// current clusterdata and returns the new one, or an error that names the problem and the fix.
// Nothing here touches the store, so a refused command can never change it.
#pragma once

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "cluster/cluster.h"

namespace stolon::ctl {

// Checks what stolonctl needs before acting on a read clusterdata: it exists and its spec
// validates. (formatVersion is checked when decoding.)
absl::StatusOr<cluster::ClusterData> RequireClusterData(
    const std::optional<cluster::ClusterData>& cd, const std::string& cluster_name);

// `update`: replaces the spec after ValidateSpecUpdate.
absl::StatusOr<cluster::ClusterData> UpdateSpec(const cluster::ClusterData& cd,
                                                const cluster::ClusterSpec& spec);

// `failkeeper`: sets keepers[uid].status.forceFail. NotFound for an unknown keeper.
absl::StatusOr<cluster::ClusterData> FailKeeper(const cluster::ClusterData& cd,
                                                const std::string& keeper_uid);

// `promote`: sets spec.role = master. AlreadyExists when the role already is master.
absl::StatusOr<cluster::ClusterData> Promote(const cluster::ClusterData& cd);

// `removekeeper`: deletes the keeper and its db. Refuses (FailedPrecondition) the master's keeper.
absl::StatusOr<cluster::ClusterData> RemoveKeeper(const cluster::ClusterData& cd,
                                                  const std::string& keeper_uid);

}  // namespace stolon::ctl
