// End-to-end cluster-level scenarios beyond failover (stolon's TestSyncStandbyNotInSync,
// TestInitStandbyCluster/TestPromoteStandbyCluster, TestPITR, TestInitExistingMerge/NoMerge),
// each on its own small cluster (etcd, keepers + PostgreSQL 15, one sentinel, one proxy,
// stolonctl):
//   1. a synchronous master whose only standby is stopped: a commit is not acknowledged; after
//      a restart of the master's keeper the commit is there locally, but normal users are refused
//      by pg_hba until the synchronous standby is back in sync (with minSynchronousStandbys 0
//      the master goes on alone once the sentinel dropped the standby: the commit is released);
//   2. a standby cluster initialised (initMode pitr, role standby) by pg_basebackup from another
//      cluster's primary, following it, then promoted with `stolonctl promote`;
//   3. a point-in-time recovery (initMode pitr) from a tar base backup and a WAL archive;
//   4. `stolonctl init` with initMode existing on a running cluster, with and without
//      mergePgParameters.
// Each checks the data, the roles (cluster data and pg_is_in_recovery) and the proxy's routing.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <poll.h>

#include "cluster/json.h"
#include "integration/e2e/scenario.h"

namespace stolon::e2e {
namespace {

using keeper::testing::kReplPassword;
using keeper::testing::kReplUser;
using keeper::testing::kSuPassword;
using keeper::testing::kSuUser;
using sentinel::testing::Rows;
using stolon::testing::PgBinDir;
using stolon::testing::TempDir;

// Prints how long scenario `name` took since `t0`.
void PrintElapsed(const char* name, std::chrono::steady_clock::time_point t0) {
  const auto s =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - t0);
  std::printf("[%s] %lld s\n", name, static_cast<long long>(s.count()));
}

// A connection through the cluster's first proxy as `user`.
absl::StatusOr<postgresql::Connection> ProxyConnect(SentinelTestCluster& c, const std::string& user,
                                                    const std::string& password) {
  return postgresql::Connection::Connect({{"host", "127.0.0.1"},
                                          {"port", std::to_string(c.proxies().at(0)->port())},
                                          {"user", user},
                                          {"password", password},
                                          {"dbname", "postgres"},
                                          {"sslmode", "disable"}},
                                         3s);
}

// The first column of the first row of `sql` run through the proxy as `user`, or the error.
absl::StatusOr<std::string> ProxyQueryOne(SentinelTestCluster& c, const std::string& sql,
                                          const std::string& user = kSuUser,
                                          const std::string& password = kSuPassword) {
  auto conn = ProxyConnect(c, user, password);
  if (!conn.ok()) return conn.status();
  auto r = conn->Query(sql);
  if (!r.ok()) return r.status();
  if (r->rows.size() != 1 || r->rows[0].empty() || !r->rows[0][0]) {
    return absl::InternalError("no single value");
  }
  return *r->rows[0][0];
}

// Waits until user01 (a normal user) reads rows "one,two" through the proxy; on timeout the
// failure carries the last answer or error and every log.
::testing::AssertionResult WaitUser01SeesBothRows(SentinelTestCluster& c,
                                                  std::chrono::milliseconds timeout) {
  std::string last;
  bool ok = WaitFor(
      [&] {
        auto n =
            ProxyQueryOne(c, "select string_agg(v, ',' order by v) from t", "user01", "password01");
        last = n.ok() ? *n : std::string(n.status().message());
        return n.ok() && *n == "one,two";
      },
      timeout);
  if (ok) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "user01 last saw: " << last << c.Logs();
}

bool Exec(const TestKeeper& k, const std::string& sql) {
  auto conn = k.Connect();
  return conn.ok() && conn->Exec(sql).ok();
}

// ---- 1. A synchronous standby that is not in sync.

// An INSERT sent with raw libpq and left waiting: the sync-rep wait ignores statement_timeout,
// and a client-side cancel would commit it locally at once; this one is never cancelled.
class PendingInsert {
 public:
  explicit PendingInsert(const std::string& conninfo) : conn_(PQconnectdb(conninfo.c_str())) {}
  ~PendingInsert() { PQfinish(conn_); }
  bool Send(const std::string& sql) {
    return PQstatus(conn_) == CONNECTION_OK && PQsendQuery(conn_, sql.c_str()) == 1;
  }
  // Whether the server answered within `wait` (the answer is consumed).
  bool Answered(std::chrono::milliseconds wait) {
    const auto deadline = std::chrono::steady_clock::now() + wait;
    while (true) {
      if (PQconsumeInput(conn_) == 0) return true;  // the connection broke: an answer of sorts
      if (!PQisBusy(conn_)) return true;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left <= 0ms) return false;
      pollfd p{PQsocket(conn_), POLLIN, 0};
      ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 100)));
    }
  }
  // Whether the statement completed successfully (call after Answered()).
  bool Succeeded() {
    bool ok = false;
    while (PGresult* r = PQgetResult(conn_)) {
      if (PQresultStatus(r) == PGRES_COMMAND_OK) ok = true;
      PQclear(r);
    }
    return ok;
  }
  std::string Error() const { return PQerrorMessage(conn_); }

 private:
  PGconn* conn_;
};

TEST(E2EInitModes, SyncStandbyNotInSync) {
  const auto t0 = std::chrono::steady_clock::now();
  SentinelTestCluster c("e2enotinsync");
  const std::string master = StartCluster(c, E2ESpec(/*sync=*/true), 2);
  ASSERT_FALSE(master.empty()) << c.Logs();
  const std::string standby = master == "keeper0" ? "keeper1" : "keeper0";
  ASSERT_EQ(WaitSyncStandby(c, 60s), standby) << c.Logs();

  // A normal user and a first row, while the cluster is healthy (default pgHBA: md5 for all).
  ASSERT_TRUE(Exec(c.keeper(master), "create table t (v text)"));
  ASSERT_TRUE(Exec(c.keeper(master), "insert into t values ('one')"));
  ASSERT_TRUE(Exec(c.keeper(master), "create role user01 login password 'password01'"));
  ASSERT_TRUE(Exec(c.keeper(master), "grant select on t to user01"));
  auto v = ProxyQueryOne(c, "select count(*) from t", "user01", "password01");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(*v, "1");

  // The synchronous standby goes away: a commit on the master waits for it.
  c.keeper(standby).Stop();
  ASSERT_FALSE(c.keeper(standby).PostgresRunning());
  std::string senders;
  ASSERT_TRUE(WaitFor(
      [&] {
        auto n = c.keeper(master).QueryOne(
            "select count(*) from pg_stat_replication where state = 'streaming'");
        senders = n.ok() ? *n : std::string(n.status().message());
        return senders == "0";
      },
      30s))
      << senders << c.Logs();
  PendingInsert pending(DirectConninfo(c.keeper(master)) + " sslmode=disable");
  ASSERT_TRUE(pending.Send("insert into t values ('two')")) << pending.Error();
  EXPECT_FALSE(pending.Answered(3s)) << "a commit was acknowledged without the synchronous standby";
  EXPECT_EQ(Rows(c.keeper(master)), "one") << "the waiting commit is visible to others";

  // The master's keeper restarts (its postgres too): the waiting backend is terminated, its
  // client gets no success, yet the commit is in the master's WAL.
  ASSERT_EQ(c.keeper(master).Stop(), 0) << c.keeper(master).Log();
  ASSERT_TRUE(pending.Answered(10s));
  EXPECT_FALSE(pending.Succeeded()) << "the waiting INSERT reported success";
  c.keeper(master).Start();
  ASSERT_TRUE(WaitFor([&] { return Rows(c.keeper(master)) == "one,two"; }, 60s))
      << Rows(c.keeper(master)) << c.Logs();
  EXPECT_EQ(CdMasterKeeper(c), master);

  // No synchronous standby in sync: only the internal users may connect.
  std::string refused;
  ASSERT_TRUE(WaitFor(
      [&] {
        auto conn = ProxyConnect(c, "user01", "password01");
        if (conn.ok()) return false;
        refused = std::string(conn.status().message());
        return refused.find("no pg_hba.conf entry") != std::string::npos;
      },
      30s))
      << refused << c.Logs();
  EXPECT_NE(refused.find(
                R"(no pg_hba.conf entry for host "127.0.0.1", user "user01", database "postgres")"),
            std::string::npos)
      << refused;
  // The superuser still gets through the proxy, to the master.
  EXPECT_EQ(c.ThroughProxy(), "false," + std::to_string(c.keeper(master).pg_port()));

  // The standby is back and in sync: user01 connects and sees both rows.
  c.keeper(standby).Start();
  ASSERT_TRUE(WaitUser01SeesBothRows(c, 90s));
  EXPECT_EQ(WaitSyncStandby(c, 30s), standby) << c.Logs();
  EXPECT_EQ(CdMasterKeeper(c), master);
  EXPECT_TRUE(c.keeper(master).LogContains(
      "synchronous standbys are in sync, allowing connections from normal users"));
  EXPECT_TRUE(WaitFor([&] { return Rows(c.keeper(standby)) == "one,two"; }, 30s))
      << Rows(c.keeper(standby));
  PrintElapsed("sync_not_in_sync", t0);
}

// minSynchronousStandbys 0: once the sentinel dropped the failed standby from the synchronous
// set, synchronous_standby_names is '' and the master runs alone: the waiting commit is released,
// and after a restart of the master's keeper normal users are let in at once.
TEST(E2EInitModes, SyncStandbyNotInSyncMinSync0) {
  const auto t0 = std::chrono::steady_clock::now();
  SentinelTestCluster c("e2enotinsync0");
  cluster::ClusterSpec spec = E2ESpec(/*sync=*/true);
  spec.min_synchronous_standbys = 0;
  const std::string master = StartCluster(c, spec, 2);
  ASSERT_FALSE(master.empty()) << c.Logs();
  const std::string standby = master == "keeper0" ? "keeper1" : "keeper0";
  ASSERT_EQ(WaitSyncStandby(c, 60s), standby) << c.Logs();
  ASSERT_TRUE(Exec(c.keeper(master), "create table t (v text)"));
  ASSERT_TRUE(Exec(c.keeper(master), "insert into t values ('one')"));
  ASSERT_TRUE(Exec(c.keeper(master), "create role user01 login password 'password01'"));
  ASSERT_TRUE(Exec(c.keeper(master), "grant select on t to user01"));

  c.keeper(standby).Stop();
  ASSERT_FALSE(c.keeper(standby).PostgresRunning());
  PendingInsert pending(DirectConninfo(c.keeper(master)) + " sslmode=disable");
  ASSERT_TRUE(pending.Send("insert into t values ('two')")) << pending.Error();
  // Released once the failed standby left synchronous_standby_names (failInterval 3s).
  ASSERT_TRUE(pending.Answered(30s)) << c.Logs();
  EXPECT_TRUE(pending.Succeeded()) << pending.Error();
  auto ssn = c.keeper(master).QueryOne("show synchronous_standby_names");
  ASSERT_TRUE(ssn.ok()) << ssn.status();
  EXPECT_EQ(*ssn, "");
  auto cd = c.Cd();
  ASSERT_TRUE(cd.has_value());
  EXPECT_TRUE(cd->dbs.at(cd->cluster.status.master).spec.synchronous_standbys.empty());

  // The master's keeper restarts: with nothing to wait for, user01 gets in.
  ASSERT_EQ(c.keeper(master).Stop(), 0) << c.keeper(master).Log();
  c.keeper(master).Start();
  ASSERT_TRUE(WaitUser01SeesBothRows(c, 60s));
  EXPECT_EQ(CdMasterKeeper(c), master);
  EXPECT_FALSE(c.keeper(standby).Running());
  PrintElapsed("sync_not_in_sync_min0", t0);
}

// ---- 2. A standby cluster, then its promotion.

// Rows of table t through the proxy ("a,b" sorted), or the error text.
std::string ProxyRows(SentinelTestCluster& c) {
  auto v = ProxyQueryOne(c, "select coalesce(string_agg(v, ',' order by v), '') from t");
  return v.ok() ? *v : "error: " + std::string(v.status().message());
}

// Waits until the cluster is in phase normal with a master db on `keeper` other than `old_db`,
// healthy and converged; returns that db's uid ("" on timeout).
std::string WaitNewMasterDb(SentinelTestCluster& c, const std::string& keeper,
                            const std::string& old_db, std::chrono::milliseconds timeout) {
  std::string found;
  WaitFor(
      [&] {
        auto cd = c.Cd();
        if (!cd || cd->cluster.status.phase != cluster::kPhaseNormal) return false;
        auto m = cd->dbs.find(cd->cluster.status.master);
        if (m == cd->dbs.end() || m->first == old_db || m->second.spec.keeper_uid != keeper ||
            !m->second.status.healthy ||
            m->second.status.current_generation != m->second.generation) {
          return false;
        }
        found = m->first;
        return true;
      },
      timeout, 200ms);
  return found;
}

TEST(E2EInitModes, StandbyClusterInitAndPromote) {
  const auto t0 = std::chrono::steady_clock::now();
  SentinelTestCluster primary("e2eprimary");
  const std::string pm = StartCluster(primary, E2ESpec(/*sync=*/false), 1);
  ASSERT_FALSE(pm.empty()) << primary.Logs();
  const TestKeeper& pk = primary.keeper(pm);
  ASSERT_TRUE(Exec(pk, "create table t (v text)"));
  ASSERT_TRUE(Exec(pk, "insert into t values ('one')"));

  // The standby cluster: its own etcd, cluster name, keeper, sentinel and proxy; its master db is
  // a pg_basebackup of the primary that then streams from it.
  SentinelTestCluster sc("e2estandbycluster");
  cluster::ClusterSpec spec = E2ESpec(/*sync=*/false);
  spec.init_mode = cluster::kInitModePITR;
  spec.role = cluster::kRoleStandby;
  cluster::PITRConfig pitr;
  pitr.data_restore_command =
      fmt::format("PGPASSWORD={} {}/pg_basebackup -D %d -h 127.0.0.1 -p {} -U {} -X stream",
                  kReplPassword, PgBinDir(), pk.pg_port(), kReplUser);
  spec.pitr_config = pitr;
  cluster::StandbySettings ss;
  ss.primary_conninfo = fmt::format("host=127.0.0.1 port={} user={} password={} sslmode=disable",
                                    pk.pg_port(), kReplUser, kReplPassword);
  spec.standby_config = cluster::StandbyConfig{ss, std::nullopt};
  ASSERT_TRUE(sc.Init(spec).ok());
  sc.AddKeeper("keeper0").Start();
  sc.AddSentinel().Start();
  sc.AddProxy().Start();
  ASSERT_FALSE(WaitNewMasterDb(sc, "keeper0", "", 120s).empty()) << sc.Logs();
  const TestKeeper& sk = sc.keeper("keeper0");
  auto cd = sc.Cd();
  ASSERT_TRUE(cd.has_value());
  const cluster::DB& mdb = cd->dbs.at(cd->cluster.status.master);
  EXPECT_EQ(mdb.spec.role, cluster::kRoleStandby);
  ASSERT_TRUE(mdb.spec.follow_config.has_value());
  EXPECT_EQ(mdb.spec.follow_config->type, cluster::kFollowExternal);

  // Through its proxy: the standby cluster's master, in recovery, with the primary's row.
  const std::string in_recovery = "true," + std::to_string(sk.pg_port());
  ASSERT_TRUE(WaitFor([&] { return sc.ThroughProxy() == in_recovery; }, 30s))
      << sc.ThroughProxy() << sc.Logs();
  EXPECT_EQ(ProxyRows(sc), "one");
  auto conninfo =
      sk.QueryOne("select conninfo from pg_stat_wal_receiver where status = 'streaming'");
  ASSERT_TRUE(conninfo.ok()) << conninfo.status();
  EXPECT_NE(conninfo->find("port=" + std::to_string(pk.pg_port())), std::string::npos) << *conninfo;
  // Writes through its proxy are refused (read-only).
  {
    auto conn = ProxyConnect(sc, kSuUser, kSuPassword);
    ASSERT_TRUE(conn.ok()) << conn.status();
    EXPECT_FALSE(conn->Exec("insert into t values ('nope')").ok());
  }

  // A write on the primary arrives.
  ASSERT_TRUE(Exec(pk, "insert into t values ('two')"));
  ASSERT_TRUE(WaitFor([&] { return ProxyRows(sc) == "one,two"; }, 30s)) << ProxyRows(sc);

  // `stolonctl promote`: the standby cluster's master stops following and accepts writes.
  std::string out;
  ASSERT_EQ(sc.Ctl({"promote", "-y"}, &out), 0) << out;
  ASSERT_TRUE(sc.WaitProxyRoutesTo("keeper0", 60s)) << sc.ThroughProxy() << sc.Logs();
  {
    auto conn = ProxyConnect(sc, kSuUser, kSuPassword);
    ASSERT_TRUE(conn.ok()) << conn.status();
    ASSERT_TRUE(conn->Exec("insert into t values ('three')").ok());
  }
  EXPECT_EQ(ProxyRows(sc), "one,three,two");
  cd = sc.Cd();
  ASSERT_TRUE(cd.has_value());
  EXPECT_EQ(cd->cluster.spec.role.value_or(cluster::kRoleMaster), cluster::kRoleMaster);
  const cluster::DB& promoted = cd->dbs.at(cd->cluster.status.master);
  EXPECT_EQ(promoted.spec.role, cluster::kRoleMaster);
  EXPECT_FALSE(promoted.spec.follow_config.has_value());
  EXPECT_EQ(CtlStatusMaster(sc), "keeper0");
  // The primary is untouched by the promotion.
  EXPECT_EQ(Rows(pk), "one,two");
  PrintElapsed("standby_cluster", t0);
}

// ---- 3. Point-in-time recovery from a base backup and a WAL archive.

// `stolonctl init -y <spec>` on a cluster that already has cluster data (a re-initialisation).
void CtlReinit(SentinelTestCluster& c, const cluster::ClusterSpec& spec) {
  std::string out;
  ASSERT_EQ(c.Ctl({"init", "-y", cluster::EncodeClusterSpec(spec)}, &out), 0) << out;
  auto cd = c.Cd();
  ASSERT_TRUE(cd.has_value());
  // What stolonctl wrote: a fresh cluster data without dbs, initializing.
  EXPECT_EQ(cd->cluster.status.phase, cluster::kPhaseInitializing);
  EXPECT_TRUE(cd->dbs.empty());
}

TEST(E2EInitModes, PointInTimeRecovery) {
  const auto t0 = std::chrono::steady_clock::now();
  SentinelTestCluster c("e2epitr");
  TempDir archive("e2e-pitr-archive");
  TempDir backup("e2e-pitr-backup");
  cluster::ClusterSpec spec = E2ESpec(/*sync=*/false);
  spec.pg_parameters = {{"archive_mode", "on"},
                        {"archive_command", fmt::format("cp %p {}/%f", archive.path())}};
  const std::string master = StartCluster(c, spec, 1);
  ASSERT_FALSE(master.empty()) << c.Logs();
  const TestKeeper& k = c.keeper(master);
  ASSERT_TRUE(Exec(k, "create table t (v text)"));
  ASSERT_TRUE(Exec(k, "insert into t values ('one')"));

  // A tar base backup, then a row that only the archive has, then a WAL switch.
  std::string out;
  ASSERT_EQ(stolon::testing::RunCommand(
                {PgBinDir() + "/pg_basebackup", "-D", backup.path() + "/base", "-F", "tar", "-X",
                 "fetch", "-h", "127.0.0.1", "-p", std::to_string(k.pg_port()), "-U", kReplUser},
                &out, 60s, /*as_unprivileged_user=*/true, {{"PGPASSWORD", kReplPassword}}),
            0)
      << out;
  ASSERT_TRUE(Exec(k, "insert into t values ('two')"));
  auto wal = k.QueryOne("select pg_walfile_name(pg_switch_wal())");
  ASSERT_TRUE(wal.ok()) << wal.status();
  ASSERT_TRUE(WaitFor(
      [&] {
        auto last = k.QueryOne("select coalesce(last_archived_wal, '') from pg_stat_archiver");
        return last.ok() && *last >= *wal;
      },
      30s))
      << *wal;
  auto old_cd = c.Cd();
  ASSERT_TRUE(old_cd.has_value());
  const std::string old_db = old_cd->cluster.status.master;

  // Re-initialise the cluster from the backup and the archive (the sentinel keeps running).
  cluster::ClusterSpec pitr_spec = E2ESpec(/*sync=*/false);
  pitr_spec.init_mode = cluster::kInitModePITR;
  cluster::PITRConfig pitr;
  pitr.data_restore_command =
      fmt::format("mkdir -p %d && tar -xf {}/base/base.tar -C %d && chmod 0700 %d", backup.path());
  pitr.archive_recovery_settings =
      cluster::ArchiveRecoverySettings{fmt::format("cp {}/%f %p", archive.path())};
  pitr_spec.pitr_config = pitr;
  pitr_spec.pg_parameters = {{"max_prepared_transactions", "100"}};
  ASSERT_NO_FATAL_FAILURE(CtlReinit(c, pitr_spec));

  const std::string new_db = WaitNewMasterDb(c, master, old_db, 120s);
  ASSERT_FALSE(new_db.empty()) << c.Logs();
  ASSERT_TRUE(c.WaitProxyRoutesTo(master, 30s)) << c.ThroughProxy() << c.Logs();
  EXPECT_EQ(ProxyRows(c), "one,two");
  auto mpt = ProxyQueryOne(c, "show max_prepared_transactions");
  ASSERT_TRUE(mpt.ok()) << mpt.status();
  EXPECT_EQ(*mpt, "100");
  // Recovery ended with a promotion to a new timeline; the master takes writes.
  auto tli = k.QueryOne("select timeline_id from pg_control_checkpoint()");
  ASSERT_TRUE(tli.ok()) << tli.status();
  EXPECT_NE(*tli, "1");
  auto conn = ProxyConnect(c, kSuUser, kSuPassword);
  ASSERT_TRUE(conn.ok()) << conn.status();
  EXPECT_TRUE(conn->Exec("insert into t values ('three')").ok());
  EXPECT_TRUE(k.LogContains("restoring the database cluster (point in time recovery)"));
  PrintElapsed("pitr", t0);
}

// ---- 4. initMode existing, with and without mergePgParameters.

TEST(E2EInitModes, InitExistingMergeAndNoMerge) {
  const auto t0 = std::chrono::steady_clock::now();
  SentinelTestCluster c("e2eexisting");
  cluster::ClusterSpec spec = E2ESpec(/*sync=*/false);
  spec.pg_parameters = {{"archive_mode", "on"}, {"archive_command", "/bin/true"}};
  const std::string master = StartCluster(c, spec, 1);
  ASSERT_FALSE(master.empty()) << c.Logs();
  const TestKeeper& k = c.keeper(master);
  ASSERT_TRUE(Exec(k, "create table t (v text)"));
  ASSERT_TRUE(Exec(k, "insert into t values ('one')"));
  auto am = k.QueryOne("show archive_mode");
  ASSERT_TRUE(am.ok());
  ASSERT_EQ(*am, "on");

  for (bool merge : {true, false}) {
    SCOPED_TRACE(merge ? "mergePgParameters true" : "mergePgParameters false");
    auto old_cd = c.Cd();
    ASSERT_TRUE(old_cd.has_value());
    const std::string old_db = old_cd->cluster.status.master;
    cluster::ClusterSpec ex = E2ESpec(/*sync=*/false);
    ex.init_mode = cluster::kInitModeExisting;
    ex.existing_config = cluster::ExistingConfig{master};
    ex.merge_pg_parameters = merge;
    ASSERT_NO_FATAL_FAILURE(CtlReinit(c, ex));
    const std::string new_db = WaitNewMasterDb(c, master, old_db, 90s);
    ASSERT_FALSE(new_db.empty()) << c.Logs();
    ASSERT_TRUE(c.WaitProxyRoutesTo(master, 30s)) << c.ThroughProxy() << c.Logs();
    // The data is kept.
    EXPECT_EQ(ProxyRows(c), "one");
    auto cd = c.Cd();
    ASSERT_TRUE(cd.has_value());
    EXPECT_EQ(cd->cluster.spec.init_mode.value_or(""), cluster::kInitModeExisting);
    const auto& params = cd->cluster.spec.pg_parameters;
    if (merge) {
      ASSERT_TRUE(params.count("archive_mode")) << cluster::EncodeClusterSpec(cd->cluster.spec);
      EXPECT_EQ(params.at("archive_mode"), "on");
    } else {
      EXPECT_EQ(params.count("archive_mode"), 0u) << cluster::EncodeClusterSpec(cd->cluster.spec);
    }
    // The instance runs with what the spec says (archive_mode needs a restart: the keeper
    // restarted postgres after the init).
    const std::string want = merge ? "on" : "off";
    std::string got;
    EXPECT_TRUE(WaitFor(
        [&] {
          auto v = ProxyQueryOne(c, "show archive_mode");
          got = v.ok() ? *v : std::string(v.status().message());
          return got == want;
        },
        30s))
        << got;
    auto conn = ProxyConnect(c, kSuUser, kSuPassword);
    ASSERT_TRUE(conn.ok()) << conn.status();
    EXPECT_TRUE(conn->Exec("select 1").ok());
  }
  EXPECT_TRUE(k.LogContains("using an existing database cluster"));
  PrintElapsed("init_existing", t0);
}

}  // namespace
}  // namespace stolon::e2e
