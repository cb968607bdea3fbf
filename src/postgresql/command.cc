#include "postgresql/command.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <thread>

#include "common/status.h"
#include "fmt/format.h"

extern char** environ;

namespace stolon::postgresql {

namespace {
constexpr const char* kExecFailed = "exec failed";
}  // namespace

std::string CommandResult::Tail(size_t n) const {
  std::deque<std::string> lines;
  size_t start = 0;
  while (start < output.size()) {
    size_t end = output.find('\n', start);
    if (end == std::string::npos) end = output.size();
    std::string line = output.substr(start, end - start);
    if (!line.empty()) {
      lines.push_back(std::move(line));
      if (lines.size() > n) lines.pop_front();
    }
    start = end + 1;
  }
  std::string out;
  for (const auto& l : lines) {
    if (!out.empty()) out += "\n";
    out += l;
  }
  return out;
}

std::vector<std::string> BuildEnv(const std::map<std::string, std::string>& overrides) {
  std::map<std::string, std::string> m;
  for (char** e = environ; e && *e; ++e) {
    std::string kv = *e;
    auto eq = kv.find('=');
    if (eq != std::string::npos) m[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : overrides) m[k] = v;
  std::vector<std::string> out;
  for (const auto& [k, v] : m) out.push_back(k + "=" + v);
  return out;
}

void CloseFromFd3() {
#ifdef SYS_close_range
  if (::syscall(SYS_close_range, 3U, ~0U, 0U) == 0) return;
#endif
  long max = ::sysconf(_SC_OPEN_MAX);
  for (long fd = 3; fd < (max > 0 ? max : 1024); ++fd) ::close(static_cast<int>(fd));
}

absl::StatusOr<SpawnedChild> SpawnChild(const std::vector<std::string>& argv,
                                        const std::map<std::string, std::string>& env,
                                        ChildGroup group) {
  if (argv.empty()) return absl::InvalidArgumentError("SpawnChild: empty argv");
  // Everything the child needs is prepared before fork: only async-signal-safe calls after it.
  std::vector<std::string> args = argv;
  std::vector<char*> cargv;
  for (auto& a : args) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  std::vector<std::string> envs = BuildEnv(env);
  std::vector<char*> cenv;
  for (auto& e : envs) cenv.push_back(e.data());
  cenv.push_back(nullptr);
  const std::string exec_failed = fmt::format("{}: {}\n", kExecFailed, argv[0]);
  // The daemons block SIGINT/SIGTERM in every thread (StopRequest); a child must not inherit
  // that, or postgres and pg_ctl would ignore their stop signals.
  sigset_t unblocked;
  sigemptyset(&unblocked);

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return absl::InternalError(fmt::format("pipe: {}", std::strerror(errno)));
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return absl::InternalError(fmt::format("fork: {}", std::strerror(errno)));
  }
  if (pid == 0) {
    ::sigprocmask(SIG_SETMASK, &unblocked, nullptr);
    if (group == ChildGroup::kNewSession) {
      ::setsid();
    } else {
      ::setpgid(0, 0);
    }
    ::dup2(fds[1], 1);
    ::dup2(fds[1], 2);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    CloseFromFd3();
    ::execvpe(cargv[0], cargv.data(), cenv.data());
    (void)!::write(2, exec_failed.data(), exec_failed.size());
    _exit(127);
  }
  ::close(fds[1]);
  return SpawnedChild{pid, fds[0]};
}

absl::StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                         const std::map<std::string, std::string>& env,
                                         std::chrono::milliseconds timeout,
                                         const std::function<void(const std::string&)>& on_line) {
  if (argv.empty()) return absl::InvalidArgumentError("RunCommand: empty argv");
  ASSIGN_OR_RETURN(const SpawnedChild child, SpawnChild(argv, env, ChildGroup::kNewProcessGroup));
  const pid_t pid = child.pid;
  const int out = child.output_fd;
  CommandResult res;
  std::string partial;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[8192];
  while (true) {
    int wait_ms = 1000;
    if (timeout.count() > 0) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        res.timed_out = true;
        ::kill(-pid, SIGKILL);
        ::kill(pid, SIGKILL);
        break;
      }
      wait_ms = static_cast<int>(std::min<int64_t>(left.count(), 1000));
    }
    pollfd p{out, POLLIN, 0};
    int r = ::poll(&p, 1, wait_ms);
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) continue;
    ssize_t n = ::read(out, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    res.output.append(buf, static_cast<size_t>(n));
    if (res.output.size() > 256 * 1024) res.output.erase(0, res.output.size() - 256 * 1024);
    if (on_line) {
      partial.append(buf, static_cast<size_t>(n));
      // Progress reports (pg_basebackup -P) end with '\r': treat it as a line end too.
      size_t nl;
      while ((nl = partial.find_first_of("\r\n")) != std::string::npos) {
        if (nl > 0) on_line(partial.substr(0, nl));
        partial.erase(0, nl + 1);
      }
    }
  }
  if (on_line && !partial.empty()) on_line(partial);
  ::close(out);
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  res.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  res.term_signal = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
  if (res.exit_code == 127 && res.output.find(kExecFailed) != std::string::npos) {
    return absl::NotFoundError(fmt::format("cannot execute {}", argv[0]));
  }
  return res;
}

}  // namespace stolon::postgresql
