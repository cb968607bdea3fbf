// End-to-end operator actions on one cluster (async replication, 2 keepers, one sentinel, one
// proxy):
//   1. `stolonctl failkeeper <master>` under the continuous writer: the standby is elected, the
//      proxy moves, the old master (its keeper still running) is resynced as a standby.
//   2. `stolonctl removekeeper`: refused for the master's keeper; the stopped standby's keeper is
//      removed from the cluster data, and once restarted it joins again with a new db.
//   3. The master's keeper restarted on another postgres port (within failInterval, raised for
//      the restart with `stolonctl update --patch`) under the writer: it stays master, the proxy
//      follows the new port, the standby follows it too, and no acknowledged write is lost.
#include <gtest/gtest.h>

#include "integration/e2e/scenario.h"

namespace stolon::e2e {
namespace {

std::string DbOfKeeper(SentinelTestCluster& c, const std::string& keeper) {
  auto cd = c.Cd();
  if (!cd) return "";
  for (const auto& [uid, db] : cd->dbs) {
    if (db.spec.keeper_uid == keeper) return uid;
  }
  return "";
}

TEST(E2ECtl, FailkeeperRemovekeeperAndMasterPortChange) {
  SentinelTestCluster c("e2ectl");
  const std::string first = StartCluster(c, E2ESpec(/*sync=*/false), 2);
  ASSERT_FALSE(first.empty()) << c.Logs();
  std::string out;

  // ---- 1. failkeeper of the master.
  std::string master;
  {
    SCOPED_TRACE("failkeeper");
    const std::string old_master = first;
    const std::string want = first == "keeper0" ? "keeper1" : "keeper0";
    auto w = StartWriter(c, "writes_fail");
    ASSERT_TRUE(w) << c.Logs();
    ASSERT_TRUE(WaitAcks(*w, c.keeper(old_master).pg_port(), 20, 30s)) << c.Logs();
    const SteadyTime fault = std::chrono::steady_clock::now();
    ASSERT_EQ(c.Ctl({"failkeeper", old_master}, &out), 0) << out;
    ASSERT_TRUE(WaitFor([&] { return CdMasterKeeper(c) == want; }, 60s)) << c.Logs();
    ASSERT_TRUE(c.WaitProxyRoutesTo(want, 60s)) << c.ThroughProxy() << c.Logs();
    ASSERT_TRUE(WaitAcks(*w, c.keeper(want).pg_port(), 10, 60s)) << c.Logs();
    CheckFailoverWrites(c, *w, fault, old_master, want, "writes_fail", "failkeeper",
                        /*sync=*/false);
    EXPECT_EQ(CtlStatusMaster(c), want);
    ASSERT_TRUE(WaitRejoinedAsStandby(c, old_master, want, "writes_fail", 150s)) << c.Logs();
    master = want;
  }
  const std::string standby = master == "keeper0" ? "keeper1" : "keeper0";

  // ---- 2. removekeeper.
  {
    SCOPED_TRACE("removekeeper");
    EXPECT_NE(c.Ctl({"removekeeper", master}, &out), 0) << out;
    EXPECT_NE(out.find("keeper assigned db is the current cluster master db"), std::string::npos)
        << out;
    EXPECT_EQ(CdMasterKeeper(c), master);
    const std::string old_db = DbOfKeeper(c, standby);
    ASSERT_FALSE(old_db.empty());
    c.keeper(standby).Stop();
    // The sentinel adds back any keeper whose info is in the store, and a stopped keeper's info
    // outlives it by its TTL (at least 20 s): delete it, as its expiry would.
    ASSERT_EQ(
        c.etcd().Etcdctl({"del", "stolon/cluster/" + c.name() + "/keepers/info/" + standby}, &out),
        0)
        << out;
    ASSERT_EQ(c.Ctl({"removekeeper", standby}, &out), 0) << out;
    auto cd = c.Cd();
    ASSERT_TRUE(cd.has_value());
    EXPECT_EQ(cd->keepers.count(standby), 0u);
    EXPECT_EQ(cd->dbs.count(old_db), 0u);
    auto st = CtlStatus(c);
    ASSERT_TRUE(st.has_value());
    EXPECT_EQ((*st)["keepers"].size(), 1u) << st->dump();
    {
      auto conn = c.keeper(master).Connect();
      ASSERT_TRUE(conn.ok());
      ASSERT_TRUE(conn->Exec("create table after_remove (v int)").ok());
      ASSERT_TRUE(conn->Exec("insert into after_remove values (1)").ok());
    }
    // Restarted, the keeper is registered again and gets a new standby db.
    c.keeper(standby).Start();
    ASSERT_TRUE(WaitFor(
        [&] {
          const std::string db = DbOfKeeper(c, standby);
          if (db.empty() || db == old_db) return false;
          auto v = c.keeper(standby).QueryOne("select count(*) from after_remove");
          return v.ok() && *v == "1";
        },
        150s))
        << c.Logs();
    ASSERT_TRUE(WaitRejoinedAsStandby(c, standby, master, "writes_fail", 60s)) << c.Logs();
  }

  // ---- 3. The master's keeper restarts on another postgres port.
  {
    SCOPED_TRACE("master port change");
    ASSERT_EQ(c.Ctl({"update", "--patch", R"({"failInterval":"60s"})"}, &out), 0) << out;
    ASSERT_TRUE(c.WaitStreaming(master, 1, 60s)) << c.Logs();
    const int old_port = c.keeper(master).pg_port();
    auto w = StartWriter(c, "writes_port");
    ASSERT_TRUE(w) << c.Logs();
    ASSERT_TRUE(WaitAcks(*w, old_port, 20, 30s)) << c.Logs();
    const SteadyTime fault = std::chrono::steady_clock::now();
    c.keeper(master).Stop();
    const int new_port = stolon::testing::PickFreePort();
    c.keeper(master).set_pg_port(new_port);
    c.keeper(master).Start();
    ASSERT_TRUE(c.WaitProxyRoutesTo(master, 60s)) << c.ThroughProxy() << c.Logs();
    EXPECT_EQ(CdMasterKeeper(c), master);
    ASSERT_TRUE(WaitAcks(*w, new_port, 10, 60s)) << c.Logs();
    w->Stop();
    FaultWrites f = stolon::testing::AnalyzeFault(w->Records(), fault, old_port, new_port);
    ReportWrites("master_port_change", f, w->ConnectFailures());
    EXPECT_EQ(f.acked_by_old_after_new, 0);
    auto present = stolon::testing::ReadIds(DirectConninfo(c.keeper(master)), "writes_port");
    ASSERT_TRUE(present.has_value());
    EXPECT_TRUE(stolon::testing::Missing(f.acked_ids, *present).empty())
        << "a write acknowledged before a clean restart was lost";
    // The standby follows the master at its new port: it gets everything written there.
    ASSERT_TRUE(WaitRejoinedAsStandby(c, standby, master, "writes_port", 60s)) << c.Logs();
    auto conninfo = c.keeper(standby).QueryOne(
        "select conninfo from pg_stat_wal_receiver where status = 'streaming'");
    ASSERT_TRUE(conninfo.ok());
    EXPECT_NE(conninfo->find("port=" + std::to_string(new_port)), std::string::npos) << *conninfo;
    auto st = CtlStatus(c);
    ASSERT_TRUE(st.has_value());
    bool listed = false;
    for (const auto& k : (*st)["keepers"]) {
      if (k.value("uid", "") == master) {
        listed = true;
        EXPECT_EQ(k.value("listen_address", ""), "127.0.0.1:" + std::to_string(new_port));
      }
    }
    EXPECT_TRUE(listed) << st->dump();
  }
}

}  // namespace
}  // namespace stolon::e2e
