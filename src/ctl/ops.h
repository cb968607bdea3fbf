// The clusterdata changes behind stolonctl's subcommands, as pure functions: each takes the
// current clusterdata and returns the new one, or an error that names the problem and the fix.
// Nothing here touches the store, so a refused command can never change it.
#pragma once

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "cluster/cluster.h"
#include "common/clock.h"
#include "common/ids.h"

namespace stolon::ctl {

// `init`: a fresh clusterdata for `spec` (validated first): new cluster uid, generation 1, phase
// initializing, no keepers/dbs, an empty proxy object.
absl::StatusOr<cluster::ClusterData> NewClusterData(const cluster::ClusterSpec& spec,
                                                    IdGenerator& ids, const Clock& clock);

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
