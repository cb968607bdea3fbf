#include "postgresql/postmaster.h"

#include <dirent.h>
#include <signal.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "fmt/format.h"

namespace stolon::postgresql {
namespace fs = std::filesystem;

namespace {

std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

std::optional<long> ParseLong(const std::string& s) {
  const char* b = s.c_str();
  while (*b == ' ') ++b;
  char* end = nullptr;
  errno = 0;
  long v = std::strtol(b, &end, 10);
  if (end == b || errno != 0) return std::nullopt;
  return v;
}

std::optional<std::string> ReadSmallFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return std::nullopt;
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

bool IsPostgresComm(const std::string& comm) { return comm == "postgres" || comm == "postmaster"; }

}  // namespace

absl::StatusOr<LockFile> ParseLockFile(const std::string& content) {
  std::vector<std::string> lines = Lines(content);
  std::optional<long> pid = lines.empty() ? std::nullopt : ParseLong(lines[0]);
  if (!pid || *pid <= 0) {
    return absl::InvalidArgumentError(fmt::format("lock file has no pid on its first line: {:?}",
                                                  lines.empty() ? std::string() : lines[0]));
  }
  LockFile lf;
  lf.pid = static_cast<pid_t>(*pid);
  if (lines.size() > 1) lf.data_dir = lines[1];
  // Line 7 holds "<key> <id>" (both padded); a postmaster writes it once shared memory exists.
  if (lines.size() > 6) {
    std::istringstream in(lines[6]);
    long key = 0, id = -1;
    if (in >> key >> id && id >= 0) lf.shm_id = static_cast<int>(id);
  }
  return lf;
}

ProcessInfo InspectProcess(pid_t pid) {
  ProcessInfo p;
  const std::string dir = fmt::format("/proc/{}", pid);
  std::optional<std::string> stat = ReadSmallFile(dir + "/stat");
  if (!stat) return p;
  p.exists = true;
  // "<pid> (<comm>) <state> <ppid> ...": comm may hold spaces and parentheses, the last ')' ends
  // it.
  size_t close = stat->rfind(')');
  if (close != std::string::npos && close + 2 < stat->size()) {
    p.state = (*stat)[close + 2];
    std::optional<long> ppid = ParseLong(stat->substr(close + 3));
    if (ppid) p.ppid = static_cast<pid_t>(*ppid);
  }
  if (auto comm = ReadSmallFile(dir + "/comm")) {
    p.comm = *comm;
    while (!p.comm.empty() && (p.comm.back() == '\n' || p.comm.back() == '\r')) p.comm.pop_back();
  }
  std::error_code ec;
  fs::path cwd = fs::read_symlink(dir + "/cwd", ec);
  if (!ec && !cwd.empty()) p.cwd = cwd.string();
  return p;
}

const char* LivenessName(PostmasterLiveness l) {
  switch (l) {
    case PostmasterLiveness::kNoPidFile:
      return "no pid file";
    case PostmasterLiveness::kAlive:
      return "alive";
    case PostmasterLiveness::kGone:
      return "gone";
    case PostmasterLiveness::kZombie:
      return "zombie";
    case PostmasterLiveness::kOtherProgram:
      return "another program";
    case PostmasterLiveness::kOtherDataDir:
      return "a postgres of another data directory";
  }
  return "unknown";
}

PostmasterLiveness ClassifyPostmaster(const std::optional<LockFile>& pid_file,
                                      const ProcessInfo& proc, const std::string& data_dir) {
  if (!pid_file) return PostmasterLiveness::kNoPidFile;
  if (pid_file->pid <= 0 || !proc.exists) return PostmasterLiveness::kGone;
  if (proc.state == 'Z' || proc.state == 'X') return PostmasterLiveness::kZombie;
  if (!IsPostgresComm(proc.comm)) return PostmasterLiveness::kOtherProgram;
  // A postgres whose working directory we cannot read runs as another user: not our instance
  // (the keeper runs as the owner of PGDATA, and postgres runs as the owner of PGDATA).
  if (!proc.cwd) return PostmasterLiveness::kOtherProgram;
  if (*proc.cwd != data_dir) return PostmasterLiveness::kOtherDataDir;
  return PostmasterLiveness::kAlive;
}

std::string PostmasterStatus::Describe() const {
  if (!pid_file) return "no postmaster.pid";
  std::string what = fmt::format("postmaster.pid names pid {}", pid_file->pid);
  switch (liveness) {
    case PostmasterLiveness::kAlive:
      return what + ", a live postgres of this data directory";
    case PostmasterLiveness::kGone:
      return what + ", which no longer exists";
    case PostmasterLiveness::kZombie:
      return what + fmt::format(", a zombie (dead, not reaped by its parent {})", process.ppid);
    case PostmasterLiveness::kOtherProgram:
      if (process.comm == "postgres" || process.comm == "postmaster") {
        return what +
               ", a postgres whose working directory cannot be read (another user's, or "
               "exiting)";
      }
      return what + fmt::format(", now another program ({:?})", process.comm);
    case PostmasterLiveness::kOtherDataDir:
      return what + fmt::format(", a postgres working from {}", process.cwd.value_or("?"));
    case PostmasterLiveness::kNoPidFile:
      break;
  }
  return what;
}

absl::StatusOr<PostmasterStatus> ReadPostmasterStatus(const std::string& data_dir) {
  PostmasterStatus st;
  const std::string path = (fs::path(data_dir) / "postmaster.pid").string();
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(path, ec))) return st;
  std::optional<std::string> content = ReadSmallFile(path);
  if (!content) {
    // Removed between the two calls: the postmaster just exited.
    if (!fs::exists(fs::symlink_status(path, ec))) return st;
    return absl::InternalError(fmt::format("cannot read {}: {}", path, std::strerror(errno)));
  }
  auto lf = ParseLockFile(*content);
  if (!lf.ok()) {
    // A postmaster writes its pid file in one write; an empty or garbled one is left over from a
    // crash while it was being written (or a full disk).
    st.pid_file = LockFile{};
    st.liveness = PostmasterLiveness::kGone;
    return st;
  }
  st.pid_file = *lf;
  st.process = InspectProcess(lf->pid);
  fs::path canonical = fs::weakly_canonical(data_dir, ec);
  st.liveness = ClassifyPostmaster(st.pid_file, st.process, ec ? data_dir : canonical.string());
  return st;
}

std::vector<pid_t> DataDirProcesses(const std::string& data_dir, pid_t except) {
  std::vector<pid_t> out;
  DIR* d = ::opendir("/proc");
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    if (std::strspn(e->d_name, "0123456789") != std::strlen(e->d_name)) continue;
    std::optional<long> pid = ParseLong(e->d_name);
    if (!pid || *pid <= 0 || *pid == except) continue;
    ProcessInfo p = InspectProcess(static_cast<pid_t>(*pid));
    if (!p.exists || p.state == 'Z' || p.state == 'X' || !IsPostgresComm(p.comm)) continue;
    if (p.cwd && *p.cwd == data_dir) out.push_back(static_cast<pid_t>(*pid));
  }
  ::closedir(d);
  return out;
}

absl::StatusOr<uint64_t> ShmAttached(int shm_id) {
  struct shmid_ds ds {};
  if (::shmctl(shm_id, IPC_STAT, &ds) != 0) {
    if (errno == EINVAL || errno == EIDRM) return 0;
    return absl::InternalError(
        fmt::format("cannot inspect shared memory segment {}: {}", shm_id, std::strerror(errno)));
  }
  return static_cast<uint64_t>(ds.shm_nattch);
}

std::vector<StopStep> StopPlan(bool fast, const StopTimeouts& t) {
  std::vector<StopStep> plan;
  plan.push_back(StopStep{fast ? SIGINT : SIGTERM, false, t.clean, fast ? "fast" : "smart"});
  plan.push_back(StopStep{SIGQUIT, false, t.immediate, "immediate"});
  plan.push_back(StopStep{SIGKILL, true, t.kill, "kill"});
  return plan;
}

}  // namespace stolon::postgresql
