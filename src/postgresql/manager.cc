#include "postgresql/manager.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "common/files.h"
#include "common/log.h"
#include "common/status.h"
#include "fmt/format.h"
#include "postgresql/command.h"
#include "postgresql/postmaster.h"
#include "postgresql/queries.h"
#include "spdlog/spdlog.h"

namespace stolon::postgresql {
namespace fs = std::filesystem;
using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

namespace {

constexpr const char* kTempConf = "stolon-temp-postgresql.conf";
constexpr milliseconds kStartTimeout{60000};
constexpr milliseconds kPgCtlTimeout{120000};

// A 0600 temp file holding `content`, removed on destruction.
class TempSecretFile {
 public:
  static absl::StatusOr<std::unique_ptr<TempSecretFile>> Create(const std::string& tag,
                                                                const std::string& content) {
    std::string tmpl = (fs::temp_directory_path() / (tag + "-XXXXXX")).string();
    int fd = ::mkstemp(tmpl.data());
    if (fd < 0) return absl::InternalError(fmt::format("mkstemp: {}", std::strerror(errno)));
    ::fchmod(fd, 0600);
    auto f = std::unique_ptr<TempSecretFile>(new TempSecretFile(tmpl));
    bool ok = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size());
    ::close(fd);
    if (!ok) return absl::InternalError(fmt::format("cannot write {}", tmpl));
    return f;
  }
  ~TempSecretFile() { ::unlink(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  explicit TempSecretFile(std::string p) : path_(std::move(p)) {}
  std::string path_;
};

// One pgpass line for host:port with any database; ':' and '\' escaped.
std::string PgpassLine(const ConnParams& p) {
  auto esc = [](const std::string& s) {
    std::string o;
    for (char c : s) {
      if (c == ':' || c == '\\') o += '\\';
      o += c;
    }
    return o;
  };
  auto get = [&](const char* k) {
    auto it = p.find(k);
    return it == p.end() ? std::string("*") : esc(it->second);
  };
  auto pw = p.find("password");
  return fmt::format("{}:{}:*:{}:{}\n", get("host"), get("port"), get("user"),
                     pw == p.end() ? "" : esc(pw->second));
}

bool Exists(const std::string& p) {
  std::error_code ec;
  return fs::exists(fs::symlink_status(p, ec));
}

}  // namespace

// Postgres' output: forwarded to the log destination by a detached reader thread that keeps the
// last lines for error messages. Shared so that the thread can outlive the Manager.
struct Manager::OutputTail {
  std::mutex mu;
  std::deque<std::string> lines;
  std::string Tail() {
    std::lock_guard l(mu);
    std::string out;
    for (const auto& s : lines) out += s + "\n";
    return out;
  }
  // Starts the detached thread that copies `in` (postgres' output) to `out` (the log
  // destination), keeping the last 30 lines; it closes both descriptors when postgres exits.
  static std::shared_ptr<OutputTail> Pump(int in, int out) {
    auto tail = std::make_shared<OutputTail>();
    std::thread([tail, in, out] {
      char buf[4096];
      std::string partial;
      while (true) {
        ssize_t n = ::read(in, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        (void)!::write(out, buf, static_cast<size_t>(n));
        partial.append(buf, static_cast<size_t>(n));
        size_t nl;
        std::lock_guard l(tail->mu);
        while ((nl = partial.find('\n')) != std::string::npos) {
          tail->lines.push_back(partial.substr(0, nl));
          if (tail->lines.size() > 30) tail->lines.pop_front();
          partial.erase(0, nl + 1);
        }
      }
      ::close(in);
      ::close(out);
    }).detach();
    return tail;
  }
};

Manager::Manager(ManagerConfig config) : config_(std::move(config)) {}

Manager::~Manager() {
  // The postmaster is left running (the keeper stops it explicitly); only reap it if it is gone.
  ReapChild(milliseconds(0));
}

std::string Manager::Bin(const std::string& name) const {
  return config_.bin_dir.empty() ? name : (fs::path(config_.bin_dir) / name).string();
}

std::string Manager::Path(const std::string& rel) const {
  return (fs::path(config_.data_dir) / rel).string();
}

absl::StatusOr<PGVersion> Manager::BinaryVersion() {
  if (binary_version_) return *binary_version_;
  ASSIGN_OR_RETURN(auto r, RunCommand({Bin("postgres"), "-V"}, {}, milliseconds(30000)));
  if (r.exit_code != 0) {
    return absl::InternalError(fmt::format("postgres -V failed: {}", r.Tail()));
  }
  ASSIGN_OR_RETURN(auto v, ParseBinaryVersion(r.output));
  binary_version_ = v;
  return v;
}

absl::StatusOr<PGVersion> Manager::DataVersion() const {
  ASSIGN_OR_RETURN(auto s, ReadFile(Path("PG_VERSION")));
  return ParseVersion(s);
}

absl::StatusOr<PGVersion> Manager::ConfVersion() {
  auto dv = DataVersion();
  if (dv.ok()) return dv;
  return BinaryVersion();
}

absl::StatusOr<bool> Manager::IsInitialized() const {
  std::error_code ec;
  if (!fs::exists(config_.data_dir, ec)) return false;
  std::vector<std::string> want = {
      "PG_VERSION",  "base",        "global",      "pg_dynshmem",      "pg_logical", "pg_multixact",
      "pg_notify",   "pg_replslot", "pg_serial",   "pg_snapshots",     "pg_stat",    "pg_stat_tmp",
      "pg_subtrans", "pg_tblspc",   "pg_twophase", "global/pg_control"};
  auto v = DataVersion();
  if (!v.ok()) return false;
  if (v->AtLeast(10)) {
    want.insert(want.end(), {"pg_xact", "pg_wal"});
  } else {
    want.insert(want.end(), {"pg_clog", "pg_xlog"});
  }
  for (const auto& f : want) {
    if (!fs::exists(Path(f), ec)) return false;
  }
  return true;
}

absl::StatusOr<std::string> Manager::GetSystemIdFromControlFile() const {
  std::ifstream f(Path("global/pg_control"), std::ios::binary);
  unsigned char b[8];
  if (!f || !f.read(reinterpret_cast<char*>(b), 8)) {
    return absl::NotFoundError(fmt::format("cannot read {}", Path("global/pg_control")));
  }
  uint64_t id = 0;
  for (int i = 7; i >= 0; --i) id = id << 8 | b[i];
  return std::to_string(id);
}

absl::StatusOr<std::string> Manager::LocalRole() {
  ASSIGN_OR_RETURN(bool init, IsInitialized());
  if (!init) return std::string(cluster::kRoleUndefined);
  ASSIGN_OR_RETURN(auto v, DataVersion());
  bool standby = v.AtLeast(12) ? Exists(Path("standby.signal")) : Exists(Path("recovery.conf"));
  return std::string(standby ? cluster::kRoleStandby : cluster::kRoleMaster);
}

absl::Status Manager::Init(const InitConfig& init) {
  std::vector<std::string> argv = {Bin("initdb"), "-D", config_.data_dir, "-U", config_.su_user};
  std::unique_ptr<TempSecretFile> pwfile;
  if (config_.su_auth_method != kAuthTrust) {
    ASSIGN_OR_RETURN(pwfile, TempSecretFile::Create("stolon-pwfile", config_.su_password));
    argv.push_back("--pwfile=" + pwfile->path());
  }
  if (!init.locale.empty()) argv.push_back("--locale=" + init.locale);
  if (!init.encoding.empty()) argv.push_back("--encoding=" + init.encoding);
  if (init.data_checksums) argv.push_back("--data-checksums");
  spdlog::info("running initdb{}", LogFields({{"dataDir", config_.data_dir}}));
  auto r = RunCommand(argv, {}, milliseconds(300000),
                      [](const std::string& l) { spdlog::debug("initdb: {}", l); });
  absl::Status err;
  if (!r.ok()) {
    err = r.status();
  } else if (r->exit_code != 0) {
    err = absl::InternalError(fmt::format("initdb failed (exit {}): {}", r->exit_code, r->Tail()));
  }
  if (!err.ok()) {
    std::error_code ec;
    fs::remove_all(config_.data_dir, ec);
    return err;
  }
  return absl::OkStatus();
}

absl::Status Manager::WriteRecoveryFiles(PGVersion v) {
  const auto& ro = recovery_options_;
  if (v.AtLeast(12)) {
    const char* signal = ro.mode == RecoveryMode::kStandby    ? "standby.signal"
                         : ro.mode == RecoveryMode::kRecovery ? "recovery.signal"
                                                              : nullptr;
    if (signal) RETURN_IF_ERROR(AtomicWriteFile(Path(signal), ""));
    return absl::OkStatus();
  }
  if (ro.mode != RecoveryMode::kNone) {
    RETURN_IF_ERROR(AtomicWriteFile(Path("recovery.conf"), RecoveryConfContent(ro)));
  }
  return absl::OkStatus();
}

absl::Status Manager::WriteConfs(bool use_temp_merged_conf) {
  ASSIGN_OR_RETURN(auto v, ConfVersion());
  if (use_temp_merged_conf) {
    PGParameters p = parameters_;
    if (v.AtLeast(12) && recovery_options_.mode != RecoveryMode::kNone) {
      for (const auto& [k, val] : recovery_options_.params) p[k] = val;
    }
    RETURN_IF_ERROR(AtomicWriteFile(Path(kTempConf),
                                    TempMergedConfContent(p, Exists(Path("postgresql.conf")))));
  } else {
    RETURN_IF_ERROR(AtomicWriteFile(Path("postgresql.conf"),
                                    PostgresqlConfContent(parameters_, recovery_options_, v)));
  }
  RETURN_IF_ERROR(WriteRecoveryFiles(v));
  return AtomicWriteFile(Path("pg_hba.conf"), HBAContent(hba_));
}

absl::Status Manager::Start() {
  RETURN_IF_ERROR(WriteConfs(false));
  return StartInternal({});
}

absl::Status Manager::StartTmpMerged() {
  RETURN_IF_ERROR(WriteConfs(true));
  return StartInternal({"-c", "config_file=" + Path(kTempConf)});
}

absl::Status Manager::StartInternal(const std::vector<std::string>& extra_args) {
  spdlog::info("starting database");
  // ALTER SYSTEM must not override what the keeper generates: make postgresql.auto.conf a
  // symlink to /dev/null so writes fail and reads are empty.
  std::string auto_conf = Path("postgresql.auto.conf");
  if (::unlink(auto_conf.c_str()) != 0 && errno != ENOENT) {
    return absl::InternalError(
        fmt::format("cannot remove {}: {}", auto_conf, std::strerror(errno)));
  }
  if (::symlink("/dev/null", auto_conf.c_str()) != 0) {
    return absl::InternalError(
        fmt::format("cannot symlink {}: {}", auto_conf, std::strerror(errno)));
  }
  RETURN_IF_ERROR(ClearStaleLockFiles());

  std::vector<std::string> args = {Bin("postgres"), "-D", config_.data_dir, "-c",
                                   "unix_socket_directories=" + config_.socket_dir};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  int out_fd = config_.log_file.empty() ? ::fcntl(2, F_DUPFD_CLOEXEC, 3)
                                        : ::open(config_.log_file.c_str(),
                                                 O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (out_fd < 0) {
    return absl::InternalError(
        fmt::format("cannot open postgres log destination: {}", std::strerror(errno)));
  }
  auto child = SpawnChild(args, {}, ChildGroup::kNewSession);
  if (!child.ok()) {
    ::close(out_fd);
    return child.status();
  }
  const pid_t pid = child->pid;
  child_pid_ = pid;
  output_ = OutputTail::Pump(child->output_fd, out_fd);
  return WaitUntilStarted(pid);
}

absl::Status Manager::WaitUntilStarted(pid_t pid) {
  // Started means postmaster.pid names our child: until then the data dir may still belong to
  // another postmaster, or ours may fail on a bad parameter.
  auto deadline = SteadyClock::now() + kStartTimeout;
  std::string pidfile = Path("postmaster.pid");
  while (true) {
    int st = 0;
    if (::waitpid(pid, &st, WNOHANG) == pid) {
      child_pid_ = -1;
      // Give the reader thread a moment to collect the last lines.
      std::this_thread::sleep_for(milliseconds(100));
      return absl::InternalError(fmt::format("postgres exited before starting (status {}): {}",
                                             WIFEXITED(st) ? WEXITSTATUS(st) : -1,
                                             output_->Tail()));
    }
    if (auto c = ReadFile(pidfile); c.ok()) {
      std::string first = c->substr(0, c->find('\n'));
      if (first == std::to_string(pid)) break;
    }
    if (SteadyClock::now() >= deadline) {
      ::kill(pid, SIGQUIT);
      ReapChild(milliseconds(10000));
      return absl::DeadlineExceededError(
          fmt::format("postgres did not write its pid file within {}s: {}",
                      kStartTimeout.count() / 1000, output_->Tail()));
    }
    std::this_thread::sleep_for(milliseconds(50));
  }
  cur_parameters_ = parameters_;
  cur_recovery_options_ = recovery_options_;
  cur_hba_ = hba_;
  return absl::OkStatus();
}

void Manager::ReapChild(milliseconds wait) {
  if (child_pid_ <= 0) return;
  auto deadline = SteadyClock::now() + wait;
  while (true) {
    int st = 0;
    pid_t r = ::waitpid(child_pid_, &st, WNOHANG);
    if (r == child_pid_ || (r < 0 && errno == ECHILD)) {
      child_pid_ = -1;
      return;
    }
    if (SteadyClock::now() >= deadline) return;
    std::this_thread::sleep_for(milliseconds(20));
  }
}

absl::Status Manager::Stop(bool fast) {
  ASSIGN_OR_RETURN(PostmasterStatus st, PostmasterNow());
  if (st.liveness != PostmasterLiveness::kAlive) {
    spdlog::info("database already stopped{}", LogFields({{"found", st.Describe()}}));
    return absl::OkStatus();
  }
  const pid_t pid = st.pid_file->pid;
  spdlog::info("stopping database{}",
               LogFields({{"pid", std::to_string(pid)}, {"mode", fast ? "fast" : "smart"}}));
  for (const StopStep& step : StopPlan(fast, config_.stop_timeouts)) {
    if (step.signal == SIGKILL) {
      spdlog::warn("database did not stop: killing the postmaster's process group{}",
                   LogFields({{"pid", std::to_string(pid)}}));
    } else if (step.signal == SIGQUIT) {
      spdlog::warn(
          "database did not stop in time: immediate shutdown (crash recovery at the "
          "next start){}",
          LogFields({{"pid", std::to_string(pid)}}));
    }
    if (step.group) ::kill(-pid, step.signal);
    if (::kill(pid, step.signal) != 0 && errno != ESRCH) {
      return absl::InternalError(
          fmt::format("cannot signal the postmaster (pid {}): {}", pid, std::strerror(errno)));
    }
    ASSIGN_OR_RETURN(bool stopped, WaitPostmasterExit(step.wait));
    if (stopped) {
      if (step.signal == SIGKILL) RETURN_IF_ERROR(KillOrphanedBackends(pid));
      spdlog::info("database stopped{}", LogFields({{"mode", step.mode}}));
      return absl::OkStatus();
    }
  }
  return absl::DeadlineExceededError(fmt::format("the postmaster (pid {}) survived SIGKILL for {}s",
                                                 pid, config_.stop_timeouts.kill.count() / 1000));
}

absl::StatusOr<bool> Manager::WaitPostmasterExit(milliseconds wait) {
  const auto deadline = SteadyClock::now() + wait;
  while (true) {
    ASSIGN_OR_RETURN(PostmasterStatus st, PostmasterNow());
    if (st.liveness != PostmasterLiveness::kAlive) return true;
    if (SteadyClock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(50));
  }
}

absl::Status Manager::KillOrphanedBackends(pid_t postmaster) {
  // A postmaster killed by SIGKILL cannot tell its backends; they exit when they notice, but a
  // busy one may keep running (and keep the shared memory attached, which blocks a restart).
  const std::string dir = CanonicalDataDir();
  const auto deadline = SteadyClock::now() + config_.stop_timeouts.kill;
  while (true) {
    std::vector<pid_t> left = DataDirProcesses(dir, postmaster);
    if (left.empty()) return absl::OkStatus();
    if (SteadyClock::now() >= deadline) {
      return absl::DeadlineExceededError(
          fmt::format("{} postgres processes of {} survived SIGKILL (first pid {})", left.size(),
                      dir, left[0]));
    }
    for (pid_t p : left) {
      spdlog::warn("killing a backend left behind by a dead postmaster{}",
                   LogFields({{"pid", std::to_string(p)}}));
      ::kill(p, SIGKILL);
    }
    std::this_thread::sleep_for(milliseconds(50));
  }
}

std::string Manager::CanonicalDataDir() const {
  std::error_code ec;
  fs::path p = fs::weakly_canonical(config_.data_dir, ec);
  return ec ? config_.data_dir : p.string();
}

absl::StatusOr<PostmasterStatus> Manager::PostmasterNow() {
  // A postmaster we started and that exited must be reaped, or it stays a zombie.
  ReapChild(milliseconds(0));
  ASSIGN_OR_RETURN(PostmasterStatus st, ReadPostmasterStatus(config_.data_dir));
  // A zombie whose parent is this process (a postmaster inherited as a subreaper or as PID 1,
  // after the keeper that started it died) is reaped here: nobody else will.
  if (st.liveness == PostmasterLiveness::kZombie && st.process.ppid == ::getpid()) {
    int ws = 0;
    ::waitpid(st.pid_file->pid, &ws, WNOHANG);
  }
  if (IsStale(st.liveness)) {
    std::string seen = st.Describe();
    if (stale_log_.Changed(seen)) {
      spdlog::warn("stale postmaster.pid: the database is not running{}",
                   LogFields({{"found", seen}}));
    }
  }
  return st;
}

absl::Status Manager::ClearStaleLockFiles() {
  ASSIGN_OR_RETURN(PostmasterStatus st, PostmasterNow());
  if (st.liveness == PostmasterLiveness::kAlive) {
    return absl::FailedPreconditionError(fmt::format("cannot start postgres: {}", st.Describe()));
  }
  const pid_t dead = st.pid_file ? st.pid_file->pid : 0;
  RETURN_IF_ERROR(KillOrphanedBackends(dead));
  if (st.pid_file && st.pid_file->shm_id) {
    ASSIGN_OR_RETURN(uint64_t attached, ShmAttached(*st.pid_file->shm_id));
    if (attached > 0) {
      return absl::FailedPreconditionError(fmt::format(
          "cannot start postgres: the shared memory of the previous postmaster (pid {}) is still "
          "attached by {} processes; stop them first",
          dead, attached));
    }
  }
  if (st.pid_file) {
    spdlog::info("removing the stale postmaster.pid: postgres will run crash recovery{}",
                 LogFields({{"found", st.Describe()}}));
    if (::unlink(Path("postmaster.pid").c_str()) != 0 && errno != ENOENT) {
      return absl::InternalError(
          fmt::format("cannot remove {}: {}", Path("postmaster.pid"), std::strerror(errno)));
    }
  }
  // The socket lock file names the postmaster too; postgres refuses to start while its pid
  // answers kill(pid, 0), which a zombie does.
  std::string sock_lock = fmt::format("{}/.s.PGSQL.{}.lock", config_.socket_dir, config_.port);
  if (auto c = ReadFile(sock_lock); c.ok()) {
    auto lf = ParseLockFile(*c);
    ProcessInfo p = lf.ok() ? InspectProcess(lf->pid) : ProcessInfo{};
    bool ours_dead = lf.ok() && lf->pid == dead && dead > 0;
    bool gone = !lf.ok() || !p.exists || p.state == 'Z' || p.state == 'X';
    if (ours_dead || gone) {
      spdlog::info("removing a stale socket lock file{}",
                   LogFields({{"path", sock_lock},
                              {"pid", lf.ok() ? std::to_string(lf->pid) : std::string("?")}}));
      ::unlink(sock_lock.c_str());
    }
  }
  return absl::OkStatus();
}

absl::Status Manager::StopIfStarted(bool fast) {
  ASSIGN_OR_RETURN(bool started, IsStarted());
  if (!started) return absl::OkStatus();
  return Stop(fast);
}

absl::StatusOr<bool> Manager::IsStarted() {
  ASSIGN_OR_RETURN(PostmasterStatus st, PostmasterNow());
  return st.liveness == PostmasterLiveness::kAlive;
}

absl::Status Manager::Reload() {
  spdlog::info("reloading database configuration");
  RETURN_IF_ERROR(WriteConfs(false));
  ASSIGN_OR_RETURN(
      auto r, RunCommand({Bin("pg_ctl"), "reload", "-D", config_.data_dir}, {}, kPgCtlTimeout));
  if (r.exit_code != 0) {
    return absl::InternalError(
        fmt::format("pg_ctl reload failed (exit {}): {}", r.exit_code, r.Tail()));
  }
  cur_parameters_ = parameters_;
  cur_recovery_options_ = recovery_options_;  // callers reload only reloadable recovery changes
  cur_hba_ = hba_;
  return absl::OkStatus();
}

absl::Status Manager::Restart(bool fast) {
  spdlog::info("restarting database");
  RETURN_IF_ERROR(Stop(fast));
  return Start();
}

absl::Status Manager::Promote() {
  spdlog::info("promoting database");
  ASSIGN_OR_RETURN(auto r, RunCommand({Bin("pg_ctl"), "promote", "-w", "-D", config_.data_dir}, {},
                                      kPgCtlTimeout));
  if (r.exit_code != 0) {
    return absl::InternalError(
        fmt::format("pg_ctl promote failed (exit {}): {}", r.exit_code, r.Tail()));
  }
  return absl::OkStatus();
}

absl::Status Manager::WaitReady(milliseconds timeout) {
  auto start = SteadyClock::now();
  absl::Status last;
  while (true) {
    auto c = ConnectLocal();
    if (c.ok()) {
      last = c->Exec("select 1");
      if (last.ok()) return absl::OkStatus();
    } else {
      last = c.status();
    }
    if (timeout.count() > 0 && SteadyClock::now() - start >= timeout) {
      return absl::DeadlineExceededError(
          fmt::format("timeout waiting for db ready: {}", std::string(last.message())));
    }
    std::this_thread::sleep_for(milliseconds(200));
  }
}

absl::Status Manager::WaitRecoveryDone(milliseconds timeout) {
  ASSIGN_OR_RETURN(auto v, ConfVersion());
  auto start = SteadyClock::now();
  while (true) {
    bool done = v.AtLeast(12) ? !Exists(Path("recovery.signal")) : Exists(Path("recovery.done"));
    if (done) return absl::OkStatus();
    if (timeout.count() > 0 && SteadyClock::now() - start >= timeout) {
      return absl::DeadlineExceededError("timeout waiting for db recovery");
    }
    std::this_thread::sleep_for(milliseconds(1000));
  }
}

absl::Status Manager::RemoveAll() {
  ASSIGN_OR_RETURN(bool started, IsStarted());
  if (started) {
    return absl::FailedPreconditionError(
        "cannot remove postgres data dir: the instance is running");
  }
  std::error_code ec;
  fs::remove_all(config_.data_dir, ec);
  if (ec) {
    return absl::InternalError(fmt::format("cannot remove {}: {}", config_.data_dir, ec.message()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Manager::MoveAside() {
  ASSIGN_OR_RETURN(bool started, IsStarted());
  if (started) {
    return absl::FailedPreconditionError(
        "cannot move postgres data dir aside: the instance is running");
  }
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char ts[32];
  std::strftime(ts, sizeof ts, "%Y%m%dT%H%M%SZ", &tm);
  std::string base = config_.data_dir + ".old-" + ts;
  std::string target = base;
  for (int i = 1; Exists(target) && i < 100; ++i) target = fmt::format("{}-{}", base, i);
  if (::rename(config_.data_dir.c_str(), target.c_str()) != 0) {
    return absl::InternalError(
        fmt::format("cannot move {} to {}: {}", config_.data_dir, target, std::strerror(errno)));
  }
  spdlog::info("moved old data dir aside{}", LogFields({{"path", target}}));
  return target;
}

absl::StatusOr<uint64_t> DirSize(const std::string& dir) {
  std::error_code ec;
  uint64_t total = 0;
  fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec);
  if (ec) return absl::NotFoundError(fmt::format("cannot read {}: {}", dir, ec.message()));
  for (auto end = fs::recursive_directory_iterator(); it != end; it.increment(ec)) {
    if (ec) return absl::InternalError(fmt::format("cannot walk {}: {}", dir, ec.message()));
    if (it->is_regular_file(ec) && !it->is_symlink(ec)) total += it->file_size(ec);
  }
  return total;
}

absl::StatusOr<bool> Manager::HasSpaceForDataCopy() const {
  ASSIGN_OR_RETURN(uint64_t used, DirSize(config_.data_dir));
  struct statvfs sv {};
  if (::statvfs(config_.data_dir.c_str(), &sv) != 0) {
    return absl::InternalError(
        fmt::format("statvfs {}: {}", config_.data_dir, std::strerror(errno)));
  }
  uint64_t avail = static_cast<uint64_t>(sv.f_bavail) * sv.f_frsize;
  return avail >= used;
}

absl::Status Manager::SyncFromFollowed(ConnParams params, const std::string& slot,
                                       milliseconds timeout) {
  ASSIGN_OR_RETURN(auto pgpass, TempSecretFile::Create("stolon-pgpass", PgpassLine(params)));
  params.erase("password");
  params["options"] = "-c synchronous_commit=off";
  std::vector<std::string> argv = {
      Bin("pg_basebackup"), "-R", "-v", "-P", "-Xs", "-D", config_.data_dir, "-d",
      ConnString(params)};
  if (!slot.empty()) argv.insert(argv.end(), {"--slot", slot});
  spdlog::info("running pg_basebackup{}",
               LogFields({{"host", params["host"]}, {"port", params["port"]}, {"slot", slot}}));
  ASSIGN_OR_RETURN(auto r,
                   RunCommand(argv, {{"PGPASSFILE", pgpass->path()}}, timeout,
                              [](const std::string& l) { spdlog::info("pg_basebackup: {}", l); }));
  if (r.timed_out) return absl::DeadlineExceededError("pg_basebackup timed out");
  if (r.exit_code != 0) {
    return absl::InternalError(
        fmt::format("sync error: pg_basebackup failed (exit {}): {}", r.exit_code, r.Tail(5)));
  }
  return absl::OkStatus();
}

absl::Status Manager::SyncFromFollowedPGRewind(ConnParams params, milliseconds timeout) {
  // pg_rewind copies files from the source; a symlink to /dev/null here would break it.
  ::unlink(Path("postgresql.auto.conf").c_str());
  if (!params.count("dbname")) params["dbname"] = "postgres";
  // PostgreSQL < 16's pg_rewind takes the source's timeline from its control file, which a just
  // promoted master only updates at its first checkpoint: until then pg_rewind sees both on the
  // same timeline, reports that no rewind is required and leaves the forked WAL in place. A
  // checkpoint on the source first makes its new timeline visible.
  {
    spdlog::info("issuing checkpoint on primary");
    ConnParams cp = params;
    cp["options"] = "-c synchronous_commit=off";
    auto conn = Connection::Connect(cp, config_.request_timeout);
    if (!conn.ok()) {
      return Annotate(conn.status(), "cannot connect to the primary for a checkpoint");
    }
    conn->set_timeout(std::max(config_.request_timeout, milliseconds(60000)));
    RETURN_IF_ERROR(Annotate(conn->Exec("CHECKPOINT"), "checkpoint on the primary failed"));
  }
  ASSIGN_OR_RETURN(auto pgpass, TempSecretFile::Create("stolon-pgpass", PgpassLine(params)));
  params.erase("password");
  params["options"] = "-c synchronous_commit=off";
  std::vector<std::string> argv = {Bin("pg_rewind"), "--debug", "-D", config_.data_dir,
                                   "--source-server=" + ConnString(params)};
  spdlog::info("running pg_rewind{}",
               LogFields({{"host", params["host"]}, {"port", params["port"]}}));
  ASSIGN_OR_RETURN(auto r,
                   RunCommand(argv, {{"PGPASSFILE", pgpass->path()}}, timeout,
                              [](const std::string& l) { spdlog::debug("pg_rewind: {}", l); }));
  if (r.timed_out) return absl::DeadlineExceededError("pg_rewind timed out");
  if (r.exit_code != 0) {
    return absl::InternalError(
        fmt::format("error: pg_rewind failed (exit {}): {}", r.exit_code, r.Tail(5)));
  }
  // Its last line says whether it rewound ("Done!") or found nothing to do.
  spdlog::info("pg_rewind finished{}", LogFields({{"output", r.Tail(1)}}));
  return absl::OkStatus();
}

ConnParams Manager::LocalSuConnParams() const {
  ConnParams p = {{"host", config_.socket_dir},
                  {"port", config_.port},
                  {"dbname", "postgres"},
                  {"user", config_.su_user}};
  if (config_.su_auth_method != kAuthTrust) p["password"] = config_.su_password;
  return p;
}

ConnParams Manager::LocalReplConnParams() const {
  ConnParams p = {
      {"host", config_.socket_dir}, {"port", config_.port}, {"user", config_.repl_user}};
  if (config_.repl_auth_method != kAuthTrust) p["password"] = config_.repl_password;
  return p;
}

absl::StatusOr<Connection> Manager::ConnectLocal() const {
  return Connection::Connect(LocalSuConnParams(), config_.request_timeout);
}

absl::StatusOr<SystemData> Manager::GetSystemData() const {
  ASSIGN_OR_RETURN(auto c,
                   ReplicationConnection::Connect(LocalReplConnParams(), config_.request_timeout));
  return c.IdentifySystem();
}

absl::StatusOr<cluster::TimelinesHistory> Manager::GetTimelinesHistory(uint64_t tli) const {
  ASSIGN_OR_RETURN(auto c,
                   ReplicationConnection::Connect(LocalReplConnParams(), config_.request_timeout));
  return c.TimelineHistory(tli);
}

absl::StatusOr<std::string> Manager::OlderWalFile() const {
  auto v = DataVersion();
  std::string dir = (v.ok() && !v->AtLeast(10)) ? Path("pg_xlog") : Path("pg_wal");
  return OldestWalFile(dir);
}

}  // namespace stolon::postgresql
