// Structural invariants of a sentinel step (prev clusterdata -> next clusterdata). Tests run
// the checker after every computed view; the sentinel loop may run it before writing.
#pragma once

#include "absl/status/status.h"
#include "cluster/cluster.h"

namespace stolon::sentinel {

// Checks that `next` is a safe successor of `prev`, given the proxies judged active in the check
// that produced it. Returns FailedPrecondition naming the first violated invariant:
// - formatVersion is 1;
// - at most one master: every master-type db other than cluster.status.master was already
//   master-type in prev (no second master is ever created), and proxy.spec.masterDbUid is empty
//   or equals cluster.status.master;
// - cluster.status.master, when set, is a db of next;
// - every internal standby follows an existing db;
// - every db's spec synchronousStandbys are dbs of next;
// - db, keeper and proxy generations never decrease for objects present in both; a db whose
//   spec changed has a higher generation; new dbs start at generation 1;
// - a new non-empty masterDbUid is published only when prev's was empty and every active proxy
//   reported prev's proxy generation;
// - followers: every listed follower exists and follows that db internally, lists are sorted,
//   and the master's list is exactly the dbs following it.
absl::Status CheckInvariants(const cluster::ClusterData& prev, const cluster::ClusterData& next,
                             const cluster::ProxiesInfo& active_proxies);

}  // namespace stolon::sentinel
