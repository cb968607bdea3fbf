#include "integration/sentinel/harness.h"

#include <fmt/format.h>
#include <signal.h>

#include <fstream>
#include <sstream>

#include "cluster/cluster.h"
#include "common/clock.h"
#include "common/ids.h"
#include "store/store_config.h"

namespace stolon::sentinel::testing {

using stolon::testing::BinDir;
using stolon::testing::ProcessOptions;
using stolon::testing::WaitFor;

cluster::ClusterSpec FastSpec() {
  cluster::ClusterSpec spec;
  spec.init_mode = cluster::kInitModeNew;
  spec.sleep_interval = 1s;
  spec.fail_interval = 3s;
  return spec;
}

namespace {
std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

// ---- TestDaemon, TestSentinel, TestProxy

TestDaemon::TestDaemon(std::string name, std::vector<std::string> argv)
    : name_(std::move(name)), argv_(std::move(argv)), dir_("daemon-" + name_) {
  log_path_ = dir_.path() + "/" + name_ + ".log";
}

TestDaemon::~TestDaemon() {
  if (process_ && process_->Running()) process_->Kill();
}

void TestDaemon::Start() {
  ProcessOptions po;
  po.argv = argv_;
  po.log_file = log_path_;
  process_ = std::make_unique<Process>(po);
  process_->Start();
}

int TestDaemon::Stop(int sig) { return process_ ? process_->Stop(sig, 30s) : 0; }

void TestDaemon::Kill() {
  if (process_) process_->Kill();
}

void TestDaemon::Signal(int sig) {
  if (process_) process_->Signal(sig);
}

std::string TestDaemon::Log() const { return ReadFile(log_path_); }

int TestDaemon::CountInLog(const std::string& s) const {
  std::string log = Log();
  int n = 0;
  for (size_t p = log.find(s); p != std::string::npos; p = log.find(s, p + 1)) ++n;
  return n;
}

std::string TestSentinel::Uid() const {
  std::string log = Log();
  // The last start's line: "sentinel uid\t{"uid": "0123abcd"}".
  size_t p = log.rfind("sentinel uid\t");
  if (p == std::string::npos) return "";
  static const std::string kKey = "\"uid\": \"";
  size_t q = log.find(kKey, p);
  if (q == std::string::npos) return "";
  q += kKey.size();
  size_t e = log.find('"', q);
  return e == std::string::npos ? "" : log.substr(q, e - q);
}

// ---- SentinelTestCluster

SentinelTestCluster::SentinelTestCluster(std::string name) : name_(std::move(name)) {
  stolon::testing::KillChildrenOnFatalSignal();
  store::StoreConfig sc;
  sc.endpoints = etcd_.endpoints();
  sc.timeout = 2s;
  sc.cluster_name = name_;
  auto kv = store::NewKvStore(sc);
  if (!kv.ok()) throw std::runtime_error(kv.status().ToString());
  kv_ = std::move(*kv);
  store_ = std::make_unique<store::Store>(*kv_, sc.BasePath());
}

std::string TestProxy::Conninfo() const {
  return fmt::format("host=127.0.0.1 port={} user={} password={} dbname=postgres", port_,
                     keeper::testing::kSuUser, keeper::testing::kSuPassword);
}

SentinelTestCluster::~SentinelTestCluster() {
  // Sentinels first so that nothing reacts to the keepers going away.
  for (auto& s : sentinels_) {
    if (s->Running()) s->Stop();
  }
  for (auto& p : proxies_) {
    if (p->Running()) p->Stop();
  }
  // A frozen postmaster would make its keeper's shutdown hang: thaw it first.
  for (auto& [uid, pid] : frozen_postmasters_) ::kill(pid, SIGCONT);
  for (auto& [uid, k] : keepers_) {
    if (k->Running()) k->Stop();
    // Whatever the keeper left behind (it was killed, or could not stop postgres): the postmaster
    // runs in its own session, so its pid is its process group.
    if (k->PostgresRunning()) {
      const pid_t pg = k->PostmasterPid();
      ::kill(-pg, SIGCONT);
      ::kill(-pg, SIGKILL);
      WaitFor([&] { return ::kill(pg, 0) != 0; }, 10s, 50ms);
    }
  }
}

absl::Status SentinelTestCluster::Init(const cluster::ClusterSpec& spec) {
  RandomIdGenerator ids;
  auto cd = cluster::NewClusterData(spec, ids, RealClock::Instance());
  if (!cd.ok()) return cd.status();
  return store_->PutClusterData(*cd).status();
}

std::optional<cluster::ClusterData> SentinelTestCluster::Cd() {
  auto cd = store_->GetClusterData();
  if (!cd.ok() || !cd->has_value()) return std::nullopt;
  return (*cd)->value;
}

TestKeeper& SentinelTestCluster::AddKeeper(const std::string& uid,
                                           std::vector<std::string> extra_args) {
  keeper::testing::KeeperOptions opts;
  opts.uid = uid;
  opts.extra_args = std::move(extra_args);
  auto k = std::make_unique<TestKeeper>(name_, endpoints(), opts);
  TestKeeper& ref = *k;
  keepers_[uid] = std::move(k);
  return ref;
}

TestSentinel& SentinelTestCluster::AddSentinel(std::vector<std::string> extra) {
  std::vector<std::string> argv = {BinDir() + "/stolon-sentinel", "--cluster-name=" + name_,
                                   "--store-backend=etcdv3", "--store-endpoints=" + endpoints(),
                                   "--store-timeout=2s"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  sentinels_.push_back(
      std::make_unique<TestSentinel>("s" + std::to_string(sentinels_.size()), argv));
  return *sentinels_.back();
}

TestProxy& SentinelTestCluster::AddProxy(std::vector<std::string> extra) {
  const int port = stolon::testing::PickFreePort();
  std::vector<std::string> argv = {
      BinDir() + "/stolon-proxy",         "--cluster-name=" + name_, "--store-backend=etcdv3",
      "--store-endpoints=" + endpoints(), "--store-timeout=2s",      "--listen-address=127.0.0.1",
      "--port=" + std::to_string(port)};
  argv.insert(argv.end(), extra.begin(), extra.end());
  proxies_.push_back(
      std::make_unique<TestProxy>("p" + std::to_string(proxies_.size()), argv, port));
  return *proxies_.back();
}

int SentinelTestCluster::Ctl(const std::vector<std::string>& args, std::string* out) {
  std::vector<std::string> argv = {BinDir() + "/stolonctl", "--cluster-name=" + name_,
                                   "--store-backend=etcdv3", "--store-endpoints=" + endpoints()};
  argv.insert(argv.end(), args.begin(), args.end());
  return stolon::testing::RunCommand(argv, out, 30s);
}

std::string SentinelTestCluster::ThroughProxy() {
  if (proxies_.empty()) return "";
  auto conn = postgresql::Connection::Connect({{"host", "127.0.0.1"},
                                               {"port", std::to_string(proxies_[0]->port())},
                                               {"user", keeper::testing::kSuUser},
                                               {"password", keeper::testing::kSuPassword},
                                               {"dbname", "postgres"},
                                               {"sslmode", "disable"}},
                                              3s);
  if (!conn.ok()) return "";
  auto r = conn->Query("select pg_is_in_recovery()::text || ',' || inet_server_port()::text");
  if (!r.ok() || r->rows.size() != 1 || !r->rows[0][0]) return "";
  return *r->rows[0][0];
}

bool SentinelTestCluster::WaitProxyRoutesTo(const std::string& uid,
                                            std::chrono::milliseconds timeout) {
  const std::string want = "false," + std::to_string(keepers_.at(uid)->pg_port());
  return WaitFor([&] { return ThroughProxy() == want; }, timeout, 200ms);
}

bool SentinelTestCluster::Writable(const std::string& keeper_uid) {
  auto conn = keepers_.at(keeper_uid)->Connect();
  if (!conn.ok()) return false;
  return conn->Exec("create table if not exists probe (v int)").ok() &&
         conn->Exec("insert into probe values (1)").ok();
}

std::string SentinelTestCluster::WaitWritableMaster(std::chrono::milliseconds timeout,
                                                    const std::string& not_keeper) {
  std::string found;
  WaitFor(
      [&] {
        auto cd = Cd();
        if (!cd || cd->cluster.status.phase != cluster::kPhaseNormal) return false;
        auto db = cd->dbs.find(cd->cluster.status.master);
        if (db == cd->dbs.end()) return false;
        const std::string& k = db->second.spec.keeper_uid;
        if (k == not_keeper || !keepers_.count(k)) return false;
        auto rec = keepers_.at(k)->QueryOne("select pg_is_in_recovery()::text");
        if (!rec.ok() || *rec != "false") return false;
        if (!Writable(k)) return false;
        found = k;
        return true;
      },
      timeout, 100ms);
  return found;
}

bool SentinelTestCluster::WaitStreaming(const std::string& master_keeper, int n,
                                        std::chrono::milliseconds timeout) {
  return WaitFor(
      [&] {
        auto v =
            keepers_.at(master_keeper)
                ->QueryOne("select count(*) from pg_stat_replication where state = 'streaming'");
        return v.ok() && *v == std::to_string(n);
      },
      timeout, 200ms);
}

void SentinelTestCluster::KillKeeperAndPostgres(const std::string& uid) {
  TestKeeper& k = *keepers_.at(uid);
  const pid_t pid = k.PostmasterPid();
  k.Kill();
  if (pid > 0) ::kill(pid, SIGKILL);
}

void SentinelTestCluster::FreezeKeeperAndPostgres(const std::string& uid) {
  TestKeeper& k = *keepers_.at(uid);
  const pid_t pid = k.PostmasterPid();
  k.Signal(SIGSTOP);
  if (pid > 0) {
    ::kill(pid, SIGSTOP);
    frozen_postmasters_[uid] = pid;
  }
}

void SentinelTestCluster::ThawKeeperAndPostgres(const std::string& uid) {
  auto it = frozen_postmasters_.find(uid);
  if (it != frozen_postmasters_.end()) {
    ::kill(it->second, SIGCONT);
    frozen_postmasters_.erase(it);
  }
  keepers_.at(uid)->Signal(SIGCONT);
}

namespace {
// The last `n` bytes of a log.
std::string Tail(const std::string& log, size_t n = 12000) {
  return log.size() <= n ? log : "...\n" + log.substr(log.size() - n);
}
}  // namespace

std::string SentinelTestCluster::Logs() {
  std::string out;
  for (auto& s : sentinels_) out += "\n===== sentinel " + s->name() + " =====\n" + Tail(s->Log());
  for (auto& p : proxies_) out += "\n===== proxy " + p->name() + " =====\n" + Tail(p->Log(), 4000);
  for (auto& [uid, k] : keepers_) out += "\n===== keeper " + uid + " =====\n" + Tail(k->Log());
  return out;
}

std::string Rows(const TestKeeper& k) {
  auto v = k.QueryOne("select coalesce(string_agg(v, ',' order by v), '') from t");
  return v.ok() ? *v : "error: " + std::string(v.status().message());
}

}  // namespace stolon::sentinel::testing
