// Test harness helpers for integration tests that run real processes on loopback:
// free ports, temp dirs, child processes (optionally as the unprivileged PostgreSQL user),
// and deadline-bounded polling. Every child is stopped by pid when its owner goes away.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace stolon::testing {

// Returns a TCP port on 127.0.0.1 that was free when asked (bound then released), taken from
// outside the kernel's ephemeral range so no outgoing connection can grab it before the
// server binds. A port is handed out once per process and, while this process lives, to no
// other process that asks through this function.
int PickFreePort();

// The unprivileged OS user that runs PostgreSQL (and keepers) when tests run as root.
// nullopt when not root (processes then run as the current user).
struct OsUser {
  uid_t uid;
  gid_t gid;
  std::string name;
};
std::optional<OsUser> UnprivilegedUser();

// A temporary directory removed (recursively) on destruction. When tests run as root the
// directory is owned by the unprivileged user so PostgreSQL can use it.
class TempDir {
 public:
  explicit TempDir(const std::string& tag = "stolon-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  // Creates `rel` under the dir (mkdir -p) owned like the dir; returns its full path.
  std::string Sub(const std::string& rel) const;

 private:
  std::string path_;
};

// Options for a child process.
struct ProcessOptions {
  std::vector<std::string> argv;           // argv[0] is the program path
  std::map<std::string, std::string> env;  // added to (overriding) the inherited environment
  std::string log_file;                    // stdout+stderr appended here; empty: inherit
  bool as_unprivileged_user = false;       // drop to UnprivilegedUser() when root
  std::string cwd;                         // empty: inherit
  // With as_unprivileged_user: keep a working directory the user cannot enter instead of falling
  // back to "/" (for tests of how a program copes with one).
  bool keep_closed_cwd = false;
};

// A child process. The destructor sends SIGKILL (after SIGCONT) and reaps it if still running.
class Process {
 public:
  Process() = default;
  explicit Process(ProcessOptions opts);
  ~Process();
  Process(Process&& o) noexcept;
  Process& operator=(Process&& o) noexcept;

  // Starts the child; aborts the test (throws std::runtime_error) when fork/exec setup fails.
  void Start();
  pid_t pid() const { return pid_; }
  bool Running();        // reaps if exited
  void Signal(int sig);  // no-op when not running
  // Waits for exit up to `timeout`; returns the wait status or nullopt on timeout.
  std::optional<int> Wait(std::chrono::milliseconds timeout);
  // SIGCONT + `sig`, wait up to `timeout`, then SIGKILL. Returns the wait status.
  int Stop(int sig, std::chrono::milliseconds timeout = std::chrono::seconds(30));
  void Kill() { Stop(9, std::chrono::seconds(10)); }
  // Contents of the log file (empty if none).
  std::string Log() const;
  const ProcessOptions& options() const { return opts_; }

 private:
  ProcessOptions opts_;
  pid_t pid_ = -1;
  std::optional<int> status_;
};

// Polls `pred` every `every` until it returns true or `timeout` passes. Returns whether it held.
bool WaitFor(const std::function<bool()>& pred, std::chrono::milliseconds timeout,
             std::chrono::milliseconds every = std::chrono::milliseconds(100));

// Runs a command to completion (as the unprivileged user when asked) with a timeout; returns
// exit code (or -1 on timeout/signal) and fills `output` with stdout+stderr.
int RunCommand(const std::vector<std::string>& argv, std::string* output,
               std::chrono::milliseconds timeout = std::chrono::seconds(60),
               bool as_unprivileged_user = false,
               const std::map<std::string, std::string>& env = {});

// Makes a test process that dies on SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL or SIGTERM (where
// no destructor runs) first kill what it started: every still-running child Process (by pid:
// SIGCONT then SIGKILL) and the process group of every postmaster whose pid file was registered;
// then it dies of the same signal. Installs the handlers once; later calls do nothing.
void KillChildrenOnFatalSignal();
// Registers a postmaster.pid path (a postmaster runs in its own session: its pid is its process
// group) for KillChildrenOnFatalSignal. At most 64 paths are kept; more are ignored.
void RegisterPostmasterPidFile(const std::string& path);

// Directory of the built binaries (STOLON_BIN_DIR set by ctest), and PostgreSQL's bin dir.
std::string BinDir();
std::string PgBinDir();

}  // namespace stolon::testing
