// Harness for keeper integration tests: a real etcd, stolon-keeper processes running as the
// unprivileged user on free ports, and a test-side "sentinel" that writes the cluster data by
// hand (there is no sentinel in these tests) from what the keepers publish.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cluster/cluster.h"
#include "postgresql/connection.h"
#include "store/kv_store.h"
#include "store/store.h"
#include "support/etcd.h"
#include "support/process.h"

namespace stolon::keeper::testing {

using namespace std::chrono_literals;
using stolon::testing::EtcdCluster;
using stolon::testing::Process;
using stolon::testing::TempDir;

inline constexpr const char* kSuUser = "stolonsu";
inline constexpr const char* kSuPassword = "supassword";
inline constexpr const char* kReplUser = "stolonrepl";
inline constexpr const char* kReplPassword = "replpassword";

struct KeeperOptions {
  std::string uid;
  std::string auth_method = "md5";  // both users
  std::vector<std::string> extra_args;
  std::string cwd;  // where the keeper starts (kept even when its user cannot enter it)
};

// One stolon-keeper process with its data dir and postgres port.
class TestKeeper {
 public:
  TestKeeper(const std::string& cluster_name, const std::string& endpoints, KeeperOptions opts);
  ~TestKeeper();

  void Start();
  // Starts with an explicit argv (e.g. Args() with a flag removed).
  void StartWith(std::vector<std::string> argv);
  // SIGINT and wait for exit (the keeper stops postgres first). Returns the wait status.
  int Stop();
  void Kill();
  // Sends `sig` to the keeper process (no-op when not running).
  void Signal(int sig);
  bool Running() { return process_ && process_->Running(); }
  std::string Log() const;
  // Log lines containing `needle` since the start (all runs).
  bool LogContains(const std::string& needle) const {
    return Log().find(needle) != std::string::npos;
  }
  int CountInLog(const std::string& needle) const;

  const std::string& uid() const { return opts_.uid; }
  int pg_port() const { return pg_port_; }
  // The postgres port of the next Start() (a keeper restarted on another port).
  void set_pg_port(int port) { pg_port_ = port; }
  std::string data_dir() const { return dir_.path() + "/data"; }
  std::string pgdata() const { return data_dir() + "/postgres"; }
  std::vector<std::string> Args() const;

  // A connection to this keeper's postgres over TCP.
  absl::StatusOr<postgresql::Connection> Connect(const std::string& user = kSuUser,
                                                 const std::string& password = kSuPassword) const;
  // Runs a query as the superuser; returns the first column of the first row.
  absl::StatusOr<std::string> QueryOne(const std::string& sql) const;
  // Whether the postmaster of this keeper's PGDATA runs.
  bool PostgresRunning() const;
  // The postmaster's pid from <pgdata>/postmaster.pid, 0 when there is none. The postmaster runs
  // in its own session, so its pid is also its process group id.
  pid_t PostmasterPid() const;

 private:
  std::string cluster_name_, endpoints_;
  KeeperOptions opts_;
  TempDir dir_;
  int pg_port_;
  std::string log_path_;
  std::unique_ptr<Process> process_;
};

// The test's etcd, store client and hand-written cluster data.
class TestCluster {
 public:
  explicit TestCluster(std::string name = "kt");

  EtcdCluster& etcd() { return etcd_; }
  const std::string& name() const { return name_; }
  std::string endpoints() const { return etcd_.endpoints_flag(); }
  store::Store& store() { return *store_; }

  // The cluster data as the test wants it; Put() writes it.
  cluster::ClusterData cd;
  absl::Status Put();

  // The keeper's published info, if any.
  std::optional<cluster::KeeperInfo> Info(const std::string& keeper_uid);
  // Waits for an info of `keeper_uid` satisfying `pred` (bounded by `timeout`).
  std::optional<cluster::KeeperInfo> WaitInfo(
      const std::string& keeper_uid, const std::function<bool(const cluster::KeeperInfo&)>& pred,
      std::chrono::milliseconds timeout = 60s);

  // Adds keeper `uid` to the cluster data with the boot UUID it publishes (waits for its info):
  // what the sentinel does, and what lets the keeper act (the bootUUID gate).
  bool RegisterKeeper(const std::string& uid, std::chrono::milliseconds timeout = 30s);
  // A master db spec on `keeper_uid`.
  cluster::DB& AddMaster(const std::string& db_uid, const std::string& keeper_uid,
                         const std::string& init_mode);
  // A standby db following `followed` (internal), with `init_mode` (resync for a new copy).
  cluster::DB& AddStandby(const std::string& db_uid, const std::string& keeper_uid,
                          const std::string& followed, const std::string& init_mode);
  // Copies each keeper's published postgres state into its db's status (address, port, system
  // id, timeline, history, xlogpos): the sentinel's job.
  void RefreshDBStatus();
  // Waits until keeper `uid` reports db `db_uid` healthy at the db's current generation.
  bool WaitConverged(const std::string& keeper_uid, const std::string& db_uid,
                     std::chrono::milliseconds timeout = 60s);

 private:
  std::string name_;
  EtcdCluster etcd_;
  std::unique_ptr<store::KvStore> kv_;
  std::unique_ptr<store::Store> store_;
};

// Polls `sql` on `k` until it returns `want` (bounded).
bool WaitQuery(const TestKeeper& k, const std::string& sql, const std::string& want,
               std::chrono::milliseconds timeout = 30s);

}  // namespace stolon::keeper::testing
