// Sentinel integration: creating the cluster data from --initial-cluster-spec (create-if-absent,
// also by a second sentinel with another spec), a clean SIGTERM that hands over leadership, and
// one sentinel with two keepers initializing a replicated cluster.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <fstream>

#include "cluster/json.h"
#include "integration/sentinel/harness.h"

namespace stolon::sentinel::testing {
namespace {

using stolon::testing::WaitFor;

std::string WriteSpec(const TempDir& dir, const std::string& name, const std::string& json) {
  std::string path = dir.path() + "/" + name;
  std::ofstream(path) << json;
  return path;
}

TEST(SentinelInit, InitialClusterSpecCreatesTheClusterData) {
  SentinelTestCluster c("initspec");
  TempDir dir("sentinel-spec");
  std::string spec = WriteSpec(dir, "spec.json", R"({
    "initMode": "new", "sleepInterval": "1s", "failInterval": "3s",
    "synchronousReplication": true, "maxStandbysPerSender": 2})");
  const int metrics_port = stolon::testing::PickFreePort();
  TestSentinel& s0 =
      c.AddSentinel({"--initial-cluster-spec=" + spec,
                     "--metrics-listen-address=127.0.0.1:" + std::to_string(metrics_port)});
  s0.Start();
  ASSERT_TRUE(WaitFor([&] { return c.Cd().has_value(); }, 20s)) << s0.Log();
  auto cd = c.Cd();
  EXPECT_EQ(cd->cluster.status.phase, cluster::kPhaseInitializing);
  EXPECT_EQ(cd->cluster.spec.synchronous_replication, true);
  EXPECT_EQ(cd->cluster.spec.sleep_interval, 1s);
  EXPECT_EQ(cd->cluster.spec.fail_interval, 3s);
  EXPECT_EQ(cd->cluster.spec.max_standbys_per_sender, 2u);
  EXPECT_EQ(cd->cluster.uid.size(), 8u);
  EXPECT_TRUE(s0.LogContains("writing initial cluster data")) << s0.Log();
  const std::string uid = s0.Uid();
  ASSERT_EQ(uid.size(), 8u) << s0.Log();

  // It publishes its info and becomes leader.
  ASSERT_TRUE(WaitFor(
      [&] {
        auto leader = c.store().GetSentinelLeader();
        return leader.ok() && *leader == uid;
      },
      20s))
      << s0.Log();
  // /metrics: the leader, once it wrote the cluster data (no keepers: every check fails to
  // choose a master, so no last_cluster_check_success yet).
  std::string metrics;
  ASSERT_TRUE(WaitFor(
      [&] {
        return stolon::testing::RunCommand(
                   {"/usr/bin/curl", "-sf",
                    "http://127.0.0.1:" + std::to_string(metrics_port) + "/metrics"},
                   &metrics, 5s) == 0 &&
               metrics.find("stolon_sentinel_is_leader 1") != std::string::npos;
      },
      10s))
      << metrics;
  EXPECT_NE(metrics.find("component=\"sentinel\""), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("stolon_sentinel_leader_count 1"), std::string::npos) << metrics;
  ASSERT_TRUE(WaitFor(
      [&] {
        auto infos = c.store().GetSentinelsInfo();
        return infos.ok() && infos->size() == 1 && (*infos)[0].uid == uid;
      },
      10s));

  // A second sentinel with another spec does not replace the existing cluster data.
  std::string other = WriteSpec(dir, "other.json", R"({"initMode": "new", "sleepInterval": "2s"})");
  TestSentinel& s1 = c.AddSentinel({"--initial-cluster-spec=" + other});
  s1.Start();
  ASSERT_TRUE(WaitFor([&] { return s1.LogContains("not the leader: watching only"); }, 20s))
      << s1.Log();
  EXPECT_FALSE(s1.LogContains("writing initial cluster data"));
  EXPECT_EQ(c.Cd()->cluster.uid, cd->cluster.uid);
  EXPECT_EQ(c.Cd()->cluster.spec.sleep_interval, 1s);

  // SIGTERM: exit 0 and the lease is revoked, so s1 takes over at once (not after 20s).
  const auto t0 = std::chrono::steady_clock::now();
  int status = s0.Stop(SIGTERM);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0) << s0.Log();
  EXPECT_TRUE(s0.LogContains("stopping stolon sentinel"));
  const std::string uid1 = s1.Uid();
  ASSERT_TRUE(WaitFor(
      [&] {
        auto leader = c.store().GetSentinelLeader();
        return leader.ok() && *leader == uid1;
      },
      8s))
      << s1.Log();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 8s);
  EXPECT_TRUE(WaitFor([&] { return s1.LogContains("sentinel leadership acquired"); }, 5s));
}

TEST(SentinelInit, StoreWithoutClusterDataWaits) {
  SentinelTestCluster c("nocd");
  TestSentinel& s = c.AddSentinel({"--log-level=debug"});
  s.Start();
  // Two checks (5s apart: no cluster data, so the default sleepInterval)...
  ASSERT_TRUE(
      WaitFor([&] { return s.CountInLog("\"outcome\": \"waiting-for-cluster-data\"") >= 2; }, 20s))
      << s.Log();
  // ...and the waiting is logged once, not on every check.
  EXPECT_EQ(s.CountInLog("no cluster data available, waiting for it to appear"), 1) << s.Log();
  EXPECT_FALSE(c.Cd().has_value());
  // `stolonctl init` afterwards: the sentinel picks it up.
  ASSERT_TRUE(c.Init(FastSpec()).ok());
  ASSERT_TRUE(WaitFor([&] { return s.LogContains("sleepInterval is now 1s"); }, 15s)) << s.Log();
}

TEST(SentinelInit, BadMetricsListenAddressFailsWithOneLine) {
  std::string out;
  int rc = stolon::testing::RunCommand(
      {stolon::testing::BinDir() + "/stolon-sentinel", "--cluster-name=c", "--store-backend=etcdv3",
       "--store-endpoints=http://127.0.0.1:1", "--metrics-listen-address=8080"},
      &out, 10s);
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("stolon-sentinel: --metrics-listen-address: invalid address \"8080\": no "
                     "port; use host:port, e.g. 0.0.0.0:8080"),
            std::string::npos)
      << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
}

TEST(SentinelInit, OneSentinelTwoKeepersReplicate) {
  SentinelTestCluster c("repl");
  ASSERT_TRUE(c.Init(FastSpec()).ok());
  c.AddKeeper("keeper0").Start();
  c.AddKeeper("keeper1").Start();
  c.AddSentinel().Start();
  const std::string master = c.WaitWritableMaster(120s);
  ASSERT_FALSE(master.empty()) << c.Logs();
  const std::string standby = master == "keeper0" ? "keeper1" : "keeper0";
  ASSERT_TRUE(c.WaitStreaming(master, 1, 120s)) << c.Logs();
  auto cd = c.Cd();
  ASSERT_TRUE(cd.has_value());
  EXPECT_EQ(cd->dbs.size(), 2u);
  auto conn = c.keeper(master).Connect();
  ASSERT_TRUE(conn.ok()) << conn.status();
  ASSERT_TRUE(conn->Exec("create table t (v text)").ok());
  ASSERT_TRUE(conn->Exec("insert into t values ('one'), ('two')").ok());
  EXPECT_TRUE(WaitFor([&] { return Rows(c.keeper(standby)) == "one,two"; }, 20s))
      << Rows(c.keeper(standby)) << c.Logs();
  auto rec = c.keeper(standby).QueryOne("select pg_is_in_recovery()::text");
  EXPECT_TRUE(rec.ok() && *rec == "true") << rec.status() << c.Logs();
  // The decisions are explained in the sentinel's log, each once.
  const TestSentinel& s = *c.sentinels()[0];
  EXPECT_TRUE(s.LogContains("initializing cluster: new db")) << s.Log();
  EXPECT_TRUE(s.LogContains("initialized: cluster phase is now normal")) << s.Log();
  EXPECT_TRUE(s.LogContains("adding new standby db")) << s.Log();
  EXPECT_EQ(s.CountInLog("initializing cluster: new db"), 1) << s.Log();
  EXPECT_EQ(s.CountInLog("adding new standby db"), 1) << "one base backup only: " << c.Logs();
}

}  // namespace
}  // namespace stolon::sentinel::testing
