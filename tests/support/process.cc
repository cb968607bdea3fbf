#include "support/process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace stolon::testing {
namespace fs = std::filesystem;

namespace {

// The kernel's range of ports for outgoing connections (ip_local_port_range). A port picked
// from it can be taken by any client socket (pg_basebackup, etcd clients, pgbench) between
// the pick and the server's bind, so test servers get ports below it.
std::pair<int, int> EphemeralRange() {
  std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
  int lo = 32768, hi = 60999;
  if (!(in >> lo >> hi)) return {32768, 60999};
  return {lo, hi};
}

bool CanBindLoopback(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// Test processes run in parallel (ctest -j): each port handed out is reserved for the life of
// this process by binding an abstract unix socket named after it. The kernel drops the name
// when the process exits, however it exits, so nothing is left behind.
bool ReserveAcrossProcesses(int port) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket(AF_UNIX) failed");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string name = "stolon-test-port-" + std::to_string(port);
  std::memcpy(addr.sun_path + 1, name.data(), name.size());  // sun_path[0] = 0: abstract
  const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    ::close(fd);
    return false;
  }
  return true;  // fd stays open on purpose: it is the reservation
}

}  // namespace

int PickFreePort() {
  static std::mutex mu;
  static std::set<int> given;
  static std::mt19937 rng(static_cast<unsigned>(::getpid()) ^
                          static_cast<unsigned>(std::random_device{}()));
  std::lock_guard l(mu);
  const auto [eph_lo, eph_hi] = EphemeralRange();
  // Below the ephemeral range when it leaves room, above it otherwise.
  int lo = 10000, hi = eph_lo - 1;
  if (hi - lo < 2000) {
    lo = eph_hi + 1;
    hi = 65535;
  }
  if (hi - lo < 2000) throw std::runtime_error("no port range outside ip_local_port_range");
  std::uniform_int_distribution<int> pick(lo, hi);
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const int port = pick(rng);
    // Stay clear of well-known defaults and of ports we already handed out.
    if (port == 5432 || port == 2379 || port == 2380 || given.count(port)) continue;
    if (!CanBindLoopback(port) || !ReserveAcrossProcesses(port)) continue;
    given.insert(port);
    return port;
  }
  throw std::runtime_error("could not find a free loopback port");
}

std::optional<OsUser> UnprivilegedUser() {
  if (::geteuid() != 0) return std::nullopt;
  const char* name = std::getenv("STOLON_PG_USER");
  std::string n = name && *name ? name : "stolon";
  passwd* pw = ::getpwnam(n.c_str());
  if (!pw) {
    throw std::runtime_error("running as root but user '" + n +
                             "' does not exist: run scripts/setup.sh first");
  }
  return OsUser{pw->pw_uid, pw->pw_gid, n};
}

static void ChownToUnprivileged(const std::string& path) {
  if (auto u = UnprivilegedUser()) {
    if (::chown(path.c_str(), u->uid, u->gid) != 0) {
      throw std::runtime_error("chown " + path + " failed");
    }
  }
}

TempDir::TempDir(const std::string& tag) {
  std::string tmpl = (fs::temp_directory_path() / (tag + "-XXXXXX")).string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
  ::chmod(path_.c_str(), 0755);
  ChownToUnprivileged(path_);
}

TempDir::~TempDir() {
  if (std::getenv("STOLON_KEEP_TEST_DIRS")) return;
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string TempDir::Sub(const std::string& rel) const {
  fs::path p = fs::path(path_) / rel;
  fs::path cur = path_;
  for (const auto& part : fs::path(rel)) {
    cur /= part;
    if (!fs::exists(cur)) {
      fs::create_directory(cur);
      ChownToUnprivileged(cur.string());
    }
  }
  return p.string();
}

// ---- Fatal-signal cleanup. The handler only reads these fixed tables and calls
// async-signal-safe functions (open, read, close, kill, signal, raise).
namespace {
constexpr int kMaxChildren = 256;
constexpr int kMaxPidFiles = 64;
std::atomic<pid_t> g_children[kMaxChildren];
char g_pid_files[kMaxPidFiles][512];
std::atomic<int> g_pid_file_count{0};
std::mutex g_pid_files_mu;

void TrackChild(pid_t pid) {
  for (auto& slot : g_children) {
    pid_t zero = 0;
    if (slot.compare_exchange_strong(zero, pid)) return;
  }
}

void UntrackChild(pid_t pid) {
  for (auto& slot : g_children) {
    pid_t p = pid;
    if (slot.compare_exchange_strong(p, 0)) return;
  }
}

void KillOnFatalSignal(int sig) {
  for (int i = 0; i < g_pid_file_count.load(); ++i) {
    int fd = ::open(g_pid_files[i], O_RDONLY);
    if (fd < 0) continue;
    char buf[32];
    ssize_t n = ::read(fd, buf, sizeof buf - 1);
    ::close(fd);
    pid_t pid = 0;
    for (ssize_t j = 0; j < n && buf[j] >= '0' && buf[j] <= '9'; ++j)
      pid = pid * 10 + (buf[j] - '0');
    if (pid > 1) {
      ::kill(-pid, SIGCONT);
      ::kill(-pid, SIGKILL);
    }
  }
  for (auto& slot : g_children) {
    pid_t pid = slot.load();
    if (pid > 0) {
      ::kill(pid, SIGCONT);
      ::kill(pid, SIGKILL);
    }
  }
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}
}  // namespace

void KillChildrenOnFatalSignal() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (int sig : {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTERM}) {
      struct sigaction sa {};
      sa.sa_handler = KillOnFatalSignal;
      sigemptyset(&sa.sa_mask);
      sa.sa_flags = SA_RESETHAND;
      ::sigaction(sig, &sa, nullptr);
    }
  });
}

void RegisterPostmasterPidFile(const std::string& path) {
  std::lock_guard l(g_pid_files_mu);
  const int n = g_pid_file_count.load();
  if (n >= kMaxPidFiles || path.size() >= sizeof g_pid_files[0]) return;
  std::snprintf(g_pid_files[n], sizeof g_pid_files[n], "%s", path.c_str());
  g_pid_file_count.store(n + 1);
}

Process::Process(ProcessOptions opts) : opts_(std::move(opts)) {}

Process::~Process() {
  if (pid_ > 0 && !status_) Stop(SIGKILL, std::chrono::seconds(10));
}

Process::Process(Process&& o) noexcept
    : opts_(std::move(o.opts_)), pid_(o.pid_), status_(o.status_) {
  o.pid_ = -1;
}

Process& Process::operator=(Process&& o) noexcept {
  if (this != &o) {
    if (pid_ > 0 && !status_) Stop(SIGKILL, std::chrono::seconds(10));
    opts_ = std::move(o.opts_);
    pid_ = o.pid_;
    status_ = o.status_;
    o.pid_ = -1;
  }
  return *this;
}

void Process::Start() {
  if (opts_.argv.empty()) throw std::runtime_error("Process: empty argv");
  std::optional<OsUser> user;
  if (opts_.as_unprivileged_user) user = UnprivilegedUser();
  int logfd = -1;
  if (!opts_.log_file.empty()) {
    logfd = ::open(opts_.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (logfd < 0) throw std::runtime_error("cannot open log file " + opts_.log_file);
    if (user) (void)::fchown(logfd, user->uid, user->gid);
  }
  // Build argv/envp before fork: only async-signal-safe calls in the child.
  std::vector<char*> argv;
  for (auto& a : opts_.argv) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::map<std::string, std::string> envmap;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    auto eq = kv.find('=');
    if (eq != std::string::npos) envmap[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (auto& [k, v] : opts_.env) envmap[k] = v;
  if (user) {
    envmap["USER"] = user->name;
    envmap["LOGNAME"] = user->name;
    envmap["HOME"] = "/tmp";
  }
  std::vector<std::string> envstore;
  for (auto& [k, v] : envmap) envstore.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : envstore) envp.push_back(e.data());
  envp.push_back(nullptr);

  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::setpgid(0, 0);  // own process group: signals to the test runner do not reach it
    if (logfd >= 0) {
      ::dup2(logfd, 1);
      ::dup2(logfd, 2);
    }
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    if (!opts_.cwd.empty() && ::chdir(opts_.cwd.c_str()) != 0) _exit(126);
    if (user) {
      if (::setgroups(0, nullptr) != 0 || ::setgid(user->gid) != 0 || ::setuid(user->uid) != 0) {
        _exit(126);
      }
      // A working directory the user cannot enter (a 0700 `mktemp -d` checkout) makes
      // PostgreSQL refuse to start: fall back to "/".
      if (!opts_.keep_closed_cwd && ::access(".", R_OK | X_OK) != 0 && ::chdir("/") != 0) {
        _exit(126);
      }
    }
    ::execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  if (logfd >= 0) ::close(logfd);
  pid_ = pid;
  status_.reset();
  TrackChild(pid);
}

bool Process::Running() {
  if (pid_ <= 0 || status_) return false;
  int st = 0;
  pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    status_ = st;
    UntrackChild(pid_);
    return false;
  }
  return true;
}

void Process::Signal(int sig) {
  if (Running()) ::kill(pid_, sig);
}

std::optional<int> Process::Wait(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (Running()) {
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return status_;
}

int Process::Stop(int sig, std::chrono::milliseconds timeout) {
  if (!Running()) return status_.value_or(-1);
  ::kill(pid_, SIGCONT);
  ::kill(pid_, sig);
  if (auto st = Wait(timeout)) return *st;
  ::kill(pid_, SIGKILL);
  int st = 0;
  ::waitpid(pid_, &st, 0);
  status_ = st;
  UntrackChild(pid_);
  return st;
}

std::string Process::Log() const {
  if (opts_.log_file.empty()) return "";
  std::ifstream f(opts_.log_file);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

bool WaitFor(const std::function<bool()>& pred, std::chrono::milliseconds timeout,
             std::chrono::milliseconds every) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(every);
  }
}

int RunCommand(const std::vector<std::string>& argv, std::string* output,
               std::chrono::milliseconds timeout, bool as_unprivileged_user,
               const std::map<std::string, std::string>& env) {
  char tmpl[] = "/tmp/stolon-cmd-XXXXXX";
  int fd = ::mkstemp(tmpl);
  if (fd < 0) throw std::runtime_error("mkstemp failed");
  ::close(fd);
  std::string log = tmpl;
  int rc;
  {
    Process p(ProcessOptions{argv, env, log, as_unprivileged_user, ""});
    p.Start();
    auto st = p.Wait(timeout);
    if (!st) {
      p.Kill();
      rc = -1;
    } else {
      rc = WIFEXITED(*st) ? WEXITSTATUS(*st) : -1;
    }
    if (output) *output = p.Log();
  }
  ::unlink(log.c_str());
  return rc;
}

std::string BinDir() {
  const char* d = std::getenv("STOLON_BIN_DIR");
  return d ? d : "./bin";
}

std::string PgBinDir() {
  const char* d = std::getenv("STOLON_PG_BIN_DIR");
  return d ? d : "/usr/lib/postgresql/15/bin";
}

}  // namespace stolon::testing
