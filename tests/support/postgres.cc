#include "support/postgres.h"

#include <gmock/gmock.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "common/log.h"

namespace stolon::testing {

void DropPrivilegesToUnprivilegedUser() {
  std::optional<OsUser> u = UnprivilegedUser();
  if (!u) return;
  if (::setgroups(0, nullptr) != 0 || ::setgid(u->gid) != 0 || ::setuid(u->uid) != 0) {
    std::perror("dropping privileges to the unprivileged test user failed");
    std::abort();
  }
  // The checkout may sit in a directory only root can enter (a `mktemp -d` clone is 0700):
  // PostgreSQL refuses to start from a working directory it cannot enter.
  if (::access(".", R_OK | X_OK) != 0 && ::chdir("/") != 0) std::abort();
  ::prctl(PR_SET_DUMPABLE, 1);
  ::setenv("USER", u->name.c_str(), 1);
  ::setenv("LOGNAME", u->name.c_str(), 1);
  ::setenv("HOME", "/tmp", 1);
}

int PostgresTestMain(int argc, char** argv) {
  DropPrivilegesToUnprivilegedUser();
  (void)InitLogging("info", false);
  ::testing::InitGoogleMock(&argc, argv);
  return RUN_ALL_TESTS();
}

postgresql::ManagerConfig TestManagerConfig(const std::string& data_dir, int port) {
  postgresql::ManagerConfig c;
  c.bin_dir = PgBinDir();
  c.data_dir = data_dir;
  c.listen_address = "127.0.0.1";
  c.port = std::to_string(port);
  c.socket_dir = "/tmp";
  c.su_user = kTestSuUser;
  c.su_password = kTestSuPassword;
  c.su_auth_method = "md5";
  c.repl_user = kTestReplUser;
  c.repl_password = kTestReplPassword;
  c.repl_auth_method = "md5";
  c.request_timeout = std::chrono::seconds(10);
  c.log_file = data_dir + ".log";
  return c;
}

postgresql::ConnParams TcpSuConnParams(const postgresql::ManagerConfig& cfg) {
  postgresql::ConnParams p = {{"host", cfg.listen_address},
                              {"port", cfg.port},
                              {"user", cfg.su_user},
                              {"dbname", "postgres"},
                              {"sslmode", "disable"}};
  if (cfg.su_auth_method != "trust") p["password"] = cfg.su_password;
  return p;
}

postgresql::ConnParams TcpReplConnParams(const postgresql::ManagerConfig& cfg) {
  postgresql::ConnParams p = {{"host", cfg.listen_address},
                              {"port", cfg.port},
                              {"user", cfg.repl_user},
                              {"sslmode", "disable"}};
  if (cfg.repl_auth_method != "trust") p["password"] = cfg.repl_password;
  return p;
}

}  // namespace stolon::testing
