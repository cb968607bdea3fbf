#include "keeper/config.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "CLI/CLI.hpp"
#include "spdlog/sinks/ostream_sink.h"
#include "spdlog/spdlog.h"

namespace stolon::keeper {
namespace {

// Parses `args` (after the program name) into a fresh config and finalizes it, capturing logs.
struct Parsed {
  KeeperConfig config;
  absl::Status status;
  std::string log;
};

Parsed ParseAndFinalize(std::vector<std::string> args) {
  Parsed r;
  CLI::App app{"stolon-keeper"};
  AddKeeperFlags(app, r.config);
  std::reverse(args.begin(), args.end());
  app.parse(args);
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  auto logger = std::make_shared<spdlog::logger>("test", sink);
  auto prev = spdlog::default_logger();
  spdlog::set_default_logger(logger);
  r.status = FinalizeConfig(r.config);
  spdlog::set_default_logger(prev);
  r.log = out.str();
  return r;
}

std::vector<std::string> Base() {
  return {"--cluster-name=c",        "--store-backend=etcdv3",
          "--data-dir=/tmp/x",       "--pg-listen-address=10.0.0.1",
          "--pg-repl-username=repl", "--pg-repl-password=rp",
          "--pg-su-username=su",     "--pg-su-password=sp"};
}

std::vector<std::string> With(std::vector<std::string> args, std::vector<std::string> extra) {
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

std::vector<std::string> Without(std::vector<std::string> args, const std::string& prefix) {
  std::erase_if(args, [&](const std::string& a) { return a.rfind(prefix, 0) == 0; });
  return args;
}

std::string TempFile(const std::string& content, mode_t mode) {
  char tmpl[] = "/tmp/keeper-pw-XXXXXX";
  int fd = ::mkstemp(tmpl);
  ::close(fd);
  std::ofstream(tmpl, std::ios::binary) << content;
  ::chmod(tmpl, mode);
  return tmpl;
}

TEST(KeeperConfig, DefaultsAndAdvertiseFallback) {
  Parsed r = ParseAndFinalize(Base());
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.config.pg_port, "5432");
  EXPECT_EQ(r.config.pg_advertise_address, "10.0.0.1");
  EXPECT_EQ(r.config.pg_advertise_port, "5432");
  EXPECT_EQ(r.config.pg_repl_auth_method, "md5");
  EXPECT_TRUE(r.config.can_be_master);
  EXPECT_TRUE(r.config.can_be_synchronous_replica);
  EXPECT_EQ(r.config.PgDataDir(), "/tmp/x/postgres");
}

TEST(KeeperConfig, EnvironmentAndDeprecatedId) {
  ::setenv("STKEEPER_PG_PORT", "6000", 1);
  ::setenv("STKEEPER_ID", "fromid", 1);
  ::setenv("STKEEPER_CAN_BE_MASTER", "false", 1);
  Parsed r = ParseAndFinalize(Base());
  ::unsetenv("STKEEPER_PG_PORT");
  ::unsetenv("STKEEPER_ID");
  ::unsetenv("STKEEPER_CAN_BE_MASTER");
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.config.pg_port, "6000");
  EXPECT_EQ(r.config.uid, "fromid");
  EXPECT_FALSE(r.config.can_be_master);
}

TEST(KeeperConfig, HelpListsEveryFlagWithDefaults) {
  KeeperConfig c;
  CLI::App app{"stolon-keeper"};
  AddKeeperFlags(app, c);
  std::string help = app.help();
  for (const char* flag : {"--uid",
                           "--data-dir",
                           "--pg-listen-address",
                           "--pg-port",
                           "--pg-advertise-address",
                           "--pg-advertise-port",
                           "--pg-bin-path",
                           "--pg-repl-auth-method",
                           "--pg-repl-username",
                           "--pg-repl-password",
                           "--pg-repl-passwordfile",
                           "--pg-su-auth-method",
                           "--pg-su-username",
                           "--pg-su-password",
                           "--pg-su-passwordfile",
                           "--can-be-master",
                           "--can-be-synchronous-replica",
                           "--disable-data-dir-locking",
                           "--cluster-name",
                           "--store-backend",
                           "--store-endpoints",
                           "--store-timeout",
                           "--log-level"}) {
    EXPECT_NE(help.find(flag), std::string::npos) << flag;
  }
  EXPECT_NE(help.find("5432"), std::string::npos);
  EXPECT_EQ(help.find("--id "), std::string::npos) << "--id is hidden";
}

TEST(KeeperConfig, ValidationMessages) {
  struct Case {
    std::string name;
    std::vector<std::string> args;
    std::string want;
  };
  std::vector<Case> cases = {
      {"bad uid", With(Base(), {"--uid=Bad-Uid"}), "keeper uid \"Bad-Uid\" not valid"},
      {"no data dir", Without(Base(), "--data-dir"), "data dir required"},
      {"no listen address", Without(Base(), "--pg-listen-address"),
       "--pg-listen-address is required"},
      {"no repl user", Without(Base(), "--pg-repl-username"), "--pg-repl-username is required"},
      {"bad auth", With(Base(), {"--pg-repl-auth-method=password"}),
       "--pg-repl-auth-method must be one of: md5, scram-sha-256, trust"},
      {"no repl password", Without(Base(), "--pg-repl-password"),
       "one of --pg-repl-password or --pg-repl-passwordfile is required"},
      {"both passwords", With(Base(), {"--pg-su-passwordfile=/x"}),
       "only one of --pg-su-password or --pg-su-passwordfile must be provided"},
      {"trust with password", With(Base(), {"--pg-su-auth-method=trust"}),
       "--pg-su-password or --pg-su-passwordfile must not be provided when using trust auth "
       "method"},
      {"same user different passwords",
       With(Without(Base(), "--pg-su-username"), {"--pg-su-username=repl"}),
       "provided superuser name and replication user name are the same but provided passwords "
       "are different"},
      {"same user different methods",
       With(Without(Without(Base(), "--pg-su-username"), "--pg-su-password"),
            {"--pg-su-username=repl", "--pg-su-password=rp", "--pg-su-auth-method=scram-sha-256"}),
       "do not support different auth methods when utilizing superuser for replication."},
      {"su password only new line",
       With(Without(Base(), "--pg-su-password"), {"--pg-su-password=\n"}),
       "superuser password is empty after removing trailing new line"},
      {"port not a number", With(Base(), {"--pg-port=54x2"}),
       "invalid --pg-port \"54x2\": must be a port number between 1 and 65535"},
      {"port zero", With(Base(), {"--pg-port=0"}), "invalid --pg-port \"0\""},
      {"port too big", With(Base(), {"--pg-port=65536"}), "invalid --pg-port \"65536\""},
      {"advertise port", With(Base(), {"--pg-advertise-port=-1"}),
       "invalid --pg-advertise-port \"-1\": must be a port number between 1 and 65535"},
      {"repl password only new line",
       With(Without(Base(), "--pg-repl-password"), {"--pg-repl-password=\r\n"}),
       "replication user password is empty after removing trailing new line"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Parsed r = ParseAndFinalize(c.args);
    ASSERT_FALSE(r.status.ok());
    EXPECT_NE(std::string(r.status.message()).find(c.want), std::string::npos) << r.status;
  }
}

TEST(KeeperConfig, SameUserSamePasswordWarns) {
  Parsed r = ParseAndFinalize(With(Without(Without(Base(), "--pg-su-username"), "--pg-su-password"),
                                   {"--pg-su-username=repl", "--pg-su-password=rp"}));
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_NE(r.log.find("superuser name and replication user name are the same"), std::string::npos);
}

TEST(KeeperConfig, PasswordFilesReadRawTrimmedAndModeWarned) {
  std::string su = TempFile("secret\n", 0644);
  std::string repl = TempFile("re\\pl pass\r\n", 0600);
  Parsed r =
      ParseAndFinalize(With(Without(Without(Base(), "--pg-su-password"), "--pg-repl-password"),
                            {"--pg-su-passwordfile=" + su, "--pg-repl-passwordfile=" + repl}));
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.config.pg_su_password, "secret");
  EXPECT_EQ(r.config.pg_repl_password, "re\\pl pass");
  EXPECT_NE(r.log.find("superuser password contain trailing new line, removing"),
            std::string::npos);
  EXPECT_NE(r.log.find("replication user password contain trailing new line, removing"),
            std::string::npos);
  EXPECT_NE(r.log.find("permissions 0644 are too open"), std::string::npos) << r.log;
  EXPECT_EQ(r.log.find("permissions 0600"), std::string::npos);
  std::filesystem::remove(su);
  std::filesystem::remove(repl);
}

TEST(KeeperConfig, EmptyPasswordFileAfterTrimIsFatal) {
  std::string su = TempFile("\n", 0600);
  Parsed r =
      ParseAndFinalize(With(Without(Base(), "--pg-su-password"), {"--pg-su-passwordfile=" + su}));
  EXPECT_EQ(std::string(r.status.message()),
            "superuser password is empty after removing trailing new line");
  std::filesystem::remove(su);
}

TEST(KeeperConfig, BoolFlagsLikeGo) {
  Parsed a =
      ParseAndFinalize(With(Base(), {"--can-be-master=false", "--can-be-synchronous-replica"}));
  ASSERT_TRUE(a.status.ok()) << a.status;
  EXPECT_FALSE(a.config.can_be_master);
  EXPECT_TRUE(a.config.can_be_synchronous_replica);
  Parsed b = ParseAndFinalize(With(Base(), {"--disable-data-dir-locking"}));
  EXPECT_TRUE(b.config.disable_data_dir_locking);
}

TEST(KeeperConfig, RepeatedFlagTakesTheLastValue) {
  Parsed r = ParseAndFinalize(With(Base(), {"--pg-port=1", "--pg-port=2"}));
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.config.pg_port, "2");
}

TEST(KeeperConfig, ScramAndTrustAccepted) {
  Parsed r =
      ParseAndFinalize(With(Without(Base(), "--pg-repl-password"),
                            {"--pg-repl-auth-method=trust", "--pg-su-auth-method=scram-sha-256"}));
  EXPECT_TRUE(r.status.ok()) << r.status;
}

TEST(KeeperConfig, LoopbackAdvertiseAddressWarns) {
  Parsed r = ParseAndFinalize(
      With(Without(Base(), "--pg-listen-address"), {"--pg-listen-address=127.0.0.1"}));
  ASSERT_TRUE(r.status.ok());
  EXPECT_NE(r.log.find("is a loopback ip"), std::string::npos);
}

}  // namespace
}  // namespace stolon::keeper
