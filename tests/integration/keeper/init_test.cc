// Keeper integration: init new → a master accepting the superuser and the replication user,
// with md5 and with scram-sha-256; and the start-up refusals of the binary.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>

#include "integration/keeper/harness.h"

namespace stolon::keeper::testing {
namespace {

using stolon::testing::RunCommand;

void InitAndCheckUsers(const std::string& auth) {
  TestCluster tc;
  TestKeeper k1(tc.name(), tc.endpoints(), {"keeper1", auth, {}});
  ASSERT_TRUE(tc.Put().ok());
  k1.Start();
  ASSERT_TRUE(tc.RegisterKeeper("keeper1")) << k1.Log();
  tc.AddMaster("db1", "keeper1", cluster::kInitModeNew);
  ASSERT_TRUE(tc.Put().ok());
  ASSERT_TRUE(tc.WaitConverged("keeper1", "db1", 90s)) << k1.Log();

  // The superuser over TCP with a password.
  auto v = k1.QueryOne("select current_user");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(*v, kSuUser);
  EXPECT_EQ(*k1.QueryOne("select rolreplication::text from pg_roles where rolname = '" +
                         std::string(kReplUser) + "'"),
            "true");
  EXPECT_EQ(*k1.QueryOne("select pg_is_in_recovery()::text"), "false");
  // The replication user on a replication connection.
  auto repl = postgresql::ReplicationConnection::Connect({{"host", "127.0.0.1"},
                                                          {"port", std::to_string(k1.pg_port())},
                                                          {"user", kReplUser},
                                                          {"password", kReplPassword},
                                                          {"sslmode", "disable"}},
                                                         5s);
  ASSERT_TRUE(repl.ok()) << repl.status();
  auto sd = repl->IdentifySystem();
  ASSERT_TRUE(sd.ok()) << sd.status();
  EXPECT_EQ(sd->timeline_id, 1u);
  // A wrong password is refused.
  EXPECT_FALSE(k1.Connect(kSuUser, "wrong").ok());
  if (auth == "scram-sha-256") {
    std::string want = "SCRAM-SHA-256$";
    EXPECT_EQ(k1.QueryOne("select left(rolpassword, " + std::to_string(want.size()) +
                          ") from pg_authid where rolname = '" + kSuUser + "'")
                  .value_or(""),
              want);
  }

  std::string log = k1.Log();
  EXPECT_NE(log.find("superuser password set"), std::string::npos);
  EXPECT_NE(log.find(std::string("replication role created\t{\"role\": \"") + kReplUser + "\"}"),
            std::string::npos);
  EXPECT_NE(log.find("exclusive lock on data dir taken"), std::string::npos);

  // The published state: our db, healthy, on timeline 1, with the cluster's uid.
  auto info = tc.Info("keeper1");
  ASSERT_TRUE(info && info->postgres_state);
  EXPECT_EQ(info->cluster_uid, tc.cd.cluster.uid);
  EXPECT_EQ(info->postgres_binary_version.maj, 15);
  EXPECT_EQ(info->postgres_state->port, std::to_string(k1.pg_port()));
  EXPECT_EQ(info->postgres_state->timeline_id, 1u);
  EXPECT_FALSE(info->postgres_state->system_id.empty());
  EXPECT_FALSE(info->postgres_state->older_wal_file.empty());

  // SIGINT: postgres stopped, exit 0.
  int status = k1.Stop();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_FALSE(k1.PostgresRunning());
}

TEST(KeeperInit, NewMasterWithMd5Users) { InitAndCheckUsers("md5"); }

TEST(KeeperInit, NewMasterWithScramUsers) { InitAndCheckUsers("scram-sha-256"); }

TEST(KeeperInit, RefusesRootAndBadFlags) {
  TestKeeper k(std::string("c"), "http://127.0.0.1:1", {"keeperx", "md5", {}});
  std::string out;
  int rc = RunCommand(k.Args(), &out, 10s, /*as_unprivileged_user=*/false);
  if (::geteuid() == 0) {
    EXPECT_NE(rc, 0);
    EXPECT_NE(out.find("stolon-keeper: must not run as root: PostgreSQL refuses to; run it as an "
                       "unprivileged user (e.g. su -s /bin/sh stolon -c ...)"),
              std::string::npos)
        << out;
  }
  auto args = k.Args();
  args.push_back("--pg-repl-auth-method=password");
  rc = RunCommand(args, &out, 10s, true);
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("--pg-repl-auth-method must be one of"), std::string::npos) << out;
  args = k.Args();
  args.push_back("--pg-su-username=" + std::string(kReplUser));
  rc = RunCommand(args, &out, 10s, true);
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("provided superuser name and replication user name are the same but "
                     "provided passwords are different"),
            std::string::npos)
      << out;
  // A bad --metrics-listen-address: one line naming it, non-zero exit, before touching anything.
  args = k.Args();
  args.push_back("--metrics-listen-address=localhost:99999");
  rc = RunCommand(args, &out, 10s, true);
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("stolon-keeper: --metrics-listen-address: invalid address "
                     "\"localhost:99999\": bad port; use host:port, e.g. 0.0.0.0:8080"),
            std::string::npos)
      << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
}

// Started (as the unprivileged user) from a directory that user cannot enter, as with
// `sudo -u stolon stolon-keeper` from /root: PostgreSQL's programs would fail with "could not
// change directory"; the keeper works from its data dir instead and initialises normally.
TEST(KeeperInit, StartsFromADirectoryItsUserCannotEnter) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to make a directory the keeper cannot enter";
  char tmpl[] = "/tmp/stolon-closed-cwd-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);  // 0700, owned by root
  const std::string closed = tmpl;
  TestCluster tc;
  TestKeeper k1(tc.name(), tc.endpoints(), {"keeper1", "md5", {}, closed});
  ASSERT_TRUE(tc.Put().ok());
  k1.Start();
  ASSERT_TRUE(tc.RegisterKeeper("keeper1")) << k1.Log();
  tc.AddMaster("db1", "keeper1", cluster::kInitModeNew);
  ASSERT_TRUE(tc.Put().ok());
  EXPECT_TRUE(tc.WaitConverged("keeper1", "db1", 90s)) << k1.Log();
  EXPECT_EQ(k1.QueryOne("select pg_is_in_recovery()::text").value_or(""), "false");
  EXPECT_NE(k1.Log().find("the working directory is not accessible to this user: working from "
                          "the data dir"),
            std::string::npos)
      << k1.Log();
  int status = k1.Stop();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  ::rmdir(closed.c_str());
}

}  // namespace
}  // namespace stolon::keeper::testing
