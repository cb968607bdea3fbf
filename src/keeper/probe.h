// The PostgresState a keeper publishes in its KeeperInfo, read from the instance.
#pragma once

#include "cluster/cluster.h"
#include "keeper/config.h"
#include "keeper/instance.h"
#include "keeper/local_state.h"

namespace stolon::keeper {

// The PostgresState published for the db in `dbls`, read from `pg`, with the fields stolon v0.17's
// keeper publishes. A failure of a step leaves healthy = false; the olderWalFile failure is only a
// warning.
cluster::PostgresState ProbePGState(Instance& pg, const DBLocalState& dbls,
                                    const KeeperConfig& config);

}  // namespace stolon::keeper
