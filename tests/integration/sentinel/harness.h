// Harness for sentinel integration tests: a real etcd, stolon-sentinel processes and real
// stolon-keeper processes (as the unprivileged user, through the keeper tests' TestKeeper) with
// PostgreSQL 15, and helpers that wait (bounded) for what the cluster data and the databases
// show: an elected master that accepts writes, streaming standbys, a failover.
#pragma once

#include <signal.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cluster/cluster.h"
#include "integration/keeper/harness.h"
#include "store/kv_store.h"
#include "store/store.h"
#include "support/etcd.h"
#include "support/process.h"

namespace stolon::sentinel::testing {

using namespace std::chrono_literals;
using keeper::testing::TestKeeper;
using stolon::testing::EtcdCluster;
using stolon::testing::Process;
using stolon::testing::TempDir;

// sleepInterval 1s, failInterval 3s, initMode new.
cluster::ClusterSpec FastSpec();

// One stolon-sentinel process with its log.
class TestSentinel {
 public:
  TestSentinel(std::string name, std::vector<std::string> argv);
  ~TestSentinel();
  void Start();
  // SIGTERM (or `sig`) and wait for the exit; returns the wait status.
  int Stop(int sig = SIGTERM);
  void Kill();
  bool Running() { return process_ && process_->Running(); }
  std::string Log() const;
  bool LogContains(const std::string& s) const { return Log().find(s) != std::string::npos; }
  int CountInLog(const std::string& s) const;
  // The uid this run logged ("sentinel uid ... {"uid": "..."}"), "" before it did.
  std::string Uid() const;
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  std::vector<std::string> argv_;
  TempDir dir_;
  std::string log_path_;
  std::unique_ptr<Process> process_;
};

class SentinelTestCluster {
 public:
  explicit SentinelTestCluster(std::string name = "st");
  ~SentinelTestCluster();

  const std::string& name() const { return name_; }
  std::string endpoints() const { return etcd_.endpoints_flag(); }
  EtcdCluster& etcd() { return etcd_; }
  store::Store& store() { return *store_; }

  // `stolonctl init`: writes a fresh cluster data (phase initializing) for `spec`.
  absl::Status Init(const cluster::ClusterSpec& spec);
  // The current cluster data (nullopt when missing or unreadable).
  std::optional<cluster::ClusterData> Cd();

  // Adds (does not start) keeper `uid`, with `extra_args` after the common flags.
  TestKeeper& AddKeeper(const std::string& uid, std::vector<std::string> extra_args = {});
  TestKeeper& keeper(const std::string& uid) { return *keepers_.at(uid); }
  // Adds (does not start) a sentinel with the common flags plus `extra`.
  TestSentinel& AddSentinel(std::vector<std::string> extra = {});
  std::vector<std::unique_ptr<TestSentinel>>& sentinels() { return sentinels_; }

  // The keeper uid of the cd's master db once the cluster is in phase normal and that keeper's
  // postgres accepts a write (not in recovery); "" after `timeout`. Skips `not_keeper`.
  std::string WaitWritableMaster(std::chrono::milliseconds timeout,
                                 const std::string& not_keeper = "");
  // Waits until `master` streams to `n` standbys (pg_stat_replication).
  bool WaitStreaming(const std::string& master_keeper, int n, std::chrono::milliseconds timeout);
  // Whether keeper `uid`'s postgres accepts `insert` into the test table.
  bool Writable(const std::string& keeper_uid);

  // SIGKILL keeper `uid` and then its postmaster (pid from <pgdata>/postmaster.pid).
  void KillKeeperAndPostgres(const std::string& uid);

  // Every process log, for failure messages.
  std::string Logs();

 private:
  std::string name_;
  EtcdCluster etcd_;
  std::unique_ptr<store::KvStore> kv_;
  std::unique_ptr<store::Store> store_;
  std::map<std::string, std::unique_ptr<TestKeeper>> keepers_;
  std::vector<std::unique_ptr<TestSentinel>> sentinels_;
};

// Rows of the test table ("t") on keeper `k` as "a,b,c" (sorted), or an error text.
std::string Rows(const TestKeeper& k);

}  // namespace stolon::sentinel::testing
