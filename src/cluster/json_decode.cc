// Decoding of stolon's JSON into the cluster model (see json.h for the rules).
//
// Every decoder takes the JSON value, the decoding context (document name, strictness) and the
// path of the value, so errors read "cluster.spec.sleepInterval: invalid duration ...". As in Go,
// a missing key or a null scalar/list/map leaves the zero value; a null where a struct is required
// is an error (stolon never writes one, and accepting it would hide a corrupt document).
#include <algorithm>
#include <concepts>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "cluster/json.h"
#include "common/status.h"
#include "fmt/format.h"

namespace stolon::cluster {
namespace {

using nlohmann::json;

struct Ctx {
  const char* root;     // what the document is, for errors at its root: "cluster data"
  bool strict = false;  // unknown keys are errors
};

std::string Join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : fmt::format("{}.{}", path, key);
}

absl::Status Err(const Ctx& c, const std::string& path, std::string_view msg) {
  return absl::InvalidArgumentError(fmt::format("{}: {}", path.empty() ? c.root : path, msg));
}

absl::Status TypeErr(const Ctx& c, const std::string& path, std::string_view expected,
                     const json& j) {
  if (j.is_number()) {
    return Err(c, path, fmt::format("expected {}, got number {}", expected, j.dump()));
  }
  return Err(c, path, fmt::format("expected {}, got {}", expected, j.type_name()));
}

// Declarations of every decoder, so the generic ones below can use any of them.
absl::Status Dec(const json& j, const Ctx& c, const std::string& p, std::string* out);
absl::Status Dec(const json& j, const Ctx& c, const std::string& p, bool* out);
absl::Status Dec(const json& j, const Ctx& c, const std::string& p, Duration* out);
absl::Status Dec(const json& j, const Ctx& c, const std::string& p, Time* out);
template <typename T>
requires(std::integral<T> && !std::same_as<T, bool>) absl::Status
    Dec(const json& j, const Ctx& c, const std::string& p, T* out);
template <typename T>
absl::Status Dec(const json& j, const Ctx& c, const std::string& p, std::vector<T>* out);
template <typename T>
absl::Status Dec(const json& j, const Ctx& c, const std::string& p, std::map<std::string, T>* out);
template <typename T>
absl::Status Dec(const json& j, const Ctx& c, const std::string& p, std::optional<T>* out);
absl::Status Dec(const json& j, const Ctx& c, const std::string& p, NewConfig* out);
absl::Status Dec(const json& j, const Ctx& c, const std::string& p, ArchiveRecoverySettings* out);
absl::Status Dec(const json& j, const Ctx& c, const std::string& p, RecoveryTargetSettings* out);
absl::Status Dec(const json& j, const Ctx& c, const std::string& p, StandbySettings* out);
absl::Status Dec(const json& j, const Ctx& c, const std::string& p, PITRConfig* out);
absl::Status Dec(const json& j, const Ctx& c, const std::string& p, ExistingConfig* out);
absl::Status Dec(const json& j, const Ctx& c, const std::string& p, StandbyConfig* out);
absl::Status Dec(const json& j, const Ctx& c, const std::string& p, FollowConfig* out);
absl::Status Dec(const json& j, const Ctx& c, const std::string& p, PostgresBinaryVersion* out);
absl::Status Dec(const json& j, const Ctx& c, const std::string& p, TimelineHistoryEntry* out);
absl::Status Dec(const json& j, const Ctx& c, const std::string& p, PostgresState* out);
absl::Status Dec(const json& j, const Ctx& c, const std::string& p, ClusterSpec* out);
absl::Status Dec(const json& j, const Ctx& c, const std::string& p, ClusterStatus* out);
absl::Status Dec(const json& j, const Ctx& c, const std::string& p, Cluster* out);
absl::Status Dec(const json& j, const Ctx& c, const std::string& p, KeeperSpec* out);
absl::Status Dec(const json& j, const Ctx& c, const std::string& p, KeeperStatus* out);
absl::Status Dec(const json& j, const Ctx& c, const std::string& p, Keeper* out);
absl::Status Dec(const json& j, const Ctx& c, const std::string& p, DBSpec* out);
absl::Status Dec(const json& j, const Ctx& c, const std::string& p, DBStatus* out);
absl::Status Dec(const json& j, const Ctx& c, const std::string& p, DB* out);
absl::Status Dec(const json& j, const Ctx& c, const std::string& p, ProxySpec* out);
absl::Status Dec(const json& j, const Ctx& c, const std::string& p, ProxyStatus* out);
absl::Status Dec(const json& j, const Ctx& c, const std::string& p, Proxy* out);
absl::Status Dec(const json& j, const Ctx& c, const std::string& p, ClusterData* out);
absl::Status Dec(const json& j, const Ctx& c, const std::string& p, KeeperInfo* out);
absl::Status Dec(const json& j, const Ctx& c, const std::string& p, SentinelInfo* out);
absl::Status Dec(const json& j, const Ctx& c, const std::string& p, ProxyInfo* out);

// Reads the fields of one JSON object; remembers the first error and, in strict mode, rejects
// keys nobody asked for.
class Fields {
 public:
  Fields(const json& j, const Ctx& c, const std::string& path) : j_(j), c_(c), path_(path) {
    if (!j.is_object()) status_ = TypeErr(c, path, "an object", j);
  }

  template <typename T>
  Fields& operator()(const char* key, T* out) {
    known_.emplace_back(key);
    if (!status_.ok()) return *this;
    auto it = j_.find(key);
    if (it != j_.end()) status_ = Dec(*it, c_, Join(path_, key), out);
    return *this;
  }

  const absl::Status& status() const { return status_; }

  absl::Status Done() const {
    if (!status_.ok() || !c_.strict) return status_;
    for (const auto& [key, value] : j_.items()) {
      if (std::find(known_.begin(), known_.end(), key) == known_.end()) {
        return absl::InvalidArgumentError(fmt::format("unknown field \"{}\" in {}{}", key, c_.root,
                                                      path_.empty() ? "" : " at " + path_));
      }
    }
    return status_;
  }

 private:
  const json& j_;
  const Ctx& c_;
  const std::string& path_;
  std::vector<std::string> known_;
  absl::Status status_;
};

absl::Status Dec(const json& j, const Ctx& c, const std::string& p, std::string* out) {
  if (j.is_null()) return absl::OkStatus();
  if (!j.is_string()) return TypeErr(c, p, "a string", j);
  *out = j.get<std::string>();
  return absl::OkStatus();
}

absl::Status Dec(const json& j, const Ctx& c, const std::string& p, bool* out) {
  if (j.is_null()) return absl::OkStatus();
  if (!j.is_boolean()) return TypeErr(c, p, "a boolean", j);
  *out = j.get<bool>();
  return absl::OkStatus();
}

template <typename T>
requires(std::integral<T> && !std::same_as<T, bool>) absl::Status
    Dec(const json& j, const Ctx& c, const std::string& p, T* out) {
  if (j.is_null()) return absl::OkStatus();
  if (!j.is_number_integer()) return TypeErr(c, p, "an integer", j);
  bool in_range = j.is_number_unsigned() ? std::in_range<T>(j.get<uint64_t>())
                                         : std::in_range<T>(j.get<int64_t>());
  if (!in_range) {
    return Err(c, p,
               fmt::format("{} is out of range, must be between {} and {}", j.dump(),
                           std::numeric_limits<T>::min(), std::numeric_limits<T>::max()));
  }
  *out =
      j.is_number_unsigned() ? static_cast<T>(j.get<uint64_t>()) : static_cast<T>(j.get<int64_t>());
  return absl::OkStatus();
}

// A Go Duration: a string such as "5s". A null is refused, as Go's parser refuses "".
absl::Status Dec(const json& j, const Ctx& c, const std::string& p, Duration* out) {
  if (!j.is_string()) return TypeErr(c, p, "a duration string such as \"5s\"", j);
  auto d = ParseGoDuration(j.get<std::string>());
  if (!d.ok()) return Err(c, p, std::string(d.status().message()));
  *out = *d;
  return absl::OkStatus();
}

absl::Status Dec(const json& j, const Ctx& c, const std::string& p, Time* out) {
  if (!j.is_string()) return TypeErr(c, p, "an RFC 3339 time string", j);
  auto t = ParseTime(j.get<std::string>());
  if (!t.ok()) return Err(c, p, std::string(t.status().message()));
  *out = *t;
  return absl::OkStatus();
}

template <typename T>
absl::Status Dec(const json& j, const Ctx& c, const std::string& p, std::vector<T>* out) {
  out->clear();
  if (j.is_null()) return absl::OkStatus();
  if (!j.is_array()) return TypeErr(c, p, "an array", j);
  out->resize(j.size());
  for (size_t i = 0; i < j.size(); ++i) {
    RETURN_IF_ERROR(Dec(j[i], c, fmt::format("{}[{}]", p, i), &(*out)[i]));
  }
  return absl::OkStatus();
}

template <typename T>
absl::Status Dec(const json& j, const Ctx& c, const std::string& p, std::map<std::string, T>* out) {
  out->clear();
  if (j.is_null()) return absl::OkStatus();
  if (!j.is_object()) return TypeErr(c, p, "an object", j);
  for (const auto& [key, value] : j.items()) {
    RETURN_IF_ERROR(Dec(value, c, Join(p, key), &(*out)[key]));
  }
  return absl::OkStatus();
}

template <typename T>
absl::Status Dec(const json& j, const Ctx& c, const std::string& p, std::optional<T>* out) {
  out->reset();
  if (j.is_null()) return absl::OkStatus();
  out->emplace();
  return Dec(j, c, p, &**out);
}

absl::Status Dec(const json& j, const Ctx& c, const std::string& p, NewConfig* out) {
  return Fields(j, c, p)("locale", &out->locale)("encoding", &out->encoding)("dataChecksums",
                                                                             &out->data_checksums)
      .Done();
}

absl::Status Dec(const json& j, const Ctx& c, const std::string& p, ArchiveRecoverySettings* out) {
  return Fields(j, c, p)("restoreCommand", &out->restore_command).Done();
}

absl::Status Dec(const json& j, const Ctx& c, const std::string& p, RecoveryTargetSettings* out) {
  return Fields(j, c, p)("recoveryTarget", &out->recovery_target)("recoveryTargetLsn",
                                                                  &out->recovery_target_lsn)(
             "recoveryTargetName", &out->recovery_target_name)("recoveryTargetTime",
                                                               &out->recovery_target_time)(
             "recoveryTargetXid", &out->recovery_target_xid)("recoveryTargetTimeline",
                                                             &out->recovery_target_timeline)
      .Done();
}

absl::Status Dec(const json& j, const Ctx& c, const std::string& p, StandbySettings* out) {
  return Fields(j, c, p)("primaryConninfo", &out->primary_conninfo)(
             "primarySlotName", &out->primary_slot_name)("recoveryMinApplyDelay",
                                                         &out->recovery_min_apply_delay)
      .Done();
}

absl::Status Dec(const json& j, const Ctx& c, const std::string& p, PITRConfig* out) {
  return Fields(j, c, p)("dataRestoreCommand", &out->data_restore_command)(
             "archiveRecoverySettings", &out->archive_recovery_settings)(
             "recoveryTargetSettings", &out->recovery_target_settings)
      .Done();
}

absl::Status Dec(const json& j, const Ctx& c, const std::string& p, ExistingConfig* out) {
  return Fields(j, c, p)("keeperUID", &out->keeper_uid).Done();
}

absl::Status Dec(const json& j, const Ctx& c, const std::string& p, StandbyConfig* out) {
  return Fields(j, c, p)("standbySettings", &out->standby_settings)("archiveRecoverySettings",
                                                                    &out->archive_recovery_settings)
      .Done();
}

absl::Status Dec(const json& j, const Ctx& c, const std::string& p, FollowConfig* out) {
  return Fields(j, c, p)("type", &out->type)("dbuid", &out->db_uid)(
             "standbySettings", &out->standby_settings)("archiveRecoverySettings",
                                                        &out->archive_recovery_settings)
      .Done();
}

absl::Status Dec(const json& j, const Ctx& c, const std::string& p, PostgresBinaryVersion* out) {
  return Fields(j, c, p)("Maj", &out->maj)("Min", &out->min).Done();
}

absl::Status Dec(const json& j, const Ctx& c, const std::string& p, TimelineHistoryEntry* out) {
  return Fields(j, c, p)("timelineID", &out->timeline_id)("switchPoint", &out->switch_point)(
             "reason", &out->reason)
      .Done();
}

absl::Status Dec(const json& j, const Ctx& c, const std::string& p, ClusterSpec* s) {
  Fields f(j, c, p);
  f("sleepInterval", &s->sleep_interval)("requestTimeout", &s->request_timeout)(
      "convergenceTimeout", &s->convergence_timeout)("initTimeout", &s->init_timeout)(
      "syncTimeout", &s->sync_timeout)("dbWaitReadyTimeout", &s->db_wait_ready_timeout)(
      "failInterval", &s->fail_interval)("deadKeeperRemovalInterval",
                                         &s->dead_keeper_removal_interval)(
      "proxyCheckInterval", &s->proxy_check_interval)("proxyTimeout", &s->proxy_timeout);
  f("maxStandbys", &s->max_standbys)("maxStandbysPerSender", &s->max_standbys_per_sender)(
      "maxStandbyLag", &s->max_standby_lag)("synchronousReplication", &s->synchronous_replication)(
      "minSynchronousStandbys", &s->min_synchronous_standbys)("maxSynchronousStandbys",
                                                              &s->max_synchronous_standbys)(
      "additionalWalSenders", &s->additional_wal_senders)("additionalMasterReplicationSlots",
                                                          &s->additional_master_replication_slots);
  f("usePgrewind", &s->use_pg_rewind)("initMode", &s->init_mode)(
      "mergePgParameters", &s->merge_pg_parameters)("role", &s->role)("newConfig", &s->new_config)(
      "pitrConfig", &s->pitr_config)("existingConfig", &s->existing_config)(
      "standbyConfig", &s->standby_config)("defaultSUReplAccessMode",
                                           &s->default_su_repl_access_mode)(
      "pgParameters", &s->pg_parameters)("pgHBA", &s->pg_hba)("automaticPgRestart",
                                                              &s->automatic_pg_restart);
  return f.Done();
}

absl::Status Dec(const json& j, const Ctx& c, const std::string& p, ClusterStatus* out) {
  return Fields(j, c, p)("currentGeneration", &out->current_generation)("phase", &out->phase)(
             "master", &out->master)
      .Done();
}

absl::Status Dec(const json& j, const Ctx& c, const std::string& p, Cluster* out) {
  return Fields(j, c, p)("uid", &out->uid)("generation", &out->generation)(
             "changeTime", &out->change_time)("spec", &out->spec)("status", &out->status)
      .Done();
}

absl::Status Dec(const json& j, const Ctx& c, const std::string& p, KeeperSpec*) {
  return Fields(j, c, p).Done();
}

absl::Status Dec(const json& j, const Ctx& c, const std::string& p, KeeperStatus* out) {
  return Fields(j, c, p)("healthy", &out->healthy)("lastHealthyTime", &out->last_healthy_time)(
             "bootUUID", &out->boot_uuid)("postgresBinaryVersion", &out->postgres_binary_version)(
             "forceFail", &out->force_fail)("canBeMaster", &out->can_be_master)(
             "canBeSynchronousReplica", &out->can_be_synchronous_replica)
      .Done();
}

absl::Status Dec(const json& j, const Ctx& c, const std::string& p, Keeper* out) {
  return Fields(j, c, p)("uid", &out->uid)("generation", &out->generation)(
             "changeTime", &out->change_time)("spec", &out->spec)("status", &out->status)
      .Done();
}

absl::Status Dec(const json& j, const Ctx& c, const std::string& p, DBSpec* s) {
  Fields f(j, c, p);
  f("keeperUID", &s->keeper_uid)("requestTimeout", &s->request_timeout)(
      "maxStandbys", &s->max_standbys)("synchronousReplication", &s->synchronous_replication)(
      "usePgrewind", &s->use_pg_rewind)("additionalWalSenders", &s->additional_wal_senders)(
      "additionalReplicationSlots", &s->additional_replication_slots)("initMode", &s->init_mode)(
      "newConfig", &s->new_config)("pitrConfig", &s->pitr_config);
  f("pgParameters", &s->pg_parameters)("pgHBA", &s->pg_hba)("role", &s->role)(
      "followConfig", &s->follow_config)("followers", &s->followers)("includePreviousConfig",
                                                                     &s->include_previous_config)(
      "synchronousStandbys", &s->synchronous_standbys)("externalSynchronousStandbys",
                                                       &s->external_synchronous_standbys);
  return f.Done();
}

absl::Status Dec(const json& j, const Ctx& c, const std::string& p, DBStatus* s) {
  return Fields(j, c, p)("healthy", &s->healthy)("currentGeneration", &s->current_generation)(
             "listenAddress", &s->listen_address)("port", &s->port)("systemdID", &s->system_id)(
             "timelineID", &s->timeline_id)("xLogPos", &s->xlog_pos)(
             "timelinesHistory", &s->timelines_history)("pgParameters", &s->pg_parameters)(
             "synchronousStandbys", &s->synchronous_standbys)("olderWalFile", &s->older_wal_file)
      .Done();
}

absl::Status Dec(const json& j, const Ctx& c, const std::string& p, DB* out) {
  return Fields(j, c, p)("uid", &out->uid)("generation", &out->generation)(
             "changeTime", &out->change_time)("spec", &out->spec)("status", &out->status)
      .Done();
}

absl::Status Dec(const json& j, const Ctx& c, const std::string& p, ProxySpec* out) {
  return Fields(j, c, p)("masterDbUid", &out->master_db_uid)("enabledProxies",
                                                             &out->enabled_proxies)
      .Done();
}

absl::Status Dec(const json& j, const Ctx& c, const std::string& p, ProxyStatus*) {
  return Fields(j, c, p).Done();
}

absl::Status Dec(const json& j, const Ctx& c, const std::string& p, Proxy* out) {
  return Fields(j, c, p)("uid", &out->uid)("generation", &out->generation)(
             "changeTime", &out->change_time)("spec", &out->spec)("status", &out->status)
      .Done();
}

absl::Status Dec(const json& j, const Ctx& c, const std::string& p, ClusterData* cd) {
  // The format version decides how to read everything else, so it is checked first.
  // Missing or null reads as 0 (a pre-v1 document), as it would in Go.
  cd->format_version = 0;
  Fields f(j, c, p);
  RETURN_IF_ERROR(f("formatVersion", &cd->format_version).status());
  if (cd->format_version != kCurrentCDFormatVersion) {
    return absl::FailedPreconditionError(
        fmt::format("unsupported cluster data format version {}", cd->format_version));
  }
  return f("changeTime", &cd->change_time)("cluster", &cd->cluster)("keepers", &cd->keepers)(
             "dbs", &cd->dbs)("proxy", &cd->proxy)
      .Done();
}

absl::Status Dec(const json& j, const Ctx& c, const std::string& p, PostgresState* s) {
  return Fields(j, c, p)("uid", &s->uid)("generation", &s->generation)(
             "listenAddress", &s->listen_address)("port", &s->port)("healthy", &s->healthy)(
             "systemID", &s->system_id)("timelineID", &s->timeline_id)("xLogPos", &s->xlog_pos)(
             "timelinesHistory", &s->timelines_history)("pgParameters", &s->pg_parameters)(
             "synchronousStandbys", &s->synchronous_standbys)("olderWalFile", &s->older_wal_file)
      .Done();
}

absl::Status Dec(const json& j, const Ctx& c, const std::string& p, KeeperInfo* ki) {
  return Fields(j, c, p)("infoUID", &ki->info_uid)("uid", &ki->uid)("clusterUID", &ki->cluster_uid)(
             "bootUUID", &ki->boot_uuid)("postgresBinaryVersion", &ki->postgres_binary_version)(
             "postgresState", &ki->postgres_state)("canBeMaster", &ki->can_be_master)(
             "canBeSynchronousReplica", &ki->can_be_synchronous_replica)
      .Done();
}

absl::Status Dec(const json& j, const Ctx& c, const std::string& p, SentinelInfo* si) {
  return Fields(j, c, p)("UID", &si->uid).Done();
}

absl::Status Dec(const json& j, const Ctx& c, const std::string& p, ProxyInfo* pi) {
  int64_t timeout_ns = 0;  // Go's time.Duration: integer nanoseconds
  RETURN_IF_ERROR(Fields(j, c, p)("infoUID", &pi->info_uid)("UID", &pi->uid)(
                      "Generation", &pi->generation)("ProxyTimeout", &timeout_ns)
                      .Done());
  pi->proxy_timeout = Duration(timeout_ns);
  return absl::OkStatus();
}

absl::StatusOr<json> ParseJson(std::string_view text) {
  try {
    return json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    // Drop nlohmann's "[json.exception.parse_error.101] " tag; keep the position and reason.
    std::string_view what = e.what();
    if (auto pos = what.find("] "); what.starts_with("[json.exception") && pos != what.npos) {
      what.remove_prefix(pos + 2);
    }
    return absl::InvalidArgumentError(fmt::format("invalid JSON: {}", what));
  }
}

// Parses `text` and decodes it as a T; never throws.
template <typename T>
absl::StatusOr<T> Parse(std::string_view text, const Ctx& c) {
  ASSIGN_OR_RETURN(json j, ParseJson(text));
  T out;
  try {
    RETURN_IF_ERROR(Dec(j, c, "", &out));
  } catch (const json::exception& e) {  // defensive: every access above is type-checked
    return absl::InvalidArgumentError(fmt::format("{}: {}", c.root, e.what()));
  }
  return out;
}

}  // namespace

absl::StatusOr<ClusterData> ParseClusterData(std::string_view text) {
  return Parse<ClusterData>(text, Ctx{"cluster data"});
}

absl::StatusOr<std::optional<ClusterData>> ParseClusterDataOrNull(std::string_view text) {
  ASSIGN_OR_RETURN(json j, ParseJson(text));
  if (j.is_null()) return std::optional<ClusterData>();
  ClusterData cd;
  try {
    RETURN_IF_ERROR(Dec(j, Ctx{"cluster data"}, "", &cd));
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(fmt::format("cluster data: {}", e.what()));
  }
  return std::optional<ClusterData>(std::move(cd));
}

absl::StatusOr<ClusterSpec> ParseClusterSpec(std::string_view text) {
  return Parse<ClusterSpec>(text, Ctx{"cluster spec"});
}

absl::StatusOr<ClusterSpec> ParseClusterSpecStrict(std::string_view text) {
  return Parse<ClusterSpec>(text, Ctx{"cluster spec", /*strict=*/true});
}

absl::StatusOr<ClusterSpec> ClusterSpecFromJson(const nlohmann::json& j, bool strict) {
  ClusterSpec out;
  try {
    RETURN_IF_ERROR(Dec(j, Ctx{"cluster spec", strict}, "", &out));
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(fmt::format("cluster spec: {}", e.what()));
  }
  return out;
}

absl::StatusOr<KeeperInfo> ParseKeeperInfo(std::string_view text) {
  return Parse<KeeperInfo>(text, Ctx{"keeper info"});
}

absl::StatusOr<SentinelInfo> ParseSentinelInfo(std::string_view text) {
  return Parse<SentinelInfo>(text, Ctx{"sentinel info"});
}

absl::StatusOr<ProxyInfo> ParseProxyInfo(std::string_view text) {
  return Parse<ProxyInfo>(text, Ctx{"proxy info"});
}

}  // namespace stolon::cluster
