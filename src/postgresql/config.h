// Generation of the files the keeper owns inside PGDATA: postgresql.conf parameters
// (stolon's createPGParameters), recovery options (standby.signal / recovery.signal and the
// recovery parameters) and pg_hba.conf. Pure functions; the Manager writes the results.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cluster/cluster.h"
#include "postgresql/util.h"

namespace stolon::postgresql {

using cluster::PGParameters;

// Auth methods accepted for the superuser and replication users.
inline constexpr const char* kAuthMd5 = "md5";
inline constexpr const char* kAuthTrust = "trust";
inline constexpr const char* kAuthScram = "scram-sha-256";
// True for md5, trust and scram-sha-256.
bool IsValidAuthMethod(const std::string& method);

// What the keeper knows about itself, needed to compute the parameters.
struct LocalInstance {
  std::string listen_address;            // --pg-listen-address (listen_addresses)
  std::string port;                      // --pg-port
  std::string unix_socket_dir = "/tmp";  // unix_socket_directories
  // `postgres -V`; nullopt when it could not be read (wal_level then stays hot_standby).
  std::optional<PGVersion> binary_version;
};

// The parameters the keeper always sets itself; removed from what it reports (pgParameters of
// the published state) and never taken from the user.
const std::set<std::string>& ManagedParameters();
// `params` without the managed ones.
PGParameters FilterManagedParameters(const PGParameters& params);

// stolon's createPGParameters. Precedence, lowest first: `init_parameters` (only when
// spec.include_previous_config), spec.pg_parameters, the mandatory ones
// (unix_socket_directories, wal_level, hot_standby), then the managed ones (wal_keep_size or
// wal_keep_segments, listen_addresses, port, max_replication_slots, max_wal_senders,
// wal_log_hints when usePgrewind, synchronous_standby_names).
PGParameters CreatePGParameters(const cluster::DBSpec& spec, const PGParameters& init_parameters,
                                const LocalInstance& local);

// The synchronous_standby_names value: `stolon_<uid>` for each sync standby then the external
// names; "N (a,b,...)" for more than one name, the bare name for one, "" when sync replication is
// off or there are no names.
std::string SynchronousStandbyNames(const cluster::DBSpec& spec);

// How the instance is started with respect to recovery.
enum class RecoveryMode {
  kNone,      // a primary: nothing written
  kStandby,   // standby.signal (PG >= 12) or recovery.conf with standby_mode = 'on'
  kRecovery,  // recovery.signal (PG >= 12) or recovery.conf (archive recovery / PITR)
};

struct RecoveryOptions {
  RecoveryMode mode = RecoveryMode::kNone;
  PGParameters params;  // primary_conninfo, restore_command, recovery_target_* ...
  bool operator==(const RecoveryOptions&) const = default;
};

// stolon's createRecoveryOptions: primary_conninfo, primary_slot_name and
// recovery_min_apply_delay from `standby` when non-empty; restore_command when `archive` is set;
// without `target` recovery_target_timeline = latest, with it each non-empty target field plus
// recovery_target_action = promote.
RecoveryOptions CreateRecoveryOptions(
    RecoveryMode mode, const std::optional<cluster::StandbySettings>& standby,
    const std::optional<cluster::ArchiveRecoverySettings>& archive,
    const std::optional<cluster::RecoveryTargetSettings>& target);

// Whether a running standby can move from recovery options `cur` to `next` with a reload instead
// of a restart: same mode, and only parameters PostgreSQL `v` re-reads on SIGHUP differ
// (primary_conninfo, primary_slot_name and recovery_min_apply_delay since 13, restore_command
// since 14; a changed primary_conninfo restarts the WAL receiver).
bool RecoveryChangeIsReloadable(const RecoveryOptions& cur, const RecoveryOptions& next,
                                const PGVersion& v);

// Renders one configuration value as a single-quoted postgresql.conf literal: ' is doubled and
// \ is doubled too, so the server reads back exactly `value` (stolon leaves \ alone; for values
// with a backslash, such as a primary_conninfo with an escaped password, that changed the value).
std::string QuoteConfValue(const std::string& value);

// The content of postgresql.conf: a header comment then one `key = 'value'` line per parameter
// (sorted). For PG >= 12 the recovery parameters of `recovery` follow (standby/recovery mode).
std::string PostgresqlConfContent(const PGParameters& params, const RecoveryOptions& recovery,
                                  PGVersion version);

// For PG < 12: the recovery.conf content for `recovery` (standby_mode = 'on' first in standby
// mode). Empty for RecoveryMode::kNone.
std::string RecoveryConfContent(const RecoveryOptions& recovery);

// The stolon-temp-postgresql.conf content used by StartTmpMerged: `include 'postgresql.conf'`
// (when `include_existing`) followed by our parameters, so settings already in the instance's
// postgresql.conf stay visible unless we override them.
std::string TempMergedConfContent(const PGParameters& params, bool include_existing);

// Inputs of pg_hba.conf generation (stolon's generateHBA).
struct HBAOptions {
  std::string su_user;
  std::string su_auth_method;  // md5, trust or scram-sha-256
  std::string repl_user;
  std::string repl_auth_method;                   // md5, trust or scram-sha-256
  std::string access_mode = cluster::kAccessAll;  // defaultSUReplAccessMode: all or strict
  // Strict mode: whether this db is the master (a master role, or a standby following an
  // external cluster), and the listen addresses of the other dbs.
  bool is_master = false;
  std::vector<std::string> other_db_addresses;
  // The cluster's pgHBA: nullopt means the default rules (host all all 0.0.0.0/0 md5 and ::0/0),
  // an empty vector means no user rules.
  std::optional<std::vector<std::string>> pg_hba;
  // Only the rules the keeper and the replication need (no user rules).
  bool only_internal = false;
};

// The pg_hba.conf entries, in order.
std::vector<std::string> GenerateHBA(const HBAOptions& opts);
// File content: the entries one per line.
std::string HBAContent(const std::vector<std::string>& entries);

}  // namespace stolon::postgresql
