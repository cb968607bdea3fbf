// The stolon v0.17 cluster data model: the clusterdata document written by the leader sentinel,
// and the component infos (KeeperInfo, SentinelInfo, ProxyInfo) published with a TTL.
//
// Every type is a plain value: copyable and comparable with ==, so the sentinel can compute a new
// view from an old one and diff them. Field names mirror stolon's JSON keys (see json.h for the
// wire format). Go pointer fields ("nil means default/absent") are std::optional here.
//
// Enumerations are kept as strings (as in stolon) so that an unknown value read from the store
// is reported by Validate() with the field name and the allowed values, instead of failing decode.
#pragma once

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/clock.h"
#include "common/duration.h"

namespace stolon {
class IdGenerator;
}  // namespace stolon

namespace stolon::cluster {

inline constexpr uint64_t kCurrentCDFormatVersion = 1;
inline constexpr int64_t kNoGeneration = 0;
inline constexpr int64_t kInitialGeneration = 1;

// Reserved prefix for replication slot names and application_name (stolon_<dbUID>).
inline constexpr const char* kStolonPrefix = "stolon_";
// External synchronous standby name that makes the master block commits below
// minSynchronousStandbys.
inline constexpr const char* kFakeStandbyName = "stolonfakestandby";

// ClusterSpec defaults (stolon's, except maxStandbyLag: stolon's constant is 1024*1204 by a typo;
// we use the documented 1 MiB).
inline constexpr Duration kDefaultSleepInterval = std::chrono::seconds(5);
inline constexpr Duration kDefaultRequestTimeout = std::chrono::seconds(10);
inline constexpr Duration kDefaultConvergenceTimeout = std::chrono::seconds(30);
inline constexpr Duration kDefaultInitTimeout = std::chrono::minutes(5);
inline constexpr Duration kDefaultSyncTimeout = Duration(0);
inline constexpr Duration kDefaultDBWaitReadyTimeout = std::chrono::seconds(60);
inline constexpr Duration kDefaultFailInterval = std::chrono::seconds(20);
inline constexpr Duration kDefaultDeadKeeperRemovalInterval = std::chrono::hours(48);
inline constexpr Duration kDefaultProxyCheckInterval = std::chrono::seconds(5);
inline constexpr Duration kDefaultProxyTimeout = std::chrono::seconds(15);
inline constexpr uint16_t kDefaultMaxStandbys = 20;
inline constexpr uint16_t kDefaultMaxStandbysPerSender = 3;
inline constexpr uint32_t kDefaultMaxStandbyLag = 1024 * 1024;
inline constexpr uint16_t kDefaultMinSynchronousStandbys = 1;
inline constexpr uint16_t kDefaultMaxSynchronousStandbys = 1;
inline constexpr uint16_t kDefaultAdditionalWalSenders = 5;

// Cluster phase.
inline constexpr const char* kPhaseInitializing = "initializing";
inline constexpr const char* kPhaseNormal = "normal";
// Cluster and DB roles ("undefined" is only a keeper's local role).
inline constexpr const char* kRoleMaster = "master";
inline constexpr const char* kRoleStandby = "standby";
inline constexpr const char* kRoleUndefined = "undefined";
// Cluster init modes (new, existing, pitr) and DB init modes (adds none, resync).
inline constexpr const char* kInitModeNew = "new";
inline constexpr const char* kInitModeExisting = "existing";
inline constexpr const char* kInitModePITR = "pitr";
inline constexpr const char* kInitModeNone = "none";
inline constexpr const char* kInitModeResync = "resync";
// Follow types.
inline constexpr const char* kFollowInternal = "internal";
inline constexpr const char* kFollowExternal = "external";
// Superuser/replication access modes in pg_hba.
inline constexpr const char* kAccessAll = "all";
inline constexpr const char* kAccessStrict = "strict";

using Time = WallTime;  // serialised as RFC 3339 with nanoseconds; zero is 0001-01-01T00:00:00Z
// The zero Go time (0001-01-01T00:00:00Z). system_clock counts int64 nanoseconds and cannot reach
// year 1, so the zero time is represented by the epoch (Time{}), which keeps `now - t` arithmetic
// safe; it encodes as "0001-01-01T00:00:00Z". (1970-01-01T00:00:00Z itself therefore reads back
// as the zero time; stolon never writes it.)
Time ZeroTime();

// ---------------------------------------------------------------------------------------------
// ClusterSpec and its sub-objects.

struct NewConfig {
  std::string locale;           // "locale", omitempty
  std::string encoding;         // "encoding", omitempty
  bool data_checksums = false;  // "dataChecksums", omitempty
  bool operator==(const NewConfig&) const = default;
};

struct ArchiveRecoverySettings {
  std::string restore_command;  // "restoreCommand"
  bool operator==(const ArchiveRecoverySettings&) const = default;
};

struct RecoveryTargetSettings {
  std::string recovery_target;           // "recoveryTarget"
  std::string recovery_target_lsn;       // "recoveryTargetLsn"
  std::string recovery_target_name;      // "recoveryTargetName"
  std::string recovery_target_time;      // "recoveryTargetTime"
  std::string recovery_target_xid;       // "recoveryTargetXid"
  std::string recovery_target_timeline;  // "recoveryTargetTimeline"
  bool operator==(const RecoveryTargetSettings&) const = default;
};

struct StandbySettings {
  std::string primary_conninfo;          // "primaryConninfo"
  std::string primary_slot_name;         // "primarySlotName"
  std::string recovery_min_apply_delay;  // "recoveryMinApplyDelay"
  bool operator==(const StandbySettings&) const = default;
};

struct PITRConfig {
  std::string data_restore_command;                                  // "dataRestoreCommand"
  std::optional<ArchiveRecoverySettings> archive_recovery_settings;  // "archiveRecoverySettings"
  std::optional<RecoveryTargetSettings> recovery_target_settings;    // "recoveryTargetSettings"
  bool operator==(const PITRConfig&) const = default;
};

struct ExistingConfig {
  std::string keeper_uid;  // "keeperUID"
  bool operator==(const ExistingConfig&) const = default;
};

struct StandbyConfig {
  std::optional<StandbySettings> standby_settings;                   // "standbySettings"
  std::optional<ArchiveRecoverySettings> archive_recovery_settings;  // "archiveRecoverySettings"
  bool operator==(const StandbyConfig&) const = default;
};

using PGParameters = std::map<std::string, std::string>;

// The user's declarative spec. Unset (nullopt) fields take the defaults of WithDefaults().
struct ClusterSpec {
  std::optional<Duration> sleep_interval;                // "sleepInterval" 5s
  std::optional<Duration> request_timeout;               // "requestTimeout" 10s
  std::optional<Duration> convergence_timeout;           // "convergenceTimeout" 30s
  std::optional<Duration> init_timeout;                  // "initTimeout" 5m
  std::optional<Duration> sync_timeout;                  // "syncTimeout" 0 (no limit)
  std::optional<Duration> db_wait_ready_timeout;         // "dbWaitReadyTimeout" 60s
  std::optional<Duration> fail_interval;                 // "failInterval" 20s
  std::optional<Duration> dead_keeper_removal_interval;  // "deadKeeperRemovalInterval" 48h
  std::optional<Duration> proxy_check_interval;          // "proxyCheckInterval" 5s
  std::optional<Duration> proxy_timeout;                 // "proxyTimeout" 15s
  std::optional<uint16_t> max_standbys;                  // "maxStandbys" 20
  std::optional<uint16_t> max_standbys_per_sender;       // "maxStandbysPerSender" 3
  std::optional<uint32_t> max_standby_lag;               // "maxStandbyLag" 1 MiB (our default)
  std::optional<bool> synchronous_replication;           // "synchronousReplication" false
  std::optional<uint16_t> min_synchronous_standbys;      // "minSynchronousStandbys" 1
  std::optional<uint16_t> max_synchronous_standbys;      // "maxSynchronousStandbys" 1
  std::optional<uint16_t> additional_wal_senders;  // "additionalWalSenders" 5, null when unset
  std::optional<std::vector<std::string>> additional_master_replication_slots;  // null when unset
  std::optional<bool> use_pg_rewind;                       // "usePgrewind" false
  std::optional<std::string> init_mode;                    // "initMode" required
  std::optional<bool> merge_pg_parameters;                 // "mergePgParameters" true
  std::optional<std::string> role;                         // "role" master
  std::optional<NewConfig> new_config;                     // "newConfig"
  std::optional<PITRConfig> pitr_config;                   // "pitrConfig"
  std::optional<ExistingConfig> existing_config;           // "existingConfig"
  std::optional<StandbyConfig> standby_config;             // "standbyConfig"
  std::optional<std::string> default_su_repl_access_mode;  // "defaultSUReplAccessMode" all
  PGParameters pg_parameters;                              // "pgParameters", omitted when empty
  std::optional<std::vector<std::string>> pg_hba;          // "pgHBA", null = default rules
  std::optional<bool> automatic_pg_restart;  // "automaticPgRestart" false, null when unset

  bool operator==(const ClusterSpec&) const = default;

  // A copy with every unset field set to its default (maxStandbyLag: 1048576).
  ClusterSpec WithDefaults() const;
  // stolon's validation (on the spec with defaults applied). The error names the field and the
  // allowed values, e.g. `invalid initMode "foo": must be one of new, existing, pitr`.
  absl::Status Validate() const;
};

// Checks that `next` may replace `current` as the cluster spec (stolon's UpdateSpec): next must
// validate, initMode may not change, role may not go from master to standby.
absl::Status ValidateSpecUpdate(const ClusterSpec& current, const ClusterSpec& next);

// ---------------------------------------------------------------------------------------------
// ClusterData.

struct ClusterStatus {
  int64_t current_generation = 0;  // "currentGeneration", omitempty
  std::string phase;               // "phase"
  std::string master;              // "master": the master DB uid
  bool operator==(const ClusterStatus&) const = default;
};

struct Cluster {
  std::string uid;                // "uid", omitempty
  int64_t generation = 0;         // "generation", omitempty
  Time change_time = ZeroTime();  // "changeTime"
  ClusterSpec spec;               // "spec"
  ClusterStatus status;           // "status"
  bool operator==(const Cluster&) const = default;
};

struct PostgresBinaryVersion {
  int maj = 0;  // "Maj"
  int min = 0;  // "Min"
  bool operator==(const PostgresBinaryVersion&) const = default;
};

struct KeeperSpec {
  bool operator==(const KeeperSpec&) const = default;
};

struct KeeperStatus {
  bool healthy = false;                            // "healthy", omitempty
  Time last_healthy_time = ZeroTime();             // "lastHealthyTime"
  std::string boot_uuid;                           // "bootUUID", omitempty
  PostgresBinaryVersion postgres_binary_version;   // "postgresBinaryVersion"
  bool force_fail = false;                         // "forceFail", omitempty
  std::optional<bool> can_be_master;               // "canBeMaster", omitempty
  std::optional<bool> can_be_synchronous_replica;  // "canBeSynchronousReplica", omitempty
  bool operator==(const KeeperStatus&) const = default;
};

struct Keeper {
  std::string uid;                // "uid", omitempty
  int64_t generation = 0;         // "generation", omitempty
  Time change_time = ZeroTime();  // "changeTime"
  KeeperSpec spec;                // "spec"
  KeeperStatus status;            // "status"
  bool operator==(const Keeper&) const = default;
};

struct FollowConfig {
  std::string type;                                 // "type": internal or external
  std::string db_uid;                               // "dbuid": the followed db (internal)
  std::optional<StandbySettings> standby_settings;  // "standbySettings"
  std::optional<ArchiveRecoverySettings> archive_recovery_settings;  // "archiveRecoverySettings"
  bool operator==(const FollowConfig&) const = default;
};

struct DBSpec {
  std::string keeper_uid;                // "keeperUID", omitempty
  Duration request_timeout{0};           // "requestTimeout", always emitted
  uint16_t max_standbys = 0;             // "maxStandbys", omitempty
  bool synchronous_replication = false;  // "synchronousReplication", omitempty
  bool use_pg_rewind = false;            // "usePgrewind", omitempty
  uint16_t additional_wal_senders = 0;   // "additionalWalSenders", always emitted
  std::optional<std::vector<std::string>> additional_replication_slots;  // always emitted (null)
  std::string init_mode;                                                 // "initMode", omitempty
  std::optional<NewConfig> new_config;                                   // "newConfig", omitempty
  std::optional<PITRConfig> pitr_config;                                 // "pitrConfig", omitempty
  PGParameters pg_parameters;                      // "pgParameters", omitempty
  std::optional<std::vector<std::string>> pg_hba;  // "pgHBA", always emitted (null)
  std::string role;                                // "role", omitempty
  std::optional<FollowConfig> follow_config;       // "followConfig", omitempty
  std::vector<std::string> followers;              // "followers", always emitted ([] when empty)
  bool include_previous_config = false;            // "includePreviousConfig", omitempty
  std::vector<std::string> synchronous_standbys;   // "synchronousStandbys", null when empty
  std::vector<std::string> external_synchronous_standbys;  // "externalSynchronousStandbys", ditto
  bool operator==(const DBSpec&) const = default;
};

struct TimelineHistoryEntry {
  uint64_t timeline_id = 0;   // "timelineID"
  uint64_t switch_point = 0;  // "switchPoint"
  std::string reason;         // "reason"
  bool operator==(const TimelineHistoryEntry&) const = default;
};
using TimelinesHistory = std::vector<TimelineHistoryEntry>;

struct DBStatus {
  bool healthy = false;                           // "healthy", omitempty
  int64_t current_generation = 0;                 // "currentGeneration", omitempty
  std::string listen_address;                     // "listenAddress", omitempty
  std::string port;                               // "port", omitempty
  std::string system_id;                          // "systemdID" (sic, stolon's key), omitempty
  uint64_t timeline_id = 0;                       // "timelineID", omitempty
  uint64_t xlog_pos = 0;                          // "xLogPos", omitempty
  TimelinesHistory timelines_history;             // "timelinesHistory", omitempty
  PGParameters pg_parameters;                     // "pgParameters", omitempty
  std::vector<std::string> synchronous_standbys;  // "synchronousStandbys", always emitted
  std::string older_wal_file;                     // "olderWalFile", omitempty
  // Not serialised: the sync standbys the instance reports right now (one sentinel check only).
  std::vector<std::string> cur_synchronous_standbys;
  bool operator==(const DBStatus&) const = default;
};

struct DB {
  std::string uid;                // "uid", omitempty
  int64_t generation = 0;         // "generation", omitempty
  Time change_time = ZeroTime();  // "changeTime"
  DBSpec spec;                    // "spec"
  DBStatus status;                // "status"
  bool operator==(const DB&) const = default;
};

struct ProxySpec {
  std::string master_db_uid;                 // "masterDbUid", omitempty
  std::vector<std::string> enabled_proxies;  // "enabledProxies", omitempty, sorted
  bool operator==(const ProxySpec&) const = default;
};

struct ProxyStatus {
  bool operator==(const ProxyStatus&) const = default;
};

struct Proxy {
  std::string uid;                // "uid", omitempty
  int64_t generation = 0;         // "generation", omitempty
  Time change_time = ZeroTime();  // "changeTime"
  ProxySpec spec;                 // "spec"
  ProxyStatus status;             // "status"
  bool operator==(const Proxy&) const = default;
};

using Keepers = std::map<std::string, Keeper>;
using DBs = std::map<std::string, DB>;

struct ClusterData {
  uint64_t format_version = kCurrentCDFormatVersion;  // "formatVersion"
  Time change_time = ZeroTime();                      // "changeTime"
  Cluster cluster;                                    // "cluster"
  Keepers keepers;                                    // "keepers"
  DBs dbs;                                            // "dbs"
  Proxy proxy;                                        // "proxy"
  bool operator==(const ClusterData&) const = default;
};

// A fresh clusterdata for `spec` (validated first; the error names the field): a new cluster uid
// from `ids`, generation 1, phase initializing, no keepers or dbs, an empty proxy object. What
// `stolonctl init` writes and what the sentinel writes for --initial-cluster-spec.
absl::StatusOr<ClusterData> NewClusterData(const ClusterSpec& spec, IdGenerator& ids,
                                           const Clock& clock);

// ---------------------------------------------------------------------------------------------
// Component infos, published by each component under its own key with a TTL.

struct PostgresState {
  std::string uid;                                // "uid": the db uid the keeper believes it runs
  int64_t generation = 0;                         // "generation": last db generation fully applied
  std::string listen_address;                     // "listenAddress"
  std::string port;                               // "port"
  bool healthy = false;                           // "healthy"
  std::string system_id;                          // "systemID"
  uint64_t timeline_id = 0;                       // "timelineID"
  uint64_t xlog_pos = 0;                          // "xLogPos"
  TimelinesHistory timelines_history;             // "timelinesHistory"
  PGParameters pg_parameters;                     // "pgParameters"
  std::vector<std::string> synchronous_standbys;  // "synchronousStandbys", always emitted
  std::string older_wal_file;                     // "olderWalFile"
  bool operator==(const PostgresState&) const = default;
};

struct KeeperInfo {
  std::string info_uid;                            // "infoUID": fresh on every publish
  std::string uid;                                 // "uid"
  std::string cluster_uid;                         // "clusterUID"
  std::string boot_uuid;                           // "bootUUID"
  PostgresBinaryVersion postgres_binary_version;   // "postgresBinaryVersion"
  std::optional<PostgresState> postgres_state;     // "postgresState", null when unknown
  std::optional<bool> can_be_master;               // "canBeMaster"
  std::optional<bool> can_be_synchronous_replica;  // "canBeSynchronousReplica"
  bool operator==(const KeeperInfo&) const = default;
};

struct SentinelInfo {
  std::string uid;  // "UID"
  bool operator==(const SentinelInfo&) const = default;
};

struct ProxyInfo {
  std::string info_uid;       // "infoUID"
  std::string uid;            // "UID"
  int64_t generation = 0;     // "Generation"
  Duration proxy_timeout{0};  // "ProxyTimeout": integer nanoseconds on the wire
  bool operator==(const ProxyInfo&) const = default;
};

using KeepersInfo = std::map<std::string, KeeperInfo>;  // by keeper uid
using ProxiesInfo = std::map<std::string, ProxyInfo>;   // by proxy uid
using SentinelsInfo = std::vector<SentinelInfo>;

// Readable printing (indented JSON) for logs and test failures; PrintTo is what GoogleTest uses.
std::ostream& operator<<(std::ostream& os, const ClusterData& cd);
std::ostream& operator<<(std::ostream& os, const ClusterSpec& spec);
std::ostream& operator<<(std::ostream& os, const KeeperInfo& ki);
std::ostream& operator<<(std::ostream& os, const SentinelInfo& si);
std::ostream& operator<<(std::ostream& os, const ProxyInfo& pi);
void PrintTo(const ClusterData& cd, std::ostream* os);
void PrintTo(const ClusterSpec& spec, std::ostream* os);
void PrintTo(const KeeperInfo& ki, std::ostream* os);
void PrintTo(const SentinelInfo& si, std::ostream* os);
void PrintTo(const ProxyInfo& pi, std::ostream* os);

}  // namespace stolon::cluster
