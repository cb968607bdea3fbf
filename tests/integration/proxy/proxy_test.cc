// stolon-proxy against a real etcd and real PostgreSQL 15 instances: routing to the master,
// fencing on a master change, enabledProxies, fail-closed on a frozen store, and a proxy started
// with the store down. The clusterdata is written by the test (with our JSON encoder) where a
// sentinel would write it.
#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include "cluster/json.h"
#include "gtest/gtest.h"
#include "support/etcd.h"
#include "support/process.h"
#include "support/prometheus.h"

namespace stolon::proxy {
namespace {

using namespace std::chrono_literals;
using stolon::testing::BinDir;
using stolon::testing::EtcdCluster;
using stolon::testing::HttpGet;
using stolon::testing::ParsePrometheusText;
using stolon::testing::PgBinDir;
using stolon::testing::PickFreePort;
using stolon::testing::Process;
using stolon::testing::ProcessOptions;
using stolon::testing::PromSamples;
using stolon::testing::RunCommand;
using stolon::testing::TempDir;
using stolon::testing::WaitFor;

constexpr char kCluster[] = "proxytest";
constexpr char kBase[] = "stolon/cluster/proxytest";

// A PostgreSQL 15 instance run as the unprivileged user, trust auth, on a free port.
class Postgres {
 public:
  explicit Postgres(TempDir& dir, const std::string& name) : port_(PickFreePort()) {
    std::string data = dir.path() + "/" + name;
    std::string out;
    int rc = RunCommand({PgBinDir() + "/initdb", "-D", data, "-A", "trust", "-U", "postgres"}, &out,
                        120s, /*as_unprivileged_user=*/true);
    if (rc != 0) throw std::runtime_error("initdb failed: " + out);
    ProcessOptions o;
    o.argv = {PgBinDir() + "/postgres",    "-D", data,       "-p",
              std::to_string(port_),       "-k", dir.path(), "-c",
              "listen_addresses=127.0.0.1"};
    o.log_file = dir.path() + "/" + name + ".log";
    o.as_unprivileged_user = true;
    process_ = std::make_unique<Process>(o);
    process_->Start();
    if (!WaitFor([&] { return PQping(Conninfo(port_).c_str()) == PQPING_OK; }, 60s))
      throw std::runtime_error("postgres did not start: " + process_->Log());
  }
  ~Postgres() { process_->Stop(SIGINT, 30s); }
  int port() const { return port_; }
  static std::string Conninfo(int port) {
    return "host=127.0.0.1 port=" + std::to_string(port) +
           " user=postgres dbname=postgres connect_timeout=2";
  }

 private:
  int port_;
  std::unique_ptr<Process> process_;
};

// A libpq session; Port() asks the server which port it listens on (identifies the master).
class Session {
 public:
  explicit Session(int port) : conn_(PQconnectdb(Postgres::Conninfo(port).c_str())) {}
  ~Session() { PQfinish(conn_); }
  bool ok() const { return PQstatus(conn_) == CONNECTION_OK; }
  // The server's port, or -1 when the query fails (e.g. the proxy closed the connection).
  int Port() {
    PGresult* r = PQexec(conn_, "SHOW port");
    int port = -1;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
      port = std::stoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    return port;
  }

 private:
  PGconn* conn_;
};

// The port the master answers on through the proxy, or -1 when it cannot connect.
int PortThrough(int proxy_port) {
  Session s(proxy_port);
  return s.ok() ? s.Port() : -1;
}

cluster::ClusterData ClusterData(int master_port, const std::string& master_uid,
                                 const std::vector<std::string>& enabled, int64_t generation) {
  cluster::ClusterData cd;
  cd.cluster.uid = "c0000001";
  cd.cluster.generation = 1;
  cd.cluster.spec.init_mode = "new";
  cd.cluster.spec.proxy_check_interval = 1s;
  cd.cluster.spec.proxy_timeout = 3s;
  cd.cluster.status.phase = "normal";
  cd.cluster.status.master = master_uid;
  cluster::DB db;
  db.uid = master_uid;
  db.generation = 1;
  db.spec.role = "master";
  db.status.healthy = true;
  db.status.listen_address = "127.0.0.1";
  db.status.port = std::to_string(master_port);
  cd.dbs[master_uid] = db;
  cd.proxy.generation = generation;
  cd.proxy.spec.master_db_uid = master_uid;
  cd.proxy.spec.enabled_proxies = enabled;
  return cd;
}

class ProxyIntegrationTest : public ::testing::Test {
 protected:
  void StartProxy(const std::string& endpoints) {
    proxy_port_ = PickFreePort();
    metrics_port_ = PickFreePort();
    ProcessOptions o;
    o.argv = {BinDir() + "/stolon-proxy",
              "--cluster-name",
              kCluster,
              "--store-backend",
              "etcdv3",
              "--store-endpoints",
              endpoints,
              "--store-timeout",
              "1s",
              "--port",
              std::to_string(proxy_port_),
              "--log-level",
              "debug",
              "--metrics-listen-address",
              "127.0.0.1:" + std::to_string(metrics_port_)};
    o.log_file = dir_.path() + "/proxy.log";
    proxy_ = std::make_unique<Process>(o);
    proxy_->Start();
  }
  // The uid the proxy published in its ProxyInfo. A proxy publishes only once a clusterdata
  // exists, so this first writes one that enables no proxy (generation 1).
  std::string WaitProxyUid(int master_port) {
    PutClusterData(ClusterData(master_port, "dba00001", {}, 1));
    std::string uid;
    WaitFor(
        [&] {
          std::string out;
          if (etcd_->Etcdctl(
                  {"get", "--prefix", "--keys-only", std::string(kBase) + "/proxies/info/"},
                  &out) != 0)
            return false;
          auto pos = out.find("/proxies/info/");
          if (pos == std::string::npos) return false;
          uid = out.substr(pos + 14, 8);
          return true;
        },
        20s);
    return uid;
  }
  void PutClusterData(const cluster::ClusterData& cd) {
    std::string out;
    ASSERT_EQ(
        etcd_->Etcdctl({"put", std::string(kBase) + "/clusterdata", cluster::EncodeClusterData(cd)},
                       &out),
        0)
        << out;
  }
  // Whether a TCP connect to the proxy port succeeds (the proxy may still close it at once).
  bool Listening() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<uint16_t>(proxy_port_));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
    ::close(fd);
    return ok;
  }

  // GET /metrics, checked strictly as Prometheus text; empty (with a test failure) otherwise.
  PromSamples Scrape() {
    auto r = HttpGet(metrics_port_, "/metrics");
    EXPECT_EQ(r.status, 200) << r.error;
    std::string err;
    auto samples = ParsePrometheusText(r.body, &err);
    EXPECT_TRUE(samples.has_value()) << err << "\n" << r.body;
    return samples.value_or(PromSamples{});
  }
  static std::string Destination(int port) {
    return "stolon_proxy_destination_info{address=\"127.0.0.1:" + std::to_string(port) + "\"}";
  }

  TempDir dir_{"proxy-it"};
  std::unique_ptr<EtcdCluster> etcd_ = std::make_unique<EtcdCluster>();
  std::unique_ptr<Process> proxy_;
  int proxy_port_ = 0;
  int metrics_port_ = 0;
};

TEST_F(ProxyIntegrationTest, RoutesToTheMasterAndFencesOnMasterChange) {
  Postgres a(dir_, "pga"), b(dir_, "pgb");
  StartProxy(etcd_->endpoints_flag());
  std::string uid = WaitProxyUid(a.port());
  ASSERT_EQ(uid.size(), 8u) << proxy_->Log();
  PutClusterData(ClusterData(a.port(), "dba00001", {uid}, 2));
  ASSERT_TRUE(WaitFor([&] { return PortThrough(proxy_port_) == a.port(); }, 10s)) << proxy_->Log();

  std::vector<std::unique_ptr<Session>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<Session>(proxy_port_));
    ASSERT_EQ(held.back()->Port(), a.port());
  }
  // The probing sessions above are closed; the 3 held ones stay open.
  PromSamples m;
  EXPECT_TRUE(WaitFor([&] { return (m = Scrape())["stolon_proxy_connections_open"] == 3; }, 2s))
      << m["stolon_proxy_connections_open"];
  EXPECT_EQ(m[Destination(a.port())], 1);
  EXPECT_EQ(m["stolon_proxy_health"], 1);
  EXPECT_EQ(m["stolon_proxy_listening"], 1);
  EXPECT_EQ(m["stolon_cluster_identifier{cluster_name=\"proxytest\",component=\"proxy\"}"], 1);
  EXPECT_GT(m["stolon_proxy_bytes_to_server_total"], 0);
  EXPECT_GT(m["stolon_proxy_bytes_to_client_total"], 0);
  EXPECT_LT(m["stolon_proxy_last_check_success_age_seconds"], 2.5);
  const double fenced_before = m["stolon_proxy_connections_fenced_total"];
  const double accepted_before = m["stolon_proxy_connections_accepted_total"];
  EXPECT_GE(accepted_before, 4);
  auto master = HttpGet(metrics_port_, "/master");
  EXPECT_EQ(master.status, 200) << master.error;
  EXPECT_EQ(master.body, "routing to the master at 127.0.0.1:" + std::to_string(a.port()) + "\n");
  EXPECT_EQ(HttpGet(metrics_port_, "/health").status, 200);
  auto changed = std::chrono::steady_clock::now();
  PutClusterData(ClusterData(b.port(), "dbb00002", {uid}, 3));
  // Every held connection is closed within proxyCheckInterval (1s) + 1s.
  for (auto& s : held) {
    EXPECT_TRUE(WaitFor([&] { return s->Port() == -1; }, 2s, 50ms));
  }
  EXPECT_LT(std::chrono::steady_clock::now() - changed, 2s + 200ms);
  EXPECT_EQ(PortThrough(proxy_port_), b.port());
  // The destination label moved to the new master; the 3 held connections were fenced.
  m = Scrape();
  EXPECT_EQ(m[Destination(b.port())], 1);
  EXPECT_EQ(m.count(Destination(a.port())), 0u);
  EXPECT_EQ(m["stolon_proxy_connections_fenced_total"], fenced_before + 3);
  EXPECT_GT(m["stolon_proxy_connections_accepted_total"], accepted_before);
  EXPECT_TRUE(WaitFor([&] { return Scrape()["stolon_proxy_connections_open"] == 0; }, 2s));
  EXPECT_EQ(HttpGet(metrics_port_, "/master").status, 200);
  EXPECT_NE(proxy_->Log().find("master changed to 127.0.0.1:" + std::to_string(b.port()) +
                               " (db dbb00002): closing 3 connections"),
            std::string::npos)
      << proxy_->Log();
}

TEST_F(ProxyIntegrationTest, ProxyNotInEnabledProxiesRefuses) {
  Postgres a(dir_, "pga");
  StartProxy(etcd_->endpoints_flag());
  std::string uid = WaitProxyUid(a.port());
  ASSERT_EQ(uid.size(), 8u);
  PutClusterData(ClusterData(a.port(), "dba00001", {"00000000"}, 2));
  ASSERT_TRUE(WaitFor(
      [&] { return proxy_->Log().find("is not in enabledProxies") != std::string::npos; }, 10s))
      << proxy_->Log();
  EXPECT_TRUE(Listening());
  EXPECT_EQ(PortThrough(proxy_port_), -1);
  PutClusterData(ClusterData(a.port(), "dba00001", {"00000000", uid}, 3));
  EXPECT_TRUE(WaitFor([&] { return PortThrough(proxy_port_) == a.port(); }, 10s));
}

TEST_F(ProxyIntegrationTest, FrozenStoreClosesConnectionsAndListenerThenRecovers) {
  Postgres a(dir_, "pga");
  StartProxy(etcd_->endpoints_flag());
  std::string uid = WaitProxyUid(a.port());
  ASSERT_EQ(uid.size(), 8u);
  PutClusterData(ClusterData(a.port(), "dba00001", {uid}, 2));
  ASSERT_TRUE(WaitFor([&] { return PortThrough(proxy_port_) == a.port(); }, 10s));
  // Let one check pass with the 3s proxyTimeout from the spec in force.
  std::this_thread::sleep_for(1500ms);
  Session held(proxy_port_);
  ASSERT_EQ(held.Port(), a.port());

  ASSERT_EQ(HttpGet(metrics_port_, "/master").status, 200);
  ASSERT_EQ(HttpGet(metrics_port_, "/health").status, 200);

  etcd_->Freeze(0);
  auto frozen = std::chrono::steady_clock::now();
  // proxyTimeout (3s) + 1s: /master answers 503 (what a load balancer follows), the connection
  // is closed and the listener gone.
  EXPECT_TRUE(
      WaitFor([&] { return HttpGet(metrics_port_, "/master", 1s).status == 503; }, 4s, 100ms))
      << proxy_->Log();
  const auto master_503 = std::chrono::steady_clock::now() - frozen;
  std::printf("/master answered 503 %.2f s after the store froze (proxyTimeout 3 s)\n",
              std::chrono::duration<double>(master_503).count());
  EXPECT_LT(master_503, 4s);
  RecordProperty(
      "master_503_after_freeze_ms",
      static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(master_503).count()));
  EXPECT_TRUE(WaitFor([&] { return !Listening(); }, 4s, 100ms)) << proxy_->Log();
  EXPECT_EQ(held.Port(), -1);
  EXPECT_LT(std::chrono::steady_clock::now() - frozen, 4s + 500ms);
  auto health = HttpGet(metrics_port_, "/health");
  EXPECT_EQ(health.status, 503);
  EXPECT_NE(health.body.find("no successful store check for 3s (proxyTimeout)"), std::string::npos)
      << health.body;
  PromSamples m = Scrape();
  EXPECT_EQ(m["stolon_proxy_listening"], 0);
  EXPECT_EQ(m["stolon_proxy_health"], 0);
  EXPECT_EQ(m["stolon_proxy_destination_info{address=\"\"}"], 1);
  EXPECT_GE(m["stolon_proxy_connections_fenced_total"], 1);
  EXPECT_GE(m["stolon_proxy_last_check_success_age_seconds"], 3);

  etcd_->Thaw(0);
  EXPECT_TRUE(WaitFor([&] { return PortThrough(proxy_port_) == a.port(); }, 15s)) << proxy_->Log();
  EXPECT_EQ(HttpGet(metrics_port_, "/master").status, 200);
  EXPECT_EQ(HttpGet(metrics_port_, "/health").status, 200);
}

TEST_F(ProxyIntegrationTest, StartedWithTheStoreDownNeverListens) {
  etcd_->Freeze(0);
  StartProxy(etcd_->endpoints_flag());
  auto start = std::chrono::steady_clock::now();
  // Longer than the initial proxyTimeout would not add anything: no check can succeed.
  while (std::chrono::steady_clock::now() - start < 4s) {
    ASSERT_FALSE(Listening()) << proxy_->Log();
    std::this_thread::sleep_for(250ms);
  }
  EXPECT_NE(proxy_->Log().find("check function error"), std::string::npos) << proxy_->Log();
}

// Regression: a proxy whose store client first connects while etcd is frozen must recover after
// SIGCONT (the store now drives gRPC's reconnection while it retries).
TEST_F(ProxyIntegrationTest, StartedWithTheStoreDownListensOnceTheStoreAnswers) {
  etcd_->Freeze(0);
  StartProxy(etcd_->endpoints_flag());
  std::this_thread::sleep_for(3s);
  ASSERT_FALSE(Listening());
  etcd_->Thaw(0);
  EXPECT_TRUE(WaitFor([&] { return Listening(); }, 15s)) << proxy_->Log();
}

TEST_F(ProxyIntegrationTest, SigtermExitsZero) {
  StartProxy(etcd_->endpoints_flag());
  ASSERT_TRUE(WaitFor([&] { return Listening(); }, 10s)) << proxy_->Log();
  int status = proxy_->Stop(SIGTERM, 10s);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << proxy_->Log();
}

TEST_F(ProxyIntegrationTest, BadMetricsListenAddressFailsWithOneLine) {
  std::string out;
  int rc = RunCommand({BinDir() + "/stolon-proxy", "--cluster-name", "c", "--store-backend",
                       "etcdv3", "--metrics-listen-address", "127.0.0.1"},
                      &out, 10s);
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(out,
            "stolon-proxy: --metrics-listen-address: invalid address \"127.0.0.1\": no port; use "
            "host:port, e.g. 0.0.0.0:8080 (see stolon-proxy --help)\n");
}

TEST_F(ProxyIntegrationTest, BadFlagsFailWithOneLine) {
  std::string out;
  int rc = RunCommand({BinDir() + "/stolon-proxy", "--cluster-name", "c", "--store-backend",
                       "etcdv3", "--tcp-keepalive-idle", "-1"},
                      &out, 10s);
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(out, "stolon-proxy: tcp keepalive idle value must be greater or equal to 0\n");
}

}  // namespace
}  // namespace stolon::proxy
