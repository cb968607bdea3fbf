#include "postgresql/config.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <thread>

#include "postgresql/command.h"
#include "postgresql/queries.h"

namespace stolon::postgresql {
namespace {

LocalInstance Local15() {
  LocalInstance l;
  l.listen_address = "10.0.0.1";
  l.port = "5433";
  l.binary_version = PGVersion{15, 4};
  return l;
}

cluster::DBSpec BaseSpec() {
  cluster::DBSpec s;
  s.max_standbys = 20;
  s.additional_wal_senders = 5;
  return s;
}

TEST(CreatePGParametersTest, Defaults) {
  auto p = CreatePGParameters(BaseSpec(), {}, Local15());
  EXPECT_EQ(p["unix_socket_directories"], "/tmp");
  EXPECT_EQ(p["wal_level"], "replica");
  EXPECT_EQ(p["hot_standby"], "on");
  EXPECT_EQ(p["wal_keep_size"], "128");
  EXPECT_EQ(p.count("wal_keep_segments"), 0u);
  EXPECT_EQ(p["listen_addresses"], "10.0.0.1");
  EXPECT_EQ(p["port"], "5433");
  EXPECT_EQ(p["max_replication_slots"], "20");
  EXPECT_EQ(p["max_wal_senders"], "47");  // 2*20 + 2 + 5
  EXPECT_EQ(p.count("wal_log_hints"), 0u);
  EXPECT_EQ(p["synchronous_standby_names"], "");
}

TEST(CreatePGParametersTest, MaxWalSendersFormula) {
  auto s = BaseSpec();
  s.max_standbys = 3;
  s.additional_wal_senders = 0;
  EXPECT_EQ(CreatePGParameters(s, {}, Local15())["max_wal_senders"], "8");
}

TEST(CreatePGParametersTest, WalLevel) {
  struct Case {
    const char* name;
    const char* user;  // nullptr: not set
    std::optional<PGVersion> version;
    const char* want;
  };
  const Case cases[] = {
      {"default pg15", nullptr, PGVersion{15, 0}, "replica"},
      {"logical kept", "logical", PGVersion{15, 0}, "logical"},
      {"archive overridden", "archive", PGVersion{15, 0}, "replica"},
      {"minimal overridden", "minimal", PGVersion{15, 0}, "replica"},
      {"old version", nullptr, PGVersion{9, 5}, "hot_standby"},
      {"unknown version", nullptr, std::nullopt, "hot_standby"},
      {"logical unknown version", "logical", std::nullopt, "logical"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto s = BaseSpec();
    if (c.user) s.pg_parameters["wal_level"] = c.user;
    auto l = Local15();
    l.binary_version = c.version;
    EXPECT_EQ(CreatePGParameters(s, {}, l)["wal_level"], c.want);
  }
}

TEST(CreatePGParametersTest, WalKeep) {
  auto s = BaseSpec();
  s.pg_parameters["wal_keep_size"] = "1GB";
  EXPECT_EQ(CreatePGParameters(s, {}, Local15())["wal_keep_size"], "1GB");

  auto l = Local15();
  l.binary_version = PGVersion{12, 0};
  auto p = CreatePGParameters(BaseSpec(), {}, l);
  EXPECT_EQ(p["wal_keep_segments"], "8");
  EXPECT_EQ(p.count("wal_keep_size"), 0u);
  s = BaseSpec();
  s.pg_parameters["wal_keep_segments"] = "32";
  EXPECT_EQ(CreatePGParameters(s, {}, l)["wal_keep_segments"], "32");
  s.pg_parameters["wal_keep_segments"] = "4";
  EXPECT_EQ(CreatePGParameters(s, {}, l)["wal_keep_segments"], "8");
  s.pg_parameters["wal_keep_segments"] = "many";
  EXPECT_EQ(CreatePGParameters(s, {}, l)["wal_keep_segments"], "8");
}

TEST(CreatePGParametersTest, WalLogHintsWithPgRewind) {
  auto s = BaseSpec();
  s.use_pg_rewind = true;
  EXPECT_EQ(CreatePGParameters(s, {}, Local15())["wal_log_hints"], "on");
}

TEST(CreatePGParametersTest, SynchronousStandbyNames) {
  auto s = BaseSpec();
  s.synchronous_replication = true;
  EXPECT_EQ(SynchronousStandbyNames(s), "");  // on but no names
  s.synchronous_standbys = {"aaa"};
  EXPECT_EQ(SynchronousStandbyNames(s), "stolon_aaa");
  s.synchronous_standbys = {"aaa", "bbb"};
  EXPECT_EQ(SynchronousStandbyNames(s), "2 (stolon_aaa,stolon_bbb)");
  s.external_synchronous_standbys = {"stolonfakestandby"};
  EXPECT_EQ(SynchronousStandbyNames(s), "3 (stolon_aaa,stolon_bbb,stolonfakestandby)");
  s.synchronous_standbys.clear();
  EXPECT_EQ(SynchronousStandbyNames(s), "stolonfakestandby");
  EXPECT_EQ(CreatePGParameters(s, {}, Local15())["synchronous_standby_names"], "stolonfakestandby");
  s.synchronous_replication = false;
  s.synchronous_standbys = {"aaa", "bbb"};
  EXPECT_EQ(SynchronousStandbyNames(s), "");
}

TEST(CreatePGParametersTest, Precedence) {
  auto s = BaseSpec();
  PGParameters init = {{"shared_buffers", "64MB"}, {"work_mem", "1MB"}, {"port", "1"}};
  s.pg_parameters = {{"work_mem", "4MB"},       {"port", "9999"},
                     {"hot_standby", "off"},    {"max_wal_senders", "1"},
                     {"listen_addresses", "*"}, {"unix_socket_directories", "/var/run"}};
  // Init parameters are ignored without includePreviousConfig.
  auto p = CreatePGParameters(s, init, Local15());
  EXPECT_EQ(p.count("shared_buffers"), 0u);
  EXPECT_EQ(p["work_mem"], "4MB");
  // Mandatory and managed parameters override the user's.
  EXPECT_EQ(p["port"], "5433");
  EXPECT_EQ(p["hot_standby"], "on");
  EXPECT_EQ(p["max_wal_senders"], "47");
  EXPECT_EQ(p["listen_addresses"], "10.0.0.1");
  EXPECT_EQ(p["unix_socket_directories"], "/tmp");

  s.include_previous_config = true;
  p = CreatePGParameters(s, init, Local15());
  EXPECT_EQ(p["shared_buffers"], "64MB");  // from the previous config
  EXPECT_EQ(p["work_mem"], "4MB");         // the spec wins over the previous config
  EXPECT_EQ(p["port"], "5433");            // managed wins over both
}

TEST(CreatePGParametersTest, SocketDirConfigurable) {
  auto l = Local15();
  l.unix_socket_dir = "/run/pg";
  EXPECT_EQ(CreatePGParameters(BaseSpec(), {}, l)["unix_socket_directories"], "/run/pg");
}

TEST(ManagedParametersTest, Filter) {
  PGParameters p = {{"port", "1"},
                    {"work_mem", "4MB"},
                    {"primary_conninfo", "x"},
                    {"recovery_target_action", "promote"},
                    {"wal_level", "replica"}};
  EXPECT_EQ(FilterManagedParameters(p),
            (PGParameters{{"work_mem", "4MB"}, {"wal_level", "replica"}}));
  EXPECT_EQ(ManagedParameters().size(), 21u);
}

TEST(ConfFileTest, QuotesAndOrder) {
  EXPECT_EQ(QuoteConfValue("it's"), "'it''s'");
  EXPECT_EQ(QuoteConfValue(R"(a\b)"), R"('a\\b')");
  EXPECT_EQ(QuoteConfValue(""), "''");
  PGParameters p = {{"work_mem", "4MB"}, {"archive_command", "cp '%p' /x"}, {"port", "5433"}};
  std::string c = PostgresqlConfContent(p, {}, PGVersion{15, 0});
  EXPECT_NE(c.find("archive_command = 'cp ''%p'' /x'\nport = '5433'\nwork_mem = '4MB'\n"),
            std::string::npos)
      << c;
  EXPECT_EQ(c.find("primary_conninfo"), std::string::npos);
}

TEST(ConfFileTest, RecoveryParamsInPostgresqlConfForPG12Plus) {
  RecoveryOptions ro = CreateRecoveryOptions(
      RecoveryMode::kStandby, cluster::StandbySettings{R"(host=h password=a\'b)", "stolon_x", ""},
      std::nullopt, std::nullopt);
  std::string c = PostgresqlConfContent({{"port", "1"}}, ro, PGVersion{15, 0});
  EXPECT_NE(c.find(R"(primary_conninfo = 'host=h password=a\\''b')"), std::string::npos) << c;
  EXPECT_NE(c.find("primary_slot_name = 'stolon_x'"), std::string::npos);
  EXPECT_NE(c.find("recovery_target_timeline = 'latest'"), std::string::npos);
  // Older versions keep them in recovery.conf.
  std::string old = PostgresqlConfContent({{"port", "1"}}, ro, PGVersion{11, 0});
  EXPECT_EQ(old.find("primary_conninfo"), std::string::npos);
  std::string rc = RecoveryConfContent(ro);
  EXPECT_EQ(rc.rfind("standby_mode = 'on'\n", 0), 0u) << rc;
  EXPECT_NE(rc.find("primary_slot_name = 'stolon_x'"), std::string::npos);
  ro.mode = RecoveryMode::kRecovery;
  EXPECT_EQ(RecoveryConfContent(ro).find("standby_mode"), std::string::npos);
  EXPECT_EQ(RecoveryConfContent(RecoveryOptions{}), "");
}

TEST(ConfFileTest, TempMerged) {
  EXPECT_EQ(TempMergedConfContent({{"port", "5"}}, true),
            "include 'postgresql.conf'\nport = '5'\n");
  EXPECT_EQ(TempMergedConfContent({{"port", "5"}}, false), "port = '5'\n");
}

TEST(RecoveryOptionsTest, StandbyAndTargets) {
  auto ro =
      CreateRecoveryOptions(RecoveryMode::kStandby, cluster::StandbySettings{"host=a", "", "10s"},
                            std::nullopt, std::nullopt);
  EXPECT_EQ(ro.mode, RecoveryMode::kStandby);
  EXPECT_EQ(ro.params, (PGParameters{{"primary_conninfo", "host=a"},
                                     {"recovery_min_apply_delay", "10s"},
                                     {"recovery_target_timeline", "latest"}}));

  cluster::RecoveryTargetSettings t;
  t.recovery_target_time = "2024-01-01 00:00:00";
  t.recovery_target_lsn = "0/3000000";
  ro = CreateRecoveryOptions(RecoveryMode::kRecovery, std::nullopt,
                             cluster::ArchiveRecoverySettings{"cp /a/%f %p"}, t);
  EXPECT_EQ(ro.params, (PGParameters{{"restore_command", "cp /a/%f %p"},
                                     {"recovery_target_action", "promote"},
                                     {"recovery_target_lsn", "0/3000000"},
                                     {"recovery_target_time", "2024-01-01 00:00:00"}}));

  ro = CreateRecoveryOptions(RecoveryMode::kRecovery, std::nullopt,
                             cluster::ArchiveRecoverySettings{"x"}, std::nullopt);
  EXPECT_EQ(ro.params.at("recovery_target_timeline"), "latest");
  EXPECT_EQ(ro.params.count("recovery_target_action"), 0u);
}

HBAOptions Hba() {
  HBAOptions o;
  o.su_user = "su";
  o.su_auth_method = "md5";
  o.repl_user = "repl";
  o.repl_auth_method = "scram-sha-256";
  return o;
}

TEST(HBATest, AccessAllDefaultRules) {
  EXPECT_EQ(GenerateHBA(Hba()), (std::vector<std::string>{
                                    "local postgres su md5",
                                    "local replication repl scram-sha-256",
                                    "host all su 0.0.0.0/0 md5",
                                    "host all su ::0/0 md5",
                                    "host replication repl 0.0.0.0/0 scram-sha-256",
                                    "host replication repl ::0/0 scram-sha-256",
                                    "host all all 0.0.0.0/0 md5",
                                    "host all all ::0/0 md5",
                                }));
}

TEST(HBATest, CustomPgHBA) {
  auto o = Hba();
  o.pg_hba = std::vector<std::string>{"host all all 10.0.0.0/8 trust"};
  auto h = GenerateHBA(o);
  ASSERT_EQ(h.size(), 7u);
  EXPECT_EQ(h.back(), "host all all 10.0.0.0/8 trust");
  o.pg_hba = std::vector<std::string>{};  // [] means no user rules at all
  EXPECT_EQ(GenerateHBA(o).size(), 6u);
}

TEST(HBATest, OnlyInternal) {
  auto o = Hba();
  o.only_internal = true;
  o.pg_hba = std::vector<std::string>{"host all all 10.0.0.0/8 trust"};
  auto h = GenerateHBA(o);
  EXPECT_EQ(h.size(), 6u);
  EXPECT_EQ(h.back(), "host replication repl ::0/0 scram-sha-256");
}

TEST(HBATest, StrictMaster) {
  auto o = Hba();
  o.access_mode = "strict";
  o.is_master = true;
  o.other_db_addresses = {"10.0.0.3", "10.0.0.2"};
  EXPECT_EQ(GenerateHBA(o), (std::vector<std::string>{
                                "local postgres su md5",
                                "local replication repl scram-sha-256",
                                "host all su 10.0.0.2/32 scram-sha-256",
                                "host replication repl 10.0.0.2/32 scram-sha-256",
                                "host all su 10.0.0.3/32 scram-sha-256",
                                "host replication repl 10.0.0.3/32 scram-sha-256",
                                "host all all 0.0.0.0/0 md5",
                                "host all all ::0/0 md5",
                            }));
}

TEST(HBATest, StrictStandby) {
  auto o = Hba();
  o.access_mode = "strict";
  o.is_master = false;
  o.other_db_addresses = {"10.0.0.3"};
  o.pg_hba = std::vector<std::string>{};
  EXPECT_EQ(GenerateHBA(o), (std::vector<std::string>{"local postgres su md5",
                                                      "local replication repl scram-sha-256"}));
  EXPECT_EQ(HBAContent({"a", "b"}), "a\nb\n");
}

TEST(AuthMethodTest, Valid) {
  EXPECT_TRUE(IsValidAuthMethod("md5"));
  EXPECT_TRUE(IsValidAuthMethod("trust"));
  EXPECT_TRUE(IsValidAuthMethod("scram-sha-256"));
  EXPECT_FALSE(IsValidAuthMethod("password"));
}

TEST(ChangedParametersTest, AddedRemovedChanged) {
  PGParameters running = {{"a", "1"}, {"b", "2"}, {"c", "3"}};
  PGParameters generated = {{"a", "1"}, {"b", "20"}, {"d", "4"}};
  EXPECT_EQ(ChangedParameters(running, generated), (std::vector<std::string>{"b", "c", "d"}));
  EXPECT_TRUE(ChangedParameters(running, running).empty());
}

TEST(CommandResultTest, TailKeepsLastNonEmptyLines) {
  CommandResult r;
  r.output = "one\n\ntwo\nthree\n";
  EXPECT_EQ(r.Tail(2), "two\nthree");
  EXPECT_EQ(r.Tail(10), "one\ntwo\nthree");
}

TEST(RunCommandTest, ExitCodeOutputAndMissingProgram) {
  std::vector<std::string> lines;
  auto r = RunCommand({"/bin/sh", "-c", "echo out; echo err >&2; printf 'a\\rb\\n'; exit 3"}, {},
                      std::chrono::seconds(10), [&](const std::string& l) { lines.push_back(l); });
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_EQ(lines, (std::vector<std::string>{"out", "err", "a", "b"}));
  auto t = RunCommand({"/bin/sh", "-c", "sleep 5"}, {}, std::chrono::milliseconds(200));
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->timed_out);
  EXPECT_EQ(RunCommand({"/nonexistent/prog"}).status().code(), absl::StatusCode::kNotFound);
}

// A killed process whose parent died is re-parented to PID 1, which in a container may never
// reap it: it is dead (state Z) but kill(pid, 0) still succeeds.
bool IsZombie(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  const auto paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] == 'Z';
}

TEST(RunCommandTest, TimeoutKillsTheWholeProcessGroup) {
  // The shell starts a grandchild that would outlive it; the deadline kills both.
  const std::string pidfile =
      ::testing::TempDir() + "/stolon-runcommand-" + std::to_string(::getpid());
  auto t = RunCommand({"/bin/sh", "-c", "sleep 30 & echo $! > " + pidfile + "; wait"}, {},
                      std::chrono::milliseconds(300));
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_TRUE(t->timed_out);
  EXPECT_EQ(t->exit_code, -1);
  EXPECT_EQ(t->term_signal, SIGKILL);
  std::ifstream in(pidfile);
  pid_t grandchild = 0;
  in >> grandchild;
  ASSERT_GT(grandchild, 0);
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {  // up to 1 s for the kernel to deliver the SIGKILL
    gone = (::kill(grandchild, 0) != 0 && errno == ESRCH) || IsZombie(grandchild);
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(gone) << "grandchild " << grandchild << " survived the timeout";
  std::remove(pidfile.c_str());
}

TEST(RunCommandTest, SignalAndEnvironmentAreReported) {
  auto k = RunCommand({"/bin/sh", "-c", "kill -TERM $$"});
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(k->exit_code, -1);
  EXPECT_EQ(k->term_signal, SIGTERM);
  EXPECT_FALSE(k->timed_out);
  auto e = RunCommand({"/bin/sh", "-c", "echo \"$STOLON_TEST_VAR\"; exit 0"},
                      {{"STOLON_TEST_VAR", "value 1"}});
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->exit_code, 0);
  EXPECT_EQ(e->term_signal, 0);
  EXPECT_EQ(e->output, "value 1\n");
}

TEST(RunCommandTest, ChildrenDoNotInheritBlockedStopSignals) {
  // The daemons block SIGTERM in every thread; a child (postgres, pg_ctl) must still die of it.
  sigset_t term, previous;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &term, &previous), 0);
  auto k = RunCommand({"/bin/sh", "-c", "kill -TERM $$; sleep 5"}, {}, std::chrono::seconds(3));
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  ASSERT_TRUE(k.ok()) << k.status();
  EXPECT_FALSE(k->timed_out);
  EXPECT_EQ(k->term_signal, SIGTERM);
}

}  // namespace
}  // namespace stolon::postgresql

namespace stolon::postgresql {
namespace {

TEST(CreatePGParametersTest, WalReceiverStatusIntervalDefaultsToOneSecondUnlessSet) {
  EXPECT_EQ(CreatePGParameters(BaseSpec(), {}, Local15())["wal_receiver_status_interval"], "1s");
  cluster::DBSpec s = BaseSpec();
  s.pg_parameters["wal_receiver_status_interval"] = "5s";
  EXPECT_EQ(CreatePGParameters(s, {}, Local15())["wal_receiver_status_interval"], "5s");
}

RecoveryOptions Standby(PGParameters params) { return {RecoveryMode::kStandby, std::move(params)}; }

TEST(RecoveryChangeIsReloadableTest, OnlySighupParametersOnSameMode) {
  const PGVersion v15{15, 4};
  const auto cur = Standby({{"primary_conninfo", "host=a"}, {"primary_slot_name", "stolon_x"}});
  EXPECT_TRUE(RecoveryChangeIsReloadable(
      cur, Standby({{"primary_conninfo", "host=b"}, {"primary_slot_name", "stolon_x"}}), v15));
  EXPECT_TRUE(RecoveryChangeIsReloadable(cur, Standby({{"primary_conninfo", "host=b"}}), v15));
  EXPECT_TRUE(RecoveryChangeIsReloadable(
      cur, Standby({{"primary_conninfo", "host=a"}, {"restore_command", "cp %f %p"}}), v15));
  // restore_command needs 14, primary_conninfo 13.
  EXPECT_FALSE(RecoveryChangeIsReloadable(
      cur, Standby({{"primary_conninfo", "host=a"}, {"restore_command", "cp %f %p"}}),
      PGVersion{13, 0}));
  EXPECT_FALSE(
      RecoveryChangeIsReloadable(cur, Standby({{"primary_conninfo", "host=b"}}), PGVersion{12, 9}));
  // A recovery target is read only at start; a mode change needs a restart.
  EXPECT_FALSE(RecoveryChangeIsReloadable(
      cur, Standby({{"primary_conninfo", "host=a"}, {"recovery_target_lsn", "0/1"}}), v15));
  EXPECT_FALSE(RecoveryChangeIsReloadable(cur, {RecoveryMode::kRecovery, cur.params}, v15));
  EXPECT_FALSE(RecoveryChangeIsReloadable(cur, {RecoveryMode::kNone, {}}, v15));
}

}  // namespace
}  // namespace stolon::postgresql
