// Instance: the local PostgreSQL instance as the keeper's state machine sees it. One seam for
// all process, file and SQL work, so the state machine's decisions can be unit-tested with a
// fake. The real implementation (ManagerInstance, pg_instance.h) forwards to
// postgresql::Manager and the postgresql queries.
//
// Not thread-safe: one Instance is used from one executor (the state machine's or the pg state
// probe's); each of them owns its own.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cluster/cluster.h"
#include "common/duration.h"
#include "postgresql/config.h"
#include "postgresql/connection.h"
#include "postgresql/conninfo.h"
#include "postgresql/manager.h"
#include "postgresql/queries.h"
#include "postgresql/util.h"

namespace stolon::keeper {

using cluster::PGParameters;
using postgresql::RecoveryOptions;

class Instance {
 public:
  virtual ~Instance() = default;

  // --- Versions and on-disk state (see postgresql::Manager for the exact rules).
  virtual absl::StatusOr<postgresql::PGVersion> BinaryVersion() = 0;
  virtual absl::StatusOr<bool> IsInitialized() = 0;
  virtual absl::StatusOr<std::string> SystemIdFromControlFile() = 0;
  // "master", "standby" or "undefined" (not initialized).
  virtual absl::StatusOr<std::string> LocalRole() = 0;

  // --- What the next Start/Reload writes, and what the running instance was given.
  virtual void SetParameters(PGParameters p) = 0;
  virtual void SetRecoveryOptions(RecoveryOptions ro) = 0;
  virtual void SetHBA(std::vector<std::string> hba) = 0;
  virtual PGParameters CurParameters() const = 0;
  virtual RecoveryOptions CurRecoveryOptions() const = 0;
  virtual std::vector<std::string> CurHBA() const = 0;

  // --- Lifecycle.
  virtual absl::StatusOr<bool> IsStarted() = 0;
  virtual absl::Status Init(const postgresql::InitConfig& init) = 0;
  virtual absl::Status Start() = 0;
  virtual absl::Status StartTmpMerged() = 0;
  virtual absl::Status Stop(bool fast) = 0;
  virtual absl::Status StopIfStarted(bool fast) = 0;
  virtual absl::Status Reload() = 0;
  virtual absl::Status Restart(bool fast) = 0;
  virtual absl::Status Promote() = 0;
  virtual absl::Status WaitReady(Duration timeout) = 0;
  virtual absl::Status WaitRecoveryDone(Duration timeout) = 0;
  // Rewrites postgresql.conf, the recovery files and pg_hba.conf from the desired settings.
  virtual absl::Status WriteConfs() = 0;

  // --- The data directory.
  virtual absl::Status RemoveAll() = 0;
  // Renames PGDATA aside (kept until RemoveMovedAside); returns the new path.
  virtual absl::StatusOr<std::string> MoveAside() = 0;
  virtual absl::StatusOr<bool> HasSpaceForDataCopy() = 0;
  // Whether a copy made by MoveAside exists (<pgdata>.old-*).
  virtual absl::StatusOr<bool> HasMovedAside() = 0;
  // Removes every copy made by MoveAside (<pgdata>.old-*); returns the removed paths.
  virtual absl::StatusOr<std::vector<std::string>> RemoveMovedAside() = 0;
  // Runs the pitr dataRestoreCommand (already expanded) through /bin/sh -c, after creating
  // PGDATA with mode 0700. Zero timeout: no limit. A non-zero exit is an error with its output.
  virtual absl::Status RunDataRestoreCommand(const std::string& command, Duration timeout) = 0;

  // --- Resync.
  virtual absl::Status SyncFromFollowed(const postgresql::ConnParams& repl_params,
                                        const std::string& slot, Duration timeout) = 0;
  virtual absl::Status SyncFromFollowedPGRewind(const postgresql::ConnParams& su_params,
                                                Duration timeout) = 0;

  // --- SQL on the running instance (local superuser connection).
  virtual absl::Status SetupRoles() = 0;
  // Opens and closes a new local connection (bounded by the request timeout). The other calls
  // reuse a kept connection, whose backend answers even while the postmaster itself is frozen
  // or hung and no new client can connect; this one fails then.
  virtual absl::Status ProbeNewConnection() = 0;
  virtual absl::StatusOr<PGParameters> GetConfigFilePGParameters() = 0;
  virtual absl::StatusOr<std::vector<std::string>> GetSyncStandbys() = 0;
  // postgresql::NudgeSyncStandbys on the local instance: true when a marker transaction was
  // committed for one of `app_names`.
  virtual absl::StatusOr<bool> NudgeSyncStandbys(const std::vector<std::string>& app_names,
                                                 Duration wait) = 0;
  virtual absl::StatusOr<postgresql::SlotsChange> RefreshReplicationSlots(
      const std::vector<std::string>& followers, const std::vector<std::string>& additional) = 0;
  virtual absl::StatusOr<bool> IsRestartRequired() = 0;
  virtual absl::StatusOr<postgresql::SystemData> GetSystemData() = 0;
  virtual absl::StatusOr<cluster::TimelinesHistory> GetTimelinesHistory(uint64_t tli) = 0;
  virtual absl::StatusOr<std::string> OlderWalFile() = 0;
};

}  // namespace stolon::keeper
