// The cluster harness of the sentinel and end-to-end (e2e) integration tests: a real etcd,
// stolon-sentinel, stolon-proxy and stolon-keeper processes (keepers as the unprivileged user,
// through the keeper tests' TestKeeper) with PostgreSQL 15, stolonctl runs, fault injection
// (kill -9, SIGSTOP of a keeper and its postmaster) and helpers that wait (bounded) for what the
// cluster data, the databases and the proxy show: an elected master that accepts writes,
// streaming standbys, a failover, proxy routing.
//
// Cleanup: the destructor stops sentinels, proxies and keepers, then kills (SIGCONT + SIGKILL of
// the process group) any postmaster a keeper left behind (a frozen or orphaned one).
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

// One daemon process (run as the current user) with its log in a temp dir.
class TestDaemon {
 public:
  TestDaemon(std::string name, std::vector<std::string> argv);
  virtual ~TestDaemon();
  void Start();
  // SIGTERM (or `sig`) and wait for the exit; returns the wait status.
  int Stop(int sig = SIGTERM);
  void Kill();
  void Signal(int sig);
  bool Running() { return process_ && process_->Running(); }
  std::string Log() const;
  bool LogContains(const std::string& s) const { return Log().find(s) != std::string::npos; }
  int CountInLog(const std::string& s) const;
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  std::vector<std::string> argv_;
  TempDir dir_;
  std::string log_path_;
  std::unique_ptr<Process> process_;
};

// One stolon-sentinel process.
class TestSentinel : public TestDaemon {
 public:
  using TestDaemon::TestDaemon;
  // The uid this run logged ("sentinel uid ... {"uid": "..."}"), "" before it did.
  std::string Uid() const;
};

// One stolon-proxy process listening on 127.0.0.1:port().
class TestProxy : public TestDaemon {
 public:
  TestProxy(std::string name, std::vector<std::string> argv, int port)
      : TestDaemon(std::move(name), std::move(argv)), port_(port) {}
  int port() const { return port_; }
  // A libpq conninfo through this proxy as the keepers' superuser (dbname postgres).
  std::string Conninfo() const;

 private:
  int port_;
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
  // Adds (does not start) a stolon-proxy on a free port with the common flags plus `extra`.
  TestProxy& AddProxy(std::vector<std::string> extra = {});
  std::vector<std::unique_ptr<TestProxy>>& proxies() { return proxies_; }

  // Runs stolonctl with the cluster's flags plus `args`; returns the exit code, output in *out.
  int Ctl(const std::vector<std::string>& args, std::string* out);

  // What the first proxy routes a new connection to: "<pg_is_in_recovery>,<inet_server_port>"
  // (e.g. "false,5433"), or "" when it cannot connect or query.
  std::string ThroughProxy();
  // Waits until a new connection through the first proxy reaches keeper `uid`'s postgres as a
  // primary (not in recovery).
  bool WaitProxyRoutesTo(const std::string& uid, std::chrono::milliseconds timeout);

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
  // SIGSTOP / SIGCONT keeper `uid` and its postmaster (the postmaster's children keep running,
  // as in stolon's partition tests).
  void FreezeKeeperAndPostgres(const std::string& uid);
  void ThawKeeperAndPostgres(const std::string& uid);

  // Every process log, for failure messages.
  std::string Logs();

 private:
  std::string name_;
  EtcdCluster etcd_;
  std::unique_ptr<store::KvStore> kv_;
  std::unique_ptr<store::Store> store_;
  std::map<std::string, std::unique_ptr<TestKeeper>> keepers_;
  std::vector<std::unique_ptr<TestSentinel>> sentinels_;
  std::vector<std::unique_ptr<TestProxy>> proxies_;
  std::map<std::string, pid_t> frozen_postmasters_;
};

// Rows of the test table ("t") on keeper `k` as "a,b,c" (sorted), or an error text.
std::string Rows(const TestKeeper& k);

}  // namespace stolon::sentinel::testing
