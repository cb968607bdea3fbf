// Postmaster liveness that a stale lock file cannot fool.
//
// PostgreSQL (and pg_ctl) judge a postmaster alive when kill(pid, 0) succeeds for the pid in
// PGDATA/postmaster.pid. A postmaster killed with SIGKILL whose parent does not reap it (a
// container's PID 1, a supervisor) stays a zombie, which answers kill(pid, 0); after a reboot or
// in a container the pid may belong to another program, or to a postgres of another data
// directory. Then pg_ctl says "running", pg_ctl stop waits for ever, and postgres itself refuses
// to start ("lock file already exists"). Here the pid file is read and the process behind it is
// inspected in /proc (state, program name, working directory: a postmaster and its backends
// work from their data directory) before it counts as the postmaster of our data directory.
//
// The decision (ClassifyPostmaster) is a pure function; the I/O around it reads the pid file and
// /proc. Thread-compatible: plain functions, no state.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace stolon::postgresql {

// What a postmaster.pid (or a socket lock file, which has the same first lines) says.
struct LockFile {
  pid_t pid = 0;
  std::string data_dir;  // line 2: the data directory as given to postgres (-D)
  // Line 7 of postmaster.pid: the System V shared memory key and id; nullopt when absent.
  std::optional<int> shm_id;
};

// Parses a lock file's content. kInvalidArgument when the first line is no positive pid.
absl::StatusOr<LockFile> ParseLockFile(const std::string& content);

// What /proc says about a pid.
struct ProcessInfo {
  bool exists = false;  // /proc/<pid> exists
  char state = '?';     // the state letter of /proc/<pid>/stat (R, S, D, T, t, Z, X, ...)
  pid_t ppid = 0;
  std::string comm;  // /proc/<pid>/comm (the program name)
  // readlink of /proc/<pid>/cwd; nullopt when it cannot be read (another user's process, or a
  // zombie, whose cwd is gone).
  std::optional<std::string> cwd;
};

// Reads /proc/<pid>. Never fails: a missing process has exists = false.
ProcessInfo InspectProcess(pid_t pid);

enum class PostmasterLiveness {
  kNoPidFile,     // no postmaster.pid: stopped (cleanly, or never started)
  kAlive,         // a live postgres working from our data directory
  kGone,          // the pid names no process: stale pid file
  kZombie,        // the pid is a dead process not yet reaped by its parent: stale pid file
  kOtherProgram,  // the pid was reused by a program that is not postgres (or not ours to read)
  kOtherDataDir,  // the pid is a postgres of another data directory
};

// The name used in logs ("alive", "zombie", ...).
const char* LivenessName(PostmasterLiveness l);
// Whether the pid file, if any, may be removed: it names no live postmaster of ours.
inline bool IsStale(PostmasterLiveness l) {
  return l != PostmasterLiveness::kNoPidFile && l != PostmasterLiveness::kAlive;
}

// The decision. `data_dir` is the canonical path of our data directory; `proc` describes
// `pid_file->pid` (ignored without a pid file). A stopped (SIGSTOP) postmaster is alive.
PostmasterLiveness ClassifyPostmaster(const std::optional<LockFile>& pid_file,
                                      const ProcessInfo& proc, const std::string& data_dir);

// What the keeper found behind PGDATA/postmaster.pid.
struct PostmasterStatus {
  PostmasterLiveness liveness = PostmasterLiveness::kNoPidFile;
  std::optional<LockFile> pid_file;
  ProcessInfo process;
  // "postmaster.pid names pid 123, a zombie (dead, not reaped by its parent 1)", for logs.
  std::string Describe() const;
};

// Reads PGDATA/postmaster.pid and the process it names. kInternal only when the file exists but
// cannot be read; an unparsable file counts as stale (kGone, without pid).
absl::StatusOr<PostmasterStatus> ReadPostmasterStatus(const std::string& data_dir);

// The pids of live (not zombie) postgres processes working from `data_dir` (canonical), other
// than `except`: a postmaster and its backends, or backends left behind by a killed postmaster.
std::vector<pid_t> DataDirProcesses(const std::string& data_dir, pid_t except = 0);

// Number of processes attached to the System V shared memory segment `shm_id`; 0 when the
// segment no longer exists. PostgreSQL refuses to start on a data directory whose old segment is
// still attached; so do we before removing a stale pid file.
absl::StatusOr<uint64_t> ShmAttached(int shm_id);

// How Stop escalates, each step sending `signal` to the postmaster (to its process group when
// `group`) and then waiting up to `wait` for it to exit.
struct StopStep {
  int signal = 0;
  bool group = false;
  std::chrono::milliseconds wait{0};
  const char* mode = "";  // "smart", "fast", "immediate", "kill" (for logs)
};
struct StopTimeouts {
  std::chrono::milliseconds clean{60000};      // smart or fast shutdown
  std::chrono::milliseconds immediate{10000};  // SIGQUIT: no checkpoint, crash recovery next
  std::chrono::milliseconds kill{5000};        // SIGKILL of the postmaster's process group
};
// smart (SIGTERM) or fast (SIGINT) for `timeouts.clean`, then immediate (SIGQUIT), then SIGKILL
// of the group: the escalation PostgreSQL's documentation allows ("Server Shutdown").
std::vector<StopStep> StopPlan(bool fast, const StopTimeouts& timeouts);

}  // namespace stolon::postgresql
