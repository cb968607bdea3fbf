// Manager: drives one local PostgreSQL instance (PGDATA) the way stolon's keeper does: initdb,
// start as a child process (no pg_ctl start), stop/reload/promote through pg_ctl, readiness,
// pg_basebackup / pg_rewind resync, and the generated config files.
//
// The calling process must not be root (PostgreSQL refuses it): the keeper runs as the
// unprivileged OS user owning PGDATA. Not thread-safe: use from one thread (the keeper's state
// machine); the accessors of the "current" (running) settings are plain copies.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cluster/cluster.h"
#include "common/change_log.h"
#include "postgresql/config.h"
#include "postgresql/connection.h"
#include "postgresql/conninfo.h"
#include "postgresql/postmaster.h"
#include "postgresql/util.h"

namespace stolon::postgresql {

struct ManagerConfig {
  std::string bin_dir;   // holds initdb, postgres, pg_ctl, ...; empty: search PATH
  std::string data_dir;  // PGDATA
  std::string listen_address;
  std::string port;
  // Where postgres puts its unix socket (.s.PGSQL.<port>). stolon always uses /tmp; tests running
  // several instances can use /tmp too since the port makes the name unique.
  std::string socket_dir = "/tmp";
  std::string su_user;
  std::string su_password;
  std::string su_auth_method = kAuthMd5;
  std::string repl_user;
  std::string repl_password;
  std::string repl_auth_method = kAuthMd5;
  std::chrono::milliseconds request_timeout{10000};  // connections and queries
  // Where postgres' stdout/stderr go (appended); empty: our stderr.
  std::string log_file;
  // How long Stop waits at each step of its escalation (smart/fast, immediate, SIGKILL).
  StopTimeouts stop_timeouts;
};

// initdb options (cluster spec newConfig).
struct InitConfig {
  std::string locale;
  std::string encoding;
  bool data_checksums = false;
};

// Total size of the regular files under `dir` (like du; symlinks not followed).
absl::StatusOr<uint64_t> DirSize(const std::string& dir);

class Manager {
 public:
  explicit Manager(ManagerConfig config);
  ~Manager();
  Manager(const Manager&) = delete;
  Manager& operator=(const Manager&) = delete;

  const ManagerConfig& config() const { return config_; }

  // --- What will be written at the next Start/Reload, and what the running instance uses.
  void SetParameters(PGParameters p) { parameters_ = std::move(p); }
  const PGParameters& parameters() const { return parameters_; }
  void SetRecoveryOptions(RecoveryOptions ro) { recovery_options_ = std::move(ro); }
  const RecoveryOptions& recovery_options() const { return recovery_options_; }
  void SetHBA(std::vector<std::string> hba) { hba_ = std::move(hba); }
  const std::vector<std::string>& hba() const { return hba_; }
  // Recorded by Start (all three) and Reload (parameters and hba).
  const PGParameters& cur_parameters() const { return cur_parameters_; }
  const RecoveryOptions& cur_recovery_options() const { return cur_recovery_options_; }
  const std::vector<std::string>& cur_hba() const { return cur_hba_; }

  // --- Versions and on-disk state.
  // `postgres -V`, cached after the first success.
  absl::StatusOr<PGVersion> BinaryVersion();
  // PGDATA/PG_VERSION.
  absl::StatusOr<PGVersion> DataVersion() const;
  // True when PGDATA holds every file and directory of an initialized cluster.
  absl::StatusOr<bool> IsInitialized() const;
  // The database system identifier from global/pg_control (first 8 bytes, little endian), as a
  // decimal string.
  absl::StatusOr<std::string> GetSystemIdFromControlFile() const;
  // master (no standby.signal), standby (standby.signal or, for PG < 12, recovery.conf) or
  // undefined (not initialized).
  absl::StatusOr<std::string> LocalRole();

  // --- Lifecycle.
  // initdb -D <pgdata> -U <su> [--pwfile <0600 temp file>] [--locale] [--encoding]
  // [--data-checksums]. The pwfile is used unless su auth is trust. Failure removes PGDATA.
  absl::Status Init(const InitConfig& init);
  // Writes the confs, symlinks postgresql.auto.conf to /dev/null, clears a stale postmaster.pid
  // (ClearStaleLockFiles), runs postgres as a child and waits (up to 60s) for postmaster.pid to
  // name it. Fails with the last output lines if the
  // child exits first. Records the running parameters, recovery options and hba.
  absl::Status Start();
  // Like Start, but with stolon-temp-postgresql.conf (include 'postgresql.conf' + our params) as
  // config_file, leaving postgresql.conf untouched. Used by the init modes.
  absl::Status StartTmpMerged();
  // Stops the postmaster named by postmaster.pid when it is alive (PostmasterLiveness): a fast
  // (SIGINT) or smart (SIGTERM) shutdown, escalated to immediate (SIGQUIT) and then SIGKILL of
  // its process group and of backends it left behind, each step bounded by
  // config().stop_timeouts. Reaps our child. OK when nothing runs afterwards.
  absl::Status Stop(bool fast);
  // Stop when IsStarted.
  absl::Status StopIfStarted(bool fast);
  // Whether postmaster.pid names a live postgres working from our data directory: a zombie, a
  // reused pid or a missing process count as stopped (and are logged once).
  absl::StatusOr<bool> IsStarted();
  // What postmaster.pid names now (reaping our exited child, or a zombie postmaster whose parent
  // we are, first).
  absl::StatusOr<PostmasterStatus> PostmasterNow();
  // Before a start: refuses while a live postmaster holds the data directory; otherwise kills
  // backends a dead postmaster left behind, refuses while its shared memory is still attached,
  // and removes the stale postmaster.pid and socket lock file, so postgres starts and runs crash
  // recovery instead of refusing "lock file already exists".
  absl::Status ClearStaleLockFiles();
  // Rewrites the confs, pg_ctl reload, records the running parameters and hba.
  absl::Status Reload();
  // Stop then Start.
  absl::Status Restart(bool fast);
  // pg_ctl promote -w.
  absl::Status Promote();
  // Polls `select 1` as the superuser every 200ms until it works. Zero timeout: no limit.
  absl::Status WaitReady(std::chrono::milliseconds timeout);
  // Waits for archive recovery to end (recovery.signal removed; PG < 12: recovery.done created).
  // Zero timeout: no limit.
  absl::Status WaitRecoveryDone(std::chrono::milliseconds timeout);
  // Writes postgresql.conf (or the temp merged conf), the recovery files and pg_hba.conf.
  absl::Status WriteConfs(bool use_temp_merged_conf);

  // --- Data directory operations (refused with FailedPrecondition while the instance runs).
  absl::Status RemoveAll();
  // Renames PGDATA to PGDATA.old-<UTC yyyymmddThhmmssZ>; returns the new path.
  absl::StatusOr<std::string> MoveAside();
  // Whether the filesystem holding PGDATA has room for a second copy of it (statvfs available
  // bytes >= size of PGDATA): lets a resync keep the old copy until the new one started.
  absl::StatusOr<bool> HasSpaceForDataCopy() const;

  // --- Resync.
  // pg_basebackup -R -v -P -Xs -D <pgdata> -d <conninfo> [--slot <slot>] from the followed db.
  // `repl_params` hold host/port/user (a "password" entry goes to a temp pgpass file instead of
  // the conninfo). Output is logged line by line. Zero timeout: no limit.
  absl::Status SyncFromFollowed(ConnParams repl_params, const std::string& slot,
                                std::chrono::milliseconds timeout = std::chrono::milliseconds(0));
  // pg_rewind --debug -D <pgdata> --source-server=<conninfo> with a temp PGPASSFILE. `su_params`
  // point at the current master (password handled as above). Removes postgresql.auto.conf and
  // runs CHECKPOINT on the master first (a just promoted master's control file, which pg_rewind
  // reads, names its new timeline only after one).
  absl::Status SyncFromFollowedPGRewind(
      ConnParams su_params, std::chrono::milliseconds timeout = std::chrono::milliseconds(0));

  // --- Local connections (unix socket).
  // host=<socket_dir> port dbname=postgres user=<su> [password].
  ConnParams LocalSuConnParams() const;
  // host=<socket_dir> port user=<repl> [password] (replication=1 is added when connecting).
  ConnParams LocalReplConnParams() const;
  absl::StatusOr<Connection> ConnectLocal() const;
  absl::StatusOr<SystemData> GetSystemData() const;
  absl::StatusOr<cluster::TimelinesHistory> GetTimelinesHistory(uint64_t tli) const;
  // OldestWalFile(PGDATA/pg_wal).
  absl::StatusOr<std::string> OlderWalFile() const;

  // The pid of the postmaster we started, -1 if none (or it was reaped).
  pid_t child_pid() const { return child_pid_; }

 private:
  struct OutputTail;
  std::string Bin(const std::string& name) const;
  std::string Path(const std::string& rel) const;
  absl::Status StartInternal(const std::vector<std::string>& extra_args);
  // Waits until postmaster.pid names `pid` (our child): started. Fails when the child exits
  // first or after kStartTimeout (the child is then SIGQUIT and reaped).
  absl::Status WaitUntilStarted(pid_t pid);
  // Reaps our postmaster child if it exited (waiting up to `wait` for it).
  void ReapChild(std::chrono::milliseconds wait);
  // Waits up to `wait` until the postmaster is no longer alive; false on timeout.
  absl::StatusOr<bool> WaitPostmasterExit(std::chrono::milliseconds wait);
  // SIGKILLs the live postgres processes of our data directory other than `postmaster` until
  // none is left (bounded by stop_timeouts.kill).
  absl::Status KillOrphanedBackends(pid_t postmaster);
  std::string CanonicalDataDir() const;
  absl::StatusOr<PGVersion> ConfVersion();
  absl::Status WriteRecoveryFiles(PGVersion version);

  ManagerConfig config_;
  std::optional<PGVersion> binary_version_;
  PGParameters parameters_;
  RecoveryOptions recovery_options_;
  std::vector<std::string> hba_;
  PGParameters cur_parameters_;
  RecoveryOptions cur_recovery_options_;
  std::vector<std::string> cur_hba_;
  pid_t child_pid_ = -1;
  std::shared_ptr<OutputTail> output_;
  ChangeLog stale_log_;  // the last stale pid file logged (logged once per change)
};

}  // namespace stolon::postgresql
