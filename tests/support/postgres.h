// Test support for code that drives real PostgreSQL instances through stolon::postgresql.
//
// PRIVILEGE PATTERN (reuse it for keeper tests): PostgreSQL refuses to run as root, and the
// library runs the tools as the *calling* process' user (like the keeper, which runs as the
// unprivileged user in production). Tests run as root, so a test binary that starts postgres
// through the library drops the privileges of the whole process first, in its own main():
//
//   // tests/integration/<pkg>/main.cc
//   #include "support/postgres.h"
//   int main(int argc, char** argv) { return stolon::testing::PostgresTestMain(argc, argv); }
//
// and lists that main.cc in its stolon_test() SOURCES (it replaces gtest_main's main). Everything
// the tests create afterwards (TempDir, data dirs, logs) is then owned by the unprivileged user.
// Do not create files or dirs before the drop (e.g. in global constructors): they would be
// root-owned and unusable.
#pragma once

#include <memory>
#include <string>

#include "postgresql/manager.h"
#include "support/process.h"

namespace stolon::testing {

// When root: setgroups/setgid/setuid to UnprivilegedUser(), sets USER/LOGNAME/HOME (=/tmp), and
// keeps the process dumpable (LeakSanitizer needs to ptrace itself). No-op otherwise. Aborts the
// process with a message if the drop fails.
void DropPrivilegesToUnprivilegedUser();

// A gtest main: DropPrivilegesToUnprivilegedUser(), logging at info level, then RUN_ALL_TESTS().
int PostgresTestMain(int argc, char** argv);

// Credentials used by the test instances.
inline constexpr const char* kTestSuUser = "stolon_su";
inline constexpr const char* kTestSuPassword = "su pass'word\\1";  // exercises quoting
inline constexpr const char* kTestReplUser = "stolon_repl";
inline constexpr const char* kTestReplPassword = "repl password";

// A ManagerConfig for an instance at `data_dir` listening on 127.0.0.1:<port> (socket in /tmp,
// unique by port), PostgreSQL from PgBinDir(), the test credentials with md5 auth, postgres'
// output appended to `<data_dir>.log`, request timeout 10s.
postgresql::ManagerConfig TestManagerConfig(const std::string& data_dir, int port);

// The TCP connection parameters of the instance of `cfg` as its superuser (dbname=postgres)
// or its replication user.
postgresql::ConnParams TcpSuConnParams(const postgresql::ManagerConfig& cfg);
postgresql::ConnParams TcpReplConnParams(const postgresql::ManagerConfig& cfg);

}  // namespace stolon::testing
