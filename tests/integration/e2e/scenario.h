// Helpers shared by the end-to-end HA scenarios (tests/integration/e2e/*_test.cc): a whole
// cluster (etcd, keepers, one sentinel, one proxy) with short timings, what stolonctl says about
// it, and the checks every fault scenario makes on the continuous writer's records.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "integration/sentinel/harness.h"
#include "support/writer.h"

namespace stolon::e2e {

using namespace std::chrono_literals;
using sentinel::testing::SentinelTestCluster;
using sentinel::testing::TestKeeper;
using stolon::testing::ContinuousWriter;
using stolon::testing::FaultWrites;
using stolon::testing::SteadyTime;
using stolon::testing::WaitFor;

// sleepInterval 1s, failInterval 3s, proxyCheckInterval 1s, proxyTimeout 3s, and
// synchronousReplication as asked (minSynchronousStandbys 1, maxSynchronousStandbys 1).
cluster::ClusterSpec E2ESpec(bool sync);

// Inits the cluster data with `spec`, starts keepers keeper0..keeper<n-1>, one sentinel and one
// proxy, and waits until a master accepts writes, streams to n-1 standbys and the proxy routes
// to it (and, with sync replication, until the cluster data shows a standby in sync). Returns the
// master's keeper uid ("" on timeout).
std::string StartCluster(SentinelTestCluster& c, const cluster::ClusterSpec& spec, int keepers);

// Waits until the cluster data has exactly `dbs` dbs, each healthy and converged (its keeper
// applied its current generation): the standbys finished their initial sync (pg_basebackup's own
// WAL stream already shows as "streaming" on the master, so streaming alone does not say it).
bool WaitAllConverged(SentinelTestCluster& c, size_t dbs, std::chrono::milliseconds timeout);

// The keeper of the master db's reported in-sync standby once the cluster data shows exactly one
// in sync that the spec lists; "" after the timeout.
std::string WaitSyncStandby(SentinelTestCluster& c, std::chrono::milliseconds timeout);

// `stolonctl status -f json`, parsed (nullopt when it fails).
std::optional<nlohmann::json> CtlStatus(SentinelTestCluster& c);
// The master keeper uid stolonctl status reports ("" when none or on error).
std::string CtlStatusMaster(SentinelTestCluster& c);

// The last line of `text` containing `needle` ("" when none).
std::string LastLineWith(const std::string& text, const std::string& needle);

// The keeper uid of the cluster data's master db ("" when none).
std::string CdMasterKeeper(SentinelTestCluster& c);

// The writer's conninfo for keeper `k`'s postgres (superuser, direct).
std::string DirectConninfo(const TestKeeper& k);

// A writer through the first proxy into `table`, started (the table is created through the proxy).
std::unique_ptr<ContinuousWriter> StartWriter(SentinelTestCluster& c, const std::string& table);

// Waits until the writer has `n` more writes acknowledged by `port` than it had when called.
bool WaitAcks(ContinuousWriter& w, int port, int n, std::chrono::milliseconds timeout);

// Prints the fault's write figures, records them as test properties (<scenario>_unavailable_ms,
// ..._acked, ...) and returns the unavailability window in ms (-1 when writes never resumed).
int64_t ReportWrites(const std::string& scenario, const FaultWrites& f, int connect_failures);

// The checks every failover under the writer makes, once the new master acknowledged writes.
// Stops the writer, reports the window (ReportWrites), and expects: writes acknowledged before the
// fault, a first ack by the new master, none by the old master after it, and every write the new
// master acknowledged present on it. With `sync`, every acknowledged write is present on the new
// master; without, the lost ones (acked by the old master only) are counted and reported.
void CheckFailoverWrites(SentinelTestCluster& c, ContinuousWriter& w, SteadyTime fault,
                         const std::string& old_master, const std::string& new_master,
                         const std::string& table, const std::string& scenario, bool sync);

// Waits until keeper `uid` is a standby (in recovery) whose `table` ids equal those of keeper
// `master`'s (the writer must be stopped), and the cluster data has its db as a healthy,
// converged standby following the master's db.
bool WaitRejoinedAsStandby(SentinelTestCluster& c, const std::string& uid,
                           const std::string& master, const std::string& table,
                           std::chrono::milliseconds timeout);

// The kill -9 scenario under the writer: starts a writer into `table`, waits for acks by
// `old_master`, kills its keeper and postmaster, waits until `new_master` is the master in the
// cluster data, the proxy routes to it and it acknowledges writes, checks the writes
// (CheckFailoverWrites, reported as `scenario`) and stolonctl's view, then restarts the old
// master's keeper and waits until it rejoined as a standby. Use with ASSERT_NO_FATAL_FAILURE.
void KillMasterUnderWrites(SentinelTestCluster& c, const std::string& old_master,
                           const std::string& new_master, const std::string& table,
                           const std::string& scenario, bool sync);

}  // namespace stolon::e2e
