// The SQL the keeper runs against its local instance: published state (5.10), replication slots
// (5.9), restart detection and the one-time role set-up (5.7). Each takes an open Connection to
// the local instance as the superuser (dbname=postgres).
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cluster/cluster.h"
#include "postgresql/connection.h"

namespace stolon::postgresql {

// Parameters set in the configuration files (pg_file_settings rows with a non-null name and
// setting; later rows win). Not filtered: use FilterManagedParameters for publishing.
absl::StatusOr<cluster::PGParameters> GetConfigFilePGParameters(Connection& conn);

// The db uids of the standbys currently synchronous (pg_stat_replication sync_state = 'sync'),
// from application_name with the stolon_ prefix stripped; other names are ignored. Sorted.
absl::StatusOr<std::vector<std::string>> GetSyncStandbys(Connection& conn);

// Makes the synchronous standbys report their position at once after synchronous_standby_names
// changed: a commit blocked in the sync-rep wait is released only when the walsender processes
// a reply from a standby it now counts as synchronous, and a standby that already flushed that
// commit's WAL replies again only after wal_receiver_status_interval. Waits up to `wait` until
// the walsender of one of `app_names` runs with the new setting (sync_priority > 0 in
// pg_stat_replication), then commits a transaction that writes and flushes a little WAL
// (synchronous_commit = local, so it does not wait itself): the standby receives it and replies
// as soon as it has flushed it. Returns false (nothing committed) when none of them is connected
// with the new setting within `wait`.
absl::StatusOr<bool> NudgeSyncStandbys(Connection& conn, const std::vector<std::string>& app_names,
                                       std::chrono::milliseconds wait);

// Replication lag of each stolon standby streaming from this (primary) instance, as the primary
// sees it in pg_stat_replication: bytes between the current WAL position and the standby's replay
// position. Keyed by db uid (application_name without the stolon_ prefix). Empty on a standby.
absl::StatusOr<std::map<std::string, int64_t>> GetStandbyReplicationLag(Connection& conn);

// Names of the non-temporary replication slots, sorted.
absl::StatusOr<std::vector<std::string>> GetReplicationSlots(Connection& conn);
absl::Status CreateReplicationSlot(Connection& conn, const std::string& name);
absl::Status DropReplicationSlot(Connection& conn, const std::string& name);

// What RefreshReplicationSlots did.
struct SlotsChange {
  std::vector<std::string> created;
  std::vector<std::string> dropped;
  std::vector<std::string> drop_failed;  // logged, not an error
};
// stolon's refreshReplicationSlots: wanted = stolon_<uid> for each follower db uid plus
// stolon_<name> for each additional slot. Drops every existing non-temporary stolon_* slot that
// is not wanted (a failed drop is only logged), never touches slots without the prefix, then
// creates the missing wanted ones (a failed create is an error).
absl::StatusOr<SlotsChange> RefreshReplicationSlots(
    Connection& conn, const std::vector<std::string>& followers,
    const std::vector<std::string>& additional_slots);

// Names of the parameters whose change waits for a restart (pg_settings.pending_restart).
absl::StatusOr<std::vector<std::string>> GetPendingRestartParameters(Connection& conn);
// True if any parameter is pending a restart.
absl::StatusOr<bool> IsRestartRequired(Connection& conn);
// PG < 9.5: true if any of `changed` has context 'postmaster'.
absl::StatusOr<bool> IsRestartRequiredByContext(Connection& conn,
                                                const std::vector<std::string>& changed);

// Names whose value differs between two parameter sets (added, removed or changed), sorted.
std::vector<std::string> ChangedParameters(const cluster::PGParameters& a,
                                           const cluster::PGParameters& b);

// The superuser and replication user of the keeper.
struct Roles {
  std::string su_user;
  std::string su_password;
  std::string su_auth_method;  // md5, trust or scram-sha-256
  std::string repl_user;
  std::string repl_password;
  std::string repl_auth_method;
};

// stolon's SetupRoles, run once after initdb (connected as the superuser): su == repl ->
// `alter role <su> with login replication [encrypted password ...]`; else sets the superuser
// password (unless trust) and `create role <repl> with login replication [encrypted password ...]`.
// Each statement runs in its own transaction with `set local log_statement = 'none'` so no
// password reaches the server log.
absl::Status SetupRoles(Connection& conn, const Roles& roles);

// The lexicographically smallest WAL segment file in `wal_dir` (pg_wal); NotFound when there is
// none; FailedPrecondition if its size is not 16 MiB.
absl::StatusOr<std::string> OldestWalFile(const std::string& wal_dir);

}  // namespace stolon::postgresql
