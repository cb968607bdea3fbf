// Real PostgreSQL 15 driven through stolon::postgresql: init, start, roles, replication
// connections, basebackup standby, sync standby reporting, promotion, pg_rewind, reloads,
// pending restarts, replication slots, stop. Runs as the unprivileged user (see main.cc).
#include "postgresql/manager.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>

#include "common/status.h"
#include "postgresql/config.h"
#include "postgresql/queries.h"
#include "support/postgres.h"
#include "support/process.h"

namespace stolon::postgresql {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;
using testing::PickFreePort;
using testing::TempDir;
using testing::WaitFor;

#define ASSERT_OK(expr)                          \
  do {                                           \
    absl::Status s_ = ::stolon::ToStatus(expr);  \
    ASSERT_TRUE(s_.ok()) << #expr << ": " << s_; \
  } while (0)

cluster::DBSpec TestSpec() {
  cluster::DBSpec s;
  s.max_standbys = 5;
  s.additional_wal_senders = 2;
  s.use_pg_rewind = true;
  return s;
}

// One instance: its config, its manager and the spec its parameters come from.
struct Node {
  explicit Node(const std::string& data_dir)
      : cfg(testing::TestManagerConfig(data_dir, PickFreePort())) {
    m = std::make_unique<Manager>(cfg);
  }
  ~Node() {
    if (m) (void)m->StopIfStarted(true);
  }
  // Recomputes parameters and hba from `spec`.
  void Configure() {
    auto v = m->BinaryVersion();
    LocalInstance local{cfg.listen_address, cfg.port, cfg.socket_dir,
                        v.ok() ? std::optional<PGVersion>(*v) : std::nullopt};
    m->SetParameters(CreatePGParameters(spec, {}, local));
    HBAOptions h;
    h.su_user = cfg.su_user;
    h.su_auth_method = cfg.su_auth_method;
    h.repl_user = cfg.repl_user;
    h.repl_auth_method = cfg.repl_auth_method;
    m->SetHBA(GenerateHBA(h));
  }
  Roles roles() const {
    return Roles{cfg.su_user,   cfg.su_password,   cfg.su_auth_method,
                 cfg.repl_user, cfg.repl_password, cfg.repl_auth_method};
  }
  // Scalar result of `sql` on a fresh local superuser connection ("" on error).
  std::string Scalar(const std::string& sql) {
    auto c = m->ConnectLocal();
    if (!c.ok()) return "";
    auto r = c->Query(sql);
    if (!r.ok() || r->rows.empty() || !r->rows[0][0]) return "";
    return *r->rows[0][0];
  }

  ManagerConfig cfg;
  std::unique_ptr<Manager> m;
  cluster::DBSpec spec = TestSpec();
};

// initdb + start + roles, as the keeper's "new" init mode does.
void InitAndStart(Node& n, bool tmp_merged) {
  ASSERT_OK(n.m->Init(InitConfig{"C", "UTF8", false}));
  n.Configure();
  ASSERT_OK(tmp_merged ? n.m->StartTmpMerged() : n.m->Start());
  ASSERT_OK(n.m->WaitReady(seconds(30)));
  auto c = n.m->ConnectLocal();
  ASSERT_OK(c);
  ASSERT_OK(SetupRoles(*c, n.roles()));
}

TEST(PostgresManagerTest, Md5InitStartRolesReloadSlotsStop) {
  TempDir dir("stolon-pg");
  Node n(dir.path() + "/a");
  EXPECT_FALSE(*n.m->IsInitialized());
  EXPECT_EQ(*n.m->LocalRole(), "undefined");
  InitAndStart(n, false);
  if (HasFatalFailure()) return;

  EXPECT_TRUE(*n.m->IsStarted());
  EXPECT_GT(n.m->child_pid(), 0);
  EXPECT_TRUE(*n.m->IsInitialized());
  EXPECT_EQ(n.m->DataVersion()->maj, 15);
  EXPECT_EQ(n.m->BinaryVersion()->maj, 15);
  EXPECT_EQ(*n.m->LocalRole(), "master");

  // Password connections over TCP; a wrong password is PermissionDenied.
  auto tcp = Connection::Connect(testing::TcpSuConnParams(n.cfg), seconds(10));
  ASSERT_OK(tcp);
  auto who = tcp->Query("select current_user, $1::text", {"x y"});
  ASSERT_OK(who);
  EXPECT_EQ(*who->rows[0][0], testing::kTestSuUser);
  EXPECT_EQ(*who->rows[0][1], "x y");
  auto bad_params = testing::TcpSuConnParams(n.cfg);
  bad_params["password"] = "wrong";
  EXPECT_EQ(Connection::Connect(bad_params, seconds(10)).status().code(),
            absl::StatusCode::kPermissionDenied);
  auto err = tcp->Exec("select * from no_such_table");
  EXPECT_EQ(err.code(), absl::StatusCode::kInternal);
  EXPECT_NE(std::string(err.message()).find("no_such_table"), std::string::npos) << err;

  // A query past the deadline is cancelled; the connection stays usable.
  tcp->set_timeout(std::chrono::milliseconds(300));
  EXPECT_EQ(tcp->Exec("select pg_sleep(5)").code(), absl::StatusCode::kDeadlineExceeded);
  tcp->set_timeout(seconds(10));
  EXPECT_TRUE(tcp->Exec("select 1").ok());
  // Nothing listening: Unavailable.
  auto closed = testing::TcpSuConnParams(n.cfg);
  closed["port"] = std::to_string(PickFreePort());
  EXPECT_EQ(Connection::Connect(closed, seconds(5)).status().code(),
            absl::StatusCode::kUnavailable);

  // The replication user over the replication protocol, TCP and unix socket.
  auto repl = ReplicationConnection::Connect(testing::TcpReplConnParams(n.cfg), seconds(10));
  ASSERT_OK(repl);
  auto sd = repl->IdentifySystem();
  ASSERT_OK(sd);
  EXPECT_EQ(sd->system_id, *n.m->GetSystemIdFromControlFile());
  EXPECT_EQ(sd->timeline_id, 1u);
  EXPECT_GT(sd->xlog_pos, 0u);
  auto local_sd = n.m->GetSystemData();
  ASSERT_OK(local_sd);
  EXPECT_EQ(local_sd->system_id, sd->system_id);

  // ALTER SYSTEM cannot override the keeper: postgresql.auto.conf is a symlink to /dev/null.
  EXPECT_TRUE(fs::is_symlink(n.cfg.data_dir + "/postgresql.auto.conf"));
  EXPECT_FALSE(tcp->Exec("alter system set work_mem = '1MB'").ok());

  // What the keeper publishes.
  auto conf = GetConfigFilePGParameters(*tcp);
  ASSERT_OK(conf);
  EXPECT_EQ(conf->at("port"), n.cfg.port);
  EXPECT_EQ(conf->at("max_wal_senders"), "14");
  EXPECT_EQ(conf->at("wal_log_hints"), "on");
  EXPECT_EQ(FilterManagedParameters(*conf).count("port"), 0u);
  EXPECT_EQ(FilterManagedParameters(*conf).at("wal_level"), "replica");
  auto wal = n.m->OlderWalFile();
  ASSERT_OK(wal);
  EXPECT_TRUE(IsWalFileName(*wal)) << *wal;
  EXPECT_TRUE(GetSyncStandbys(*tcp)->empty());

  // A reloadable parameter change.
  n.spec.pg_parameters["work_mem"] = "8MB";
  n.Configure();
  EXPECT_EQ(ChangedParameters(n.m->cur_parameters(), n.m->parameters()),
            std::vector<std::string>{"work_mem"});
  ASSERT_OK(n.m->Reload());
  EXPECT_EQ(n.m->cur_parameters(), n.m->parameters());
  EXPECT_TRUE(WaitFor([&] { return n.Scalar("show work_mem") == "8MB"; }, seconds(10)));
  EXPECT_FALSE(*IsRestartRequired(*tcp));

  // A change that needs a restart is reported as pending.
  n.spec.pg_parameters["shared_buffers"] = "64MB";
  n.Configure();
  ASSERT_OK(n.m->Reload());
  EXPECT_TRUE(WaitFor(
      [&] {
        auto c = n.m->ConnectLocal();
        if (!c.ok()) return false;
        auto p = GetPendingRestartParameters(*c);
        return p.ok() && *p == std::vector<std::string>{"shared_buffers"};
      },
      seconds(10)));
  auto by_context = IsRestartRequiredByContext(*tcp, {"shared_buffers", "work_mem"});
  ASSERT_OK(by_context);
  EXPECT_TRUE(*by_context);
  EXPECT_FALSE(*IsRestartRequiredByContext(*tcp, {"work_mem"}));
  tcp = Connection::Connect(testing::TcpSuConnParams(n.cfg), seconds(10));  // keep one
  ASSERT_OK(n.m->Restart(true));
  ASSERT_OK(n.m->WaitReady(seconds(30)));
  EXPECT_EQ(n.Scalar("show shared_buffers"), "64MB");
  // The old connection died with the restart: Unavailable.
  EXPECT_EQ(tcp->Exec("select 1").code(), absl::StatusCode::kUnavailable);

  // Replication slots: wanted ones created, unwanted stolon_* dropped, others untouched.
  auto c = n.m->ConnectLocal();
  ASSERT_OK(c);
  auto ch = RefreshReplicationSlots(*c, {"b", "c"}, {"extra"});
  ASSERT_OK(ch);
  EXPECT_EQ(ch->created, (std::vector<std::string>{"stolon_b", "stolon_c", "stolon_extra"}));
  ASSERT_OK(CreateReplicationSlot(*c, "other"));
  ch = RefreshReplicationSlots(*c, {"b"}, {});
  ASSERT_OK(ch);
  EXPECT_EQ(ch->dropped, (std::vector<std::string>{"stolon_c", "stolon_extra"}));
  EXPECT_TRUE(ch->created.empty());
  EXPECT_EQ(*GetReplicationSlots(*c), (std::vector<std::string>{"other", "stolon_b"}));

  // Data dir operations are refused while running.
  EXPECT_EQ(n.m->RemoveAll().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(n.m->MoveAside().status().code(), absl::StatusCode::kFailedPrecondition);
  auto space = n.m->HasSpaceForDataCopy();
  ASSERT_OK(space);
  EXPECT_TRUE(*space);

  ASSERT_OK(n.m->Stop(true));
  EXPECT_FALSE(*n.m->IsStarted());
  EXPECT_EQ(n.m->child_pid(), -1);
  EXPECT_EQ(n.m->ConnectLocal().status().code(), absl::StatusCode::kUnavailable);

  // A postgres that cannot start: the error carries its last log lines.
  n.spec.pg_parameters["max_connections"] = "lots";
  n.Configure();
  auto st = n.m->Start();
  EXPECT_FALSE(st.ok());
  EXPECT_NE(std::string(st.message()).find("max_connections"), std::string::npos) << st;
  EXPECT_FALSE(*n.m->IsStarted());

  // Moving the data dir aside keeps a copy; RemoveAll deletes.
  auto old = n.m->MoveAside();
  ASSERT_OK(old);
  EXPECT_TRUE(fs::exists(*old + "/PG_VERSION"));
  EXPECT_FALSE(fs::exists(n.cfg.data_dir));
}

TEST(PostgresManagerTest, ScramSuIsReplTmpMerged) {
  TempDir dir("stolon-pg");
  // initdb failure removes PGDATA.
  {
    Node bad(dir.path() + "/bad");
    fs::create_directories(bad.cfg.data_dir);
    std::ofstream(bad.cfg.data_dir + "/junk") << "x";
    EXPECT_FALSE(bad.m->Init(InitConfig{"C", "UTF8", false}).ok());
    EXPECT_FALSE(fs::exists(bad.cfg.data_dir));
  }

  Node n(dir.path() + "/s");
  n.cfg.su_auth_method = kAuthScram;
  n.cfg.repl_user = n.cfg.su_user;
  n.cfg.repl_password = n.cfg.su_password;
  n.cfg.repl_auth_method = kAuthScram;
  n.m = std::make_unique<Manager>(n.cfg);
  InitAndStart(n, /*tmp_merged=*/true);
  if (HasFatalFailure()) return;

  EXPECT_TRUE(fs::exists(n.cfg.data_dir + "/stolon-temp-postgresql.conf"));
  auto c = n.m->ConnectLocal();
  ASSERT_OK(c);
  // initdb's postgresql.conf stays visible under ours.
  auto conf = GetConfigFilePGParameters(*c);
  ASSERT_OK(conf);
  EXPECT_EQ(conf->count("dynamic_shared_memory_type"), 1u);
  EXPECT_EQ(conf->at("port"), n.cfg.port);
  auto r = c->Query(
      "select rolreplication, rolpassword like 'SCRAM-SHA-256$%' from pg_authid "
      "where rolname = $1",
      {n.cfg.su_user});
  ASSERT_OK(r);
  ASSERT_EQ(r->rows.size(), 1u);
  EXPECT_EQ(*r->rows[0][0], "t");
  EXPECT_EQ(*r->rows[0][1], "t");

  auto sd = n.m->GetSystemData();  // replication as the superuser over scram
  ASSERT_OK(sd);
  EXPECT_EQ(sd->timeline_id, 1u);
  auto bad = n.m->LocalSuConnParams();
  bad["password"] = "nope";
  EXPECT_EQ(Connection::Connect(bad, seconds(10)).status().code(),
            absl::StatusCode::kPermissionDenied);
  auto quoted = c->QuoteIdentifier("we\"ird");
  ASSERT_OK(quoted);
  EXPECT_EQ(*quoted, "\"we\"\"ird\"");
  EXPECT_EQ(*c->QuoteLiteral("it's"), "'it''s'");
  { Connection close_it = std::move(*c); }  // a smart shutdown waits for sessions to end
  ASSERT_OK(n.m->Stop(false));              // smart
  EXPECT_FALSE(*n.m->IsStarted());
}

// Standby from pg_basebackup, sync standby reporting, promotion to timeline 2, pg_rewind of the
// old primary and its restart as a standby of the new one.
TEST(PostgresManagerTest, BasebackupSyncPromoteRewind) {
  TempDir dir("stolon-pg");
  Node a(dir.path() + "/a");
  Node b(dir.path() + "/b");
  InitAndStart(a, false);
  if (HasFatalFailure()) return;
  auto ac = a.m->ConnectLocal();
  ASSERT_OK(ac);
  a.spec.followers = {"b"};
  ASSERT_OK(RefreshReplicationSlots(*ac, a.spec.followers, {}));
  ASSERT_OK(ac->Exec("create table t (v int)"));
  ASSERT_OK(ac->Exec("insert into t values (1)"));

  auto standby_of = [](Node& from, const std::string& my_uid) {
    ConnParams p = testing::TcpReplConnParams(from.cfg);
    p["application_name"] = std::string(cluster::kStolonPrefix) + my_uid;
    return CreateRecoveryOptions(
        RecoveryMode::kStandby,
        cluster::StandbySettings{ConnString(p), std::string(cluster::kStolonPrefix) + my_uid, ""},
        std::nullopt, std::nullopt);
  };

  // b: base backup through the slot, then started as a standby.
  ASSERT_OK(b.m->SyncFromFollowed(testing::TcpReplConnParams(a.cfg), "stolon_b", seconds(120)));
  EXPECT_TRUE(*b.m->IsInitialized());
  EXPECT_EQ(*b.m->GetSystemIdFromControlFile(), *a.m->GetSystemIdFromControlFile());
  b.Configure();
  b.m->SetRecoveryOptions(standby_of(a, "b"));
  ASSERT_OK(b.m->Start());
  ASSERT_OK(b.m->WaitReady(seconds(30)));
  EXPECT_EQ(*b.m->LocalRole(), "standby");
  EXPECT_EQ(b.m->cur_recovery_options(), standby_of(a, "b"));
  EXPECT_TRUE(WaitFor([&] { return b.Scalar("select count(*) from t") == "1"; }, seconds(20)));
  EXPECT_EQ(b.Scalar("select pg_is_in_recovery()"), "t");

  // Synchronous replication: a reports b as in sync once synchronous_standby_names names it.
  a.spec.synchronous_replication = true;
  a.spec.synchronous_standbys = {"b"};
  a.Configure();
  EXPECT_EQ(a.m->parameters().at("synchronous_standby_names"), "stolon_b");
  ASSERT_OK(a.m->Reload());
  EXPECT_TRUE(WaitFor(
      [&] {
        auto c = a.m->ConnectLocal();
        if (!c.ok()) return false;
        auto s = GetSyncStandbys(*c);
        return s.ok() && *s == std::vector<std::string>{"b"};
      },
      seconds(20)));
  ASSERT_OK(ac->Exec("insert into t values (2)"));  // returns only once b has it
  EXPECT_EQ(b.Scalar("select count(*) from t"), "2");

  // Failover: a stops, b is promoted to timeline 2.
  ASSERT_OK(a.m->Stop(true));
  ASSERT_OK(b.m->Promote());
  ASSERT_OK(b.m->WaitReady(seconds(30)));
  EXPECT_EQ(*b.m->LocalRole(), "master");
  EXPECT_EQ(b.Scalar("select pg_is_in_recovery()"), "f");
  auto sd = b.m->GetSystemData();
  ASSERT_OK(sd);
  EXPECT_EQ(sd->timeline_id, 2u);
  auto hist = b.m->GetTimelinesHistory(2);
  ASSERT_OK(hist);
  ASSERT_EQ(hist->size(), 1u);
  EXPECT_EQ((*hist)[0].timeline_id, 1u);
  EXPECT_GT((*hist)[0].switch_point, 0u);
  EXPECT_LE((*hist)[0].switch_point, sd->xlog_pos);
  // b drops the slot it inherited from the backup of a and creates a's.
  auto bc = b.m->ConnectLocal();
  ASSERT_OK(bc);
  ASSERT_OK(RefreshReplicationSlots(*bc, {"a"}, {}));
  EXPECT_EQ(*GetReplicationSlots(*bc), std::vector<std::string>{"stolon_a"});
  ASSERT_OK(bc->Exec("insert into t values (3)"));

  // a: rewound against b, then restarted as its standby.
  ASSERT_OK(a.m->SyncFromFollowedPGRewind(testing::TcpSuConnParams(b.cfg), seconds(120)));
  a.spec.synchronous_replication = false;
  a.spec.synchronous_standbys.clear();
  a.Configure();
  a.m->SetRecoveryOptions(standby_of(b, "a"));
  ASSERT_OK(a.m->Start());
  ASSERT_OK(a.m->WaitReady(seconds(30)));
  EXPECT_EQ(*a.m->LocalRole(), "standby");
  EXPECT_TRUE(WaitFor([&] { return a.Scalar("select count(*) from t") == "3"; }, seconds(20)));
  EXPECT_TRUE(WaitFor(
      [&] {
        auto s = a.m->GetSystemData();
        return s.ok() && s->timeline_id == 2u;
      },
      seconds(20)));
  // A standby keeps no stolon slots.
  auto ac2 = a.m->ConnectLocal();
  ASSERT_OK(ac2);
  ASSERT_OK(RefreshReplicationSlots(*ac2, {}, {}));
  EXPECT_TRUE(GetReplicationSlots(*ac2)->empty());

  ASSERT_OK(a.m->Stop(true));
  ASSERT_OK(b.m->Stop(true));
}

// A postmaster killed with SIGKILL whose parent does not reap it stays a zombie that answers
// kill(pid, 0): pg_ctl and postgres itself take it for alive. Here its parent is a process that
// never waits (sh starts postgres in the background, then execs sleep), as a container's PID 1
// or a supervisor may be. A restarted keeper (a new Manager on the same data directory) must see
// it stopped without waiting, start postgres (crash recovery) and keep the data.
TEST(PostgresManagerTest, ZombiePostmasterIsStoppedAndRestartWorks) {
  TempDir dir("stolon-pg");
  Node n(dir.path() + "/a");
  InitAndStart(n, false);
  if (HasFatalFailure()) return;
  {
    auto c = n.m->ConnectLocal();
    ASSERT_OK(c);
    ASSERT_OK(c->Exec("create table kept (v int); insert into kept values (42)"));
  }
  ASSERT_OK(n.m->Stop(true));
  n.m = std::make_unique<Manager>(n.cfg);  // forgets the reaped child
  testing::Process parent(testing::ProcessOptions{
      {"/bin/sh", "-c", "\"$0\" -D \"$1\" -c unix_socket_directories=/tmp & exec sleep 600",
       testing::PgBinDir() + "/postgres", n.cfg.data_dir},
      {},
      n.cfg.data_dir + ".zombie.log",
      false,
      ""});
  parent.Start();
  std::optional<PostmasterStatus> alive;
  ASSERT_TRUE(WaitFor(
      [&] {
        auto st = n.m->PostmasterNow();
        if (st.ok() && st->liveness == PostmasterLiveness::kAlive) alive = *st;
        return alive.has_value();
      },
      seconds(30)));
  const pid_t zombie = alive->pid_file->pid;
  ASSERT_EQ(InspectProcess(zombie).ppid, parent.pid());
  ASSERT_EQ(::kill(zombie, SIGKILL), 0);
  ASSERT_TRUE(WaitFor([&] { return InspectProcess(zombie).state == 'Z'; }, seconds(10)));
  ASSERT_EQ(::kill(zombie, 0), 0) << "a zombie answers kill(pid, 0)";

  auto st = n.m->PostmasterNow();
  ASSERT_OK(st);
  EXPECT_EQ(LivenessName(st->liveness), LivenessName(PostmasterLiveness::kZombie))
      << st->Describe();
  EXPECT_FALSE(*n.m->IsStarted());
  auto start = std::chrono::steady_clock::now();
  ASSERT_OK(n.m->StopIfStarted(true));
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(2)) << "no wait for a zombie";
  n.Configure();
  ASSERT_OK(n.m->Start());
  ASSERT_OK(n.m->WaitReady(seconds(60)));
  EXPECT_TRUE(*n.m->IsStarted());
  EXPECT_EQ(n.Scalar("select v from kept"), "42");
  EXPECT_EQ(InspectProcess(zombie).state, 'Z') << "still unreaped by its parent";
  ASSERT_OK(n.m->Stop(true));
  EXPECT_FALSE(*n.m->IsStarted());
  parent.Kill();
}

// A postmaster that ignores the shutdown (here: stopped by SIGSTOP) is escalated to an immediate
// shutdown and then SIGKILL within the configured bounds; the next start runs crash recovery.
TEST(PostgresManagerTest, StopEscalatesWhenThePostmasterDoesNotStop) {
  TempDir dir("stolon-pg");
  Node n(dir.path() + "/a");
  n.cfg.stop_timeouts.clean = std::chrono::milliseconds(1500);
  n.cfg.stop_timeouts.immediate = std::chrono::milliseconds(1500);
  n.cfg.stop_timeouts.kill = std::chrono::milliseconds(5000);
  n.m = std::make_unique<Manager>(n.cfg);
  InitAndStart(n, false);
  if (HasFatalFailure()) return;
  const pid_t pm = n.m->child_pid();
  ASSERT_EQ(::kill(pm, SIGSTOP), 0);
  auto start = std::chrono::steady_clock::now();
  ASSERT_OK(n.m->Stop(true));
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(took, seconds(9)) << "bounded by clean + immediate + kill";
  EXPECT_GE(took, std::chrono::milliseconds(3000)) << "fast and immediate were waited for first";
  EXPECT_FALSE(*n.m->IsStarted());
  EXPECT_FALSE(InspectProcess(pm).exists) << "our child is reaped";
  EXPECT_TRUE(DataDirProcesses(fs::weakly_canonical(n.cfg.data_dir).string()).empty());
  ASSERT_OK(n.m->Start());
  ASSERT_OK(n.m->WaitReady(seconds(60)));
  EXPECT_EQ(n.Scalar("select 1"), "1");
}

}  // namespace
}  // namespace stolon::postgresql
