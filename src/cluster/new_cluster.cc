#include "absl/status/statusor.h"
#include "cluster/cluster.h"
#include "common/ids.h"
#include "common/status.h"

namespace stolon::cluster {

absl::StatusOr<ClusterData> NewClusterData(const ClusterSpec& spec, IdGenerator& ids,
                                           const Clock& clock) {
  RETURN_IF_ERROR(Annotate(spec.WithDefaults().Validate(), "invalid cluster spec"));
  ClusterData cd;
  cd.format_version = kCurrentCDFormatVersion;
  cd.change_time = clock.WallNow();
  cd.cluster.uid = ids.NewUid();
  cd.cluster.generation = kInitialGeneration;
  cd.cluster.change_time = clock.WallNow();
  cd.cluster.spec = spec;
  cd.cluster.status.phase = kPhaseInitializing;
  return cd;
}

}  // namespace stolon::cluster
