// Test fixture for the sentinel: a small simulated cluster (keepers that publish infos derived
// from the clusterdata they see, proxies that acknowledge generations) driving
// ComputeClusterView step by step, with the invariant checker run after every step.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "cluster/cluster.h"
#include "common/clock.h"
#include "common/ids.h"
#include "fmt/format.h"
#include "gtest/gtest.h"
#include "sentinel/cluster_view.h"

namespace stolon::sentinel::testing {

using namespace std::chrono_literals;
using cluster::ClusterData;
using cluster::ClusterSpec;
using cluster::DB;

inline constexpr const char* kSystemId = "6958127733215012345";
inline constexpr uint64_t kXLog = 0x3000060;

// What a simulated keeper publishes.
struct KeeperSim {
  bool publishes = true;  // false: the info disappears from the store (TTL expired)
  bool frozen = false;    // true: the info stays but its infoUID never changes
  bool converges = true;  // reports the db's current spec generation
  bool pg_healthy = true;
  bool has_pg_state = true;
  std::optional<std::string> reported_db;  // overrides the db uid the keeper claims to run
  uint64_t xlog = kXLog;
  uint64_t timeline = 1;
  std::string system_id = kSystemId;
  cluster::TimelinesHistory history;
  std::vector<std::string> sync_standbys;  // what pg_stat_replication shows as sync
  std::string older_wal_file;
  cluster::PGParameters pg_parameters;
  std::optional<bool> can_be_master;
  std::optional<bool> can_be_sync;
  cluster::PostgresBinaryVersion version{15, 4};
  std::string cluster_uid;  // "" = the cluster's uid
  // internal
  std::string info_uid;
  std::map<std::string, int64_t> reported_generation;  // per db uid
};

struct ProxySim {
  bool publishes = true;
  bool frozen = false;  // infoUID never changes (a dead proxy whose key has not expired)
  bool acks = true;     // reports the current proxy generation
  int64_t generation = 0;
  Duration timeout = 15s;
  std::string info_uid;
};

// The spec most tests start from (defaults except initMode).
ClusterSpec BaseSpec();

class Sim {
 public:
  Sim();

  // Cluster builders. Normal phase, uid "cluster0".
  void NewCluster(const ClusterSpec& spec, const std::string& phase = cluster::kPhaseNormal);
  void AddKeeper(const std::string& uid);
  void AddMaster(const std::string& db, const std::string& keeper);
  void AddStandby(const std::string& db, const std::string& keeper,
                  const std::string& master = "db0");
  void AddProxy(const std::string& uid);
  // Master db0 on keeper0, standbys db<i> on keeper<i> for i in [1, standbys], proxy0, master
  // published to proxies.
  void Healthy(int standbys, ClusterSpec spec = BaseSpec());
  // Synchronous replication with db1 as the (in sync) synchronous standby of db0.
  void HealthySync(int standbys, ClusterSpec spec = BaseSpec());
  // Finishes a hand-built cd: db specs from the cluster spec, master followers, converged.
  void Finish();

  // Marks a keeper dead since longer than failInterval (white-box: seeds the timers).
  void FailKeeper(const std::string& keeper);

  // One sentinel check: publishes infos, computes, checks invariants, adopts the result.
  const ClusterView& Step();
  // Advances the clock by `d` and steps.
  const ClusterView& StepAfter(Duration d);
  // Expects the step to fail with an error containing `text`.
  void StepFails(const std::string& text);

  cluster::KeepersInfo KeeperInfos();
  cluster::ProxiesInfo ProxyInfos();

  // Accessors.
  const DB& Db(const std::string& uid) const;
  bool HasDb(const std::string& uid) const { return cd.dbs.count(uid) > 0; }
  std::string Master() const { return cd.cluster.status.master; }
  bool Decided(const std::string& text) const;  // some decision line of the last step contains it
  std::string Decisions() const;

  FakeClock clock;
  SequentialIdGenerator ids{"new"};
  std::mt19937_64 rng{7};
  ClusterData cd;
  ClusterData prev;
  SentinelState state;
  std::map<std::string, KeeperSim> keepers;
  std::map<std::string, ProxySim> proxies;
  ClusterView view;
  int steps = 0;

 private:
  std::string NextInfoUid();
  int info_seq_ = 0;
};

// A named table case: build a situation, run one check, verify.
struct Case {
  std::string name;
  std::function<void(Sim&)> setup;
  std::function<void(Sim&)> check;  // after one Step()
};

inline std::ostream& operator<<(std::ostream& os, const Case& c) { return os << c.name; }

std::string CaseName(const ::testing::TestParamInfo<Case>& info);

}  // namespace stolon::sentinel::testing
