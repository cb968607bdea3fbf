#include "integration/keeper/harness.h"

#include <signal.h>

#include <fstream>
#include <sstream>

#include "store/store_config.h"

namespace stolon::keeper::testing {

using stolon::testing::BinDir;
using stolon::testing::PgBinDir;
using stolon::testing::PickFreePort;
using stolon::testing::ProcessOptions;
using stolon::testing::WaitFor;

TestKeeper::TestKeeper(const std::string& cluster_name, const std::string& endpoints,
                       KeeperOptions opts)
    : cluster_name_(cluster_name),
      endpoints_(endpoints),
      opts_(std::move(opts)),
      dir_("keeper-" + opts_.uid),
      pg_port_(PickFreePort()) {
  log_path_ = dir_.path() + "/keeper.log";
  stolon::testing::RegisterPostmasterPidFile(pgdata() + "/postmaster.pid");
}

TestKeeper::~TestKeeper() {
  if (process_ && process_->Running()) Stop();
}

std::vector<std::string> TestKeeper::Args() const {
  std::vector<std::string> argv = {BinDir() + "/stolon-keeper",
                                   "--uid=" + opts_.uid,
                                   "--cluster-name=" + cluster_name_,
                                   "--store-backend=etcdv3",
                                   "--store-endpoints=" + endpoints_,
                                   "--store-timeout=1s",
                                   "--data-dir=" + data_dir(),
                                   "--pg-listen-address=127.0.0.1",
                                   "--pg-port=" + std::to_string(pg_port_),
                                   "--pg-bin-path=" + PgBinDir(),
                                   std::string("--pg-su-username=") + kSuUser,
                                   std::string("--pg-su-password=") + kSuPassword,
                                   std::string("--pg-repl-username=") + kReplUser,
                                   std::string("--pg-repl-password=") + kReplPassword,
                                   "--pg-su-auth-method=" + opts_.auth_method,
                                   "--pg-repl-auth-method=" + opts_.auth_method};
  argv.insert(argv.end(), opts_.extra_args.begin(), opts_.extra_args.end());
  return argv;
}

void TestKeeper::Start() { StartWith(Args()); }

void TestKeeper::StartWith(std::vector<std::string> argv) {
  ProcessOptions po;
  po.argv = std::move(argv);
  po.log_file = log_path_;
  po.as_unprivileged_user = true;
  po.cwd = opts_.cwd;
  po.keep_closed_cwd = !opts_.cwd.empty();
  process_ = std::make_unique<Process>(po);
  process_->Start();
}

int TestKeeper::Stop() {
  if (!process_) return 0;
  return process_->Stop(SIGINT, 60s);
}

void TestKeeper::Kill() {
  if (process_) process_->Kill();
}

void TestKeeper::Signal(int sig) {
  if (process_) process_->Signal(sig);
}

std::string TestKeeper::Log() const {
  std::ifstream in(log_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int TestKeeper::CountInLog(const std::string& needle) const {
  std::string log = Log();
  int n = 0;
  for (size_t pos = log.find(needle); pos != std::string::npos; pos = log.find(needle, pos + 1))
    ++n;
  return n;
}

absl::StatusOr<postgresql::Connection> TestKeeper::Connect(const std::string& user,
                                                           const std::string& password) const {
  return postgresql::Connection::Connect({{"host", "127.0.0.1"},
                                          {"port", std::to_string(pg_port_)},
                                          {"user", user},
                                          {"password", password},
                                          {"dbname", "postgres"},
                                          {"sslmode", "disable"}},
                                         5s);
}

absl::StatusOr<std::string> TestKeeper::QueryOne(const std::string& sql) const {
  auto conn = Connect();
  if (!conn.ok()) return conn.status();
  auto r = conn->Query(sql);
  if (!r.ok()) return r.status();
  if (r->rows.empty() || r->rows[0].empty() || !r->rows[0][0]) return std::string("<null>");
  return *r->rows[0][0];
}

pid_t TestKeeper::PostmasterPid() const {
  std::ifstream in(pgdata() + "/postmaster.pid");
  long pid = 0;
  if (!(in >> pid) || pid <= 0) return 0;
  return static_cast<pid_t>(pid);
}

bool TestKeeper::PostgresRunning() const {
  pid_t pid = PostmasterPid();
  return pid > 0 && ::kill(pid, 0) == 0;
}

TestCluster::TestCluster(std::string name) : name_(std::move(name)) {
  store::StoreConfig sc;
  sc.endpoints = etcd_.endpoints();
  sc.timeout = 1s;
  sc.cluster_name = name_;
  auto kv = store::NewKvStore(sc);
  if (!kv.ok()) throw std::runtime_error(kv.status().ToString());
  kv_ = std::move(*kv);
  store_ = std::make_unique<store::Store>(*kv_, sc.BasePath());

  cd.cluster.uid = "c0ffee01";
  cd.cluster.generation = 1;
  cd.cluster.spec.init_mode = cluster::kInitModeNew;
  cd.cluster.spec.sleep_interval = 1s;
  cd.cluster.spec.max_standbys = 5;
  cd.cluster.status.phase = cluster::kPhaseNormal;
}

absl::Status TestCluster::Put() { return store_->PutClusterData(cd).status(); }

std::optional<cluster::KeeperInfo> TestCluster::Info(const std::string& keeper_uid) {
  auto infos = store_->GetKeepersInfo();
  if (!infos.ok()) return std::nullopt;
  auto it = infos->find(keeper_uid);
  if (it == infos->end()) return std::nullopt;
  return it->second;
}

std::optional<cluster::KeeperInfo> TestCluster::WaitInfo(
    const std::string& keeper_uid, const std::function<bool(const cluster::KeeperInfo&)>& pred,
    std::chrono::milliseconds timeout) {
  std::optional<cluster::KeeperInfo> got;
  WaitFor(
      [&] {
        auto i = Info(keeper_uid);
        if (i && pred(*i)) {
          got = i;
          return true;
        }
        return false;
      },
      timeout, 200ms);
  return got;
}

bool TestCluster::RegisterKeeper(const std::string& uid, std::chrono::milliseconds timeout) {
  if (!cd.keepers.count(uid)) {
    cd.keepers[uid].uid = uid;
    cd.keepers[uid].generation = 1;
    if (!Put().ok()) return false;
  }
  // The keeper publishes only once it read a cluster data with a uid.
  std::string old_boot = cd.keepers[uid].status.boot_uuid;
  auto info = WaitInfo(
      uid, [&](const cluster::KeeperInfo& ki) { return ki.boot_uuid != old_boot; }, timeout);
  if (!info) return false;
  cd.keepers[uid].status.boot_uuid = info->boot_uuid;
  cd.keepers[uid].status.healthy = true;
  return Put().ok();
}

static cluster::DB NewDB(const cluster::ClusterSpec& spec, const std::string& db_uid,
                         const std::string& keeper_uid) {
  cluster::DB db;
  db.uid = db_uid;
  db.generation = 1;
  db.spec.keeper_uid = keeper_uid;
  db.spec.request_timeout = 10s;
  db.spec.max_standbys = spec.max_standbys.value_or(20);
  db.spec.additional_wal_senders = 5;
  db.spec.use_pg_rewind = spec.use_pg_rewind.value_or(false);
  db.spec.pg_parameters = spec.pg_parameters;
  db.spec.pg_hba = spec.pg_hba;
  return db;
}

cluster::DB& TestCluster::AddMaster(const std::string& db_uid, const std::string& keeper_uid,
                                    const std::string& init_mode) {
  cluster::DB db = NewDB(cd.cluster.spec, db_uid, keeper_uid);
  db.spec.role = cluster::kRoleMaster;
  db.spec.init_mode = init_mode;
  cd.dbs[db_uid] = db;
  cd.cluster.status.master = db_uid;
  return cd.dbs[db_uid];
}

cluster::DB& TestCluster::AddStandby(const std::string& db_uid, const std::string& keeper_uid,
                                     const std::string& followed, const std::string& init_mode) {
  cluster::DB db = NewDB(cd.cluster.spec, db_uid, keeper_uid);
  db.spec.role = cluster::kRoleStandby;
  db.spec.init_mode = init_mode;
  db.spec.follow_config = cluster::FollowConfig{cluster::kFollowInternal, followed, {}, {}};
  cd.dbs[db_uid] = db;
  auto& f = cd.dbs[followed].spec.followers;
  if (std::find(f.begin(), f.end(), db_uid) == f.end()) {
    f.push_back(db_uid);
    std::sort(f.begin(), f.end());
    cd.dbs[followed].generation++;
  }
  return cd.dbs[db_uid];
}

void TestCluster::RefreshDBStatus() {
  auto infos = store_->GetKeepersInfo();
  if (!infos.ok()) return;
  for (auto& [uid, db] : cd.dbs) {
    auto it = infos->find(db.spec.keeper_uid);
    if (it == infos->end() || !it->second.postgres_state) continue;
    const auto& ps = *it->second.postgres_state;
    if (ps.uid != db.uid) continue;
    db.status.listen_address = ps.listen_address;
    db.status.port = ps.port;
    if (!ps.healthy) continue;
    db.status.healthy = true;
    db.status.system_id = ps.system_id;
    db.status.timeline_id = ps.timeline_id;
    db.status.xlog_pos = ps.xlog_pos;
    db.status.timelines_history = ps.timelines_history;
    db.status.current_generation = ps.generation;
  }
}

bool TestCluster::WaitConverged(const std::string& keeper_uid, const std::string& db_uid,
                                std::chrono::milliseconds timeout) {
  int64_t gen = cd.dbs.at(db_uid).generation;
  return WaitInfo(
             keeper_uid,
             [&](const cluster::KeeperInfo& ki) {
               return ki.postgres_state && ki.postgres_state->uid == db_uid &&
                      ki.postgres_state->generation == gen && ki.postgres_state->healthy;
             },
             timeout)
      .has_value();
}

bool WaitQuery(const TestKeeper& k, const std::string& sql, const std::string& want,
               std::chrono::milliseconds timeout) {
  return WaitFor(
      [&] {
        auto v = k.QueryOne(sql);
        return v.ok() && *v == want;
      },
      timeout, 200ms);
}

}  // namespace stolon::keeper::testing
