// Encoding of the cluster model to stolon's JSON (see json.h for the rules).
//
// omitempty rules follow stolon's Go struct tags: scalar and pointer fields tagged omitempty are
// left out when zero/unset; struct values (times, durations, status objects) are always written.
// Lists tagged without omitempty are written as null when unset, except DBSpec.followers which
// we always write as [] when empty (stolon itself writes both [] and null there).
#include <string>
#include <vector>

#include "cluster/json.h"

namespace stolon::cluster {
namespace {

using nlohmann::json;

// Every object encoder, declared up front so the templates below can call any of them.
json Enc(const NewConfig& c);
json Enc(const ArchiveRecoverySettings& s);
json Enc(const RecoveryTargetSettings& s);
json Enc(const StandbySettings& s);
json Enc(const PITRConfig& c);
json Enc(const ExistingConfig& c);
json Enc(const StandbyConfig& c);
json Enc(const FollowConfig& c);
json Enc(const PostgresState& s);

json Strings(const std::vector<std::string>& v) {
  json a = json::array();
  for (const auto& s : v) a.push_back(s);
  return a;
}
// A list that stolon writes without omitempty, null when empty.
json StringsOrNull(const std::vector<std::string>& v) {
  return v.empty() ? json(nullptr) : Strings(v);
}
json OptStrings(const std::optional<std::vector<std::string>>& v) {
  return v ? Strings(*v) : json(nullptr);
}
json Params(const PGParameters& p) {
  json o = json::object();
  for (const auto& [k, v] : p) o[k] = v;
  return o;
}

void PutStr(json& o, const char* key, const std::string& v) {
  if (!v.empty()) o[key] = v;
}
void PutBool(json& o, const char* key, bool v) {
  if (v) o[key] = true;
}
template <typename T>
void PutNum(json& o, const char* key, T v) {
  if (v != 0) o[key] = v;
}
template <typename T>
void PutOpt(json& o, const char* key, const std::optional<T>& v) {
  if (v) o[key] = *v;
}

json Enc(const NewConfig& c) {
  json o = json::object();
  PutStr(o, "locale", c.locale);
  PutStr(o, "encoding", c.encoding);
  PutBool(o, "dataChecksums", c.data_checksums);
  return o;
}
json Enc(const ArchiveRecoverySettings& s) {
  json o = json::object();
  PutStr(o, "restoreCommand", s.restore_command);
  return o;
}
json Enc(const RecoveryTargetSettings& s) {
  json o = json::object();
  PutStr(o, "recoveryTarget", s.recovery_target);
  PutStr(o, "recoveryTargetLsn", s.recovery_target_lsn);
  PutStr(o, "recoveryTargetName", s.recovery_target_name);
  PutStr(o, "recoveryTargetTime", s.recovery_target_time);
  PutStr(o, "recoveryTargetXid", s.recovery_target_xid);
  PutStr(o, "recoveryTargetTimeline", s.recovery_target_timeline);
  return o;
}
json Enc(const StandbySettings& s) {
  json o = json::object();
  PutStr(o, "primaryConninfo", s.primary_conninfo);
  PutStr(o, "primarySlotName", s.primary_slot_name);
  PutStr(o, "recoveryMinApplyDelay", s.recovery_min_apply_delay);
  return o;
}
template <typename T>
void PutObj(json& o, const char* key, const std::optional<T>& v) {
  if (v) o[key] = Enc(*v);
}
json Enc(const PITRConfig& c) {
  json o = json::object();
  PutStr(o, "dataRestoreCommand", c.data_restore_command);
  PutObj(o, "archiveRecoverySettings", c.archive_recovery_settings);
  PutObj(o, "recoveryTargetSettings", c.recovery_target_settings);
  return o;
}
json Enc(const ExistingConfig& c) {
  json o = json::object();
  PutStr(o, "keeperUID", c.keeper_uid);
  return o;
}
json Enc(const StandbyConfig& c) {
  json o = json::object();
  PutObj(o, "standbySettings", c.standby_settings);
  PutObj(o, "archiveRecoverySettings", c.archive_recovery_settings);
  return o;
}
json Enc(const FollowConfig& c) {
  json o = json::object();
  PutStr(o, "type", c.type);
  PutStr(o, "dbuid", c.db_uid);
  PutObj(o, "standbySettings", c.standby_settings);
  PutObj(o, "archiveRecoverySettings", c.archive_recovery_settings);
  return o;
}
json Enc(const PostgresBinaryVersion& v) { return json{{"Maj", v.maj}, {"Min", v.min}}; }
json Enc(const TimelinesHistory& h) {
  json a = json::array();
  for (const auto& e : h) {
    a.push_back(
        json{{"timelineID", e.timeline_id}, {"switchPoint", e.switch_point}, {"reason", e.reason}});
  }
  return a;
}

json Enc(const ClusterStatus& s) {
  json o = json::object();
  PutNum(o, "currentGeneration", s.current_generation);
  PutStr(o, "phase", s.phase);
  PutStr(o, "master", s.master);
  return o;
}
json Enc(const Cluster& c) {
  json o = json::object();
  PutStr(o, "uid", c.uid);
  PutNum(o, "generation", c.generation);
  o["changeTime"] = FormatTime(c.change_time);
  o["spec"] = ToJson(c.spec);
  o["status"] = Enc(c.status);
  return o;
}
json Enc(const KeeperStatus& s) {
  json o = json::object();
  PutBool(o, "healthy", s.healthy);
  o["lastHealthyTime"] = FormatTime(s.last_healthy_time);
  PutStr(o, "bootUUID", s.boot_uuid);
  o["postgresBinaryVersion"] = Enc(s.postgres_binary_version);
  PutBool(o, "forceFail", s.force_fail);
  PutOpt(o, "canBeMaster", s.can_be_master);
  PutOpt(o, "canBeSynchronousReplica", s.can_be_synchronous_replica);
  return o;
}
json Enc(const Keeper& k) {
  json o = json::object();
  PutStr(o, "uid", k.uid);
  PutNum(o, "generation", k.generation);
  o["changeTime"] = FormatTime(k.change_time);
  o["spec"] = json::object();
  o["status"] = Enc(k.status);
  return o;
}
json Enc(const DBSpec& s) {
  json o = json::object();
  PutStr(o, "keeperUID", s.keeper_uid);
  o["requestTimeout"] = FormatGoDuration(s.request_timeout);
  PutNum(o, "maxStandbys", s.max_standbys);
  PutBool(o, "synchronousReplication", s.synchronous_replication);
  PutBool(o, "usePgrewind", s.use_pg_rewind);
  o["additionalWalSenders"] = s.additional_wal_senders;
  o["additionalReplicationSlots"] = OptStrings(s.additional_replication_slots);
  PutStr(o, "initMode", s.init_mode);
  PutObj(o, "newConfig", s.new_config);
  PutObj(o, "pitrConfig", s.pitr_config);
  if (!s.pg_parameters.empty()) o["pgParameters"] = Params(s.pg_parameters);
  o["pgHBA"] = OptStrings(s.pg_hba);
  PutStr(o, "role", s.role);
  PutObj(o, "followConfig", s.follow_config);
  o["followers"] = Strings(s.followers);
  PutBool(o, "includePreviousConfig", s.include_previous_config);
  o["synchronousStandbys"] = StringsOrNull(s.synchronous_standbys);
  o["externalSynchronousStandbys"] = StringsOrNull(s.external_synchronous_standbys);
  return o;
}
json Enc(const DBStatus& s) {
  json o = json::object();
  PutBool(o, "healthy", s.healthy);
  PutNum(o, "currentGeneration", s.current_generation);
  PutStr(o, "listenAddress", s.listen_address);
  PutStr(o, "port", s.port);
  PutStr(o, "systemdID", s.system_id);
  PutNum(o, "timelineID", s.timeline_id);
  PutNum(o, "xLogPos", s.xlog_pos);
  if (!s.timelines_history.empty()) o["timelinesHistory"] = Enc(s.timelines_history);
  if (!s.pg_parameters.empty()) o["pgParameters"] = Params(s.pg_parameters);
  o["synchronousStandbys"] = StringsOrNull(s.synchronous_standbys);
  PutStr(o, "olderWalFile", s.older_wal_file);
  return o;
}
json Enc(const DB& d) {
  json o = json::object();
  PutStr(o, "uid", d.uid);
  PutNum(o, "generation", d.generation);
  o["changeTime"] = FormatTime(d.change_time);
  o["spec"] = Enc(d.spec);
  o["status"] = Enc(d.status);
  return o;
}
json Enc(const Proxy& p) {
  json o = json::object();
  PutStr(o, "uid", p.uid);
  PutNum(o, "generation", p.generation);
  o["changeTime"] = FormatTime(p.change_time);
  json spec = json::object();
  PutStr(spec, "masterDbUid", p.spec.master_db_uid);
  if (!p.spec.enabled_proxies.empty()) spec["enabledProxies"] = Strings(p.spec.enabled_proxies);
  o["spec"] = spec;
  o["status"] = json::object();
  return o;
}
json Enc(const PostgresState& s) {
  json o = json::object();
  PutStr(o, "uid", s.uid);
  PutNum(o, "generation", s.generation);
  PutStr(o, "listenAddress", s.listen_address);
  PutStr(o, "port", s.port);
  PutBool(o, "healthy", s.healthy);
  PutStr(o, "systemID", s.system_id);
  PutNum(o, "timelineID", s.timeline_id);
  PutNum(o, "xLogPos", s.xlog_pos);
  if (!s.timelines_history.empty()) o["timelinesHistory"] = Enc(s.timelines_history);
  if (!s.pg_parameters.empty()) o["pgParameters"] = Params(s.pg_parameters);
  o["synchronousStandbys"] = StringsOrNull(s.synchronous_standbys);
  PutStr(o, "olderWalFile", s.older_wal_file);
  return o;
}

// Go replaces invalid UTF-8 with U+FFFD when marshalling; do the same instead of throwing.
std::string Dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace

json ToJson(const ClusterSpec& s) { return ToJson(s, SpecKeys::kStored); }

json ToJson(const ClusterSpec& s, SpecKeys keys) {
  json o = json::object();
  // Writes `key` when set; when unset writes null if the style asks for the key anyway.
  auto put = [&](const char* key, bool set, auto&& value, bool stored_always = false) {
    if (set) {
      o[key] = value();
    } else if (keys == SpecKeys::kAllKeys || (keys == SpecKeys::kStored && stored_always)) {
      o[key] = nullptr;
    }
  };
  auto dur = [&](const char* key, const std::optional<Duration>& d) {
    put(key, d.has_value(), [&] { return FormatGoDuration(*d); });
  };
  auto opt = [&](const char* key, const auto& v, bool stored_always = false) {
    put(
        key, v.has_value(), [&] { return json(*v); }, stored_always);
  };
  auto obj = [&](const char* key, const auto& v) {
    put(key, v.has_value(), [&] { return Enc(*v); });
  };
  // A list: kOmitEmpty (all omitempty) also drops an empty one.
  auto list = [&](const char* key, const std::optional<std::vector<std::string>>& v) {
    bool set = v.has_value() && !(keys == SpecKeys::kOmitEmpty && v->empty());
    put(
        key, set, [&] { return Strings(*v); }, /*stored_always=*/true);
  };
  dur("sleepInterval", s.sleep_interval);
  dur("requestTimeout", s.request_timeout);
  dur("convergenceTimeout", s.convergence_timeout);
  dur("initTimeout", s.init_timeout);
  dur("syncTimeout", s.sync_timeout);
  dur("dbWaitReadyTimeout", s.db_wait_ready_timeout);
  dur("failInterval", s.fail_interval);
  dur("deadKeeperRemovalInterval", s.dead_keeper_removal_interval);
  dur("proxyCheckInterval", s.proxy_check_interval);
  dur("proxyTimeout", s.proxy_timeout);
  opt("maxStandbys", s.max_standbys);
  opt("maxStandbysPerSender", s.max_standbys_per_sender);
  opt("maxStandbyLag", s.max_standby_lag);
  opt("synchronousReplication", s.synchronous_replication);
  opt("minSynchronousStandbys", s.min_synchronous_standbys);
  opt("maxSynchronousStandbys", s.max_synchronous_standbys);
  opt("additionalWalSenders", s.additional_wal_senders, /*stored_always=*/true);
  list("additionalMasterReplicationSlots", s.additional_master_replication_slots);
  opt("usePgrewind", s.use_pg_rewind);
  opt("initMode", s.init_mode);
  opt("mergePgParameters", s.merge_pg_parameters);
  opt("role", s.role);
  obj("newConfig", s.new_config);
  obj("pitrConfig", s.pitr_config);
  obj("existingConfig", s.existing_config);
  obj("standbyConfig", s.standby_config);
  opt("defaultSUReplAccessMode", s.default_su_repl_access_mode);
  put("pgParameters", !s.pg_parameters.empty(), [&] { return Params(s.pg_parameters); });
  list("pgHBA", s.pg_hba);
  opt("automaticPgRestart", s.automatic_pg_restart, /*stored_always=*/true);
  return o;
}

json ToJson(const ClusterData& cd) {
  json o = json::object();
  o["formatVersion"] = cd.format_version;
  o["changeTime"] = FormatTime(cd.change_time);
  o["cluster"] = Enc(cd.cluster);
  json keepers = json::object();
  for (const auto& [uid, k] : cd.keepers) keepers[uid] = Enc(k);
  o["keepers"] = keepers;
  json dbs = json::object();
  for (const auto& [uid, d] : cd.dbs) dbs[uid] = Enc(d);
  o["dbs"] = dbs;
  o["proxy"] = Enc(cd.proxy);
  return o;
}

json ToJson(const KeeperInfo& ki) {
  json o = json::object();
  PutStr(o, "infoUID", ki.info_uid);
  PutStr(o, "uid", ki.uid);
  PutStr(o, "clusterUID", ki.cluster_uid);
  PutStr(o, "bootUUID", ki.boot_uuid);
  o["postgresBinaryVersion"] = Enc(ki.postgres_binary_version);
  PutObj(o, "postgresState", ki.postgres_state);
  PutOpt(o, "canBeMaster", ki.can_be_master);
  PutOpt(o, "canBeSynchronousReplica", ki.can_be_synchronous_replica);
  return o;
}

json ToJson(const SentinelInfo& si) { return json{{"UID", si.uid}}; }

json ToJson(const ProxyInfo& pi) {
  json o = json::object();
  PutStr(o, "infoUID", pi.info_uid);
  o["UID"] = pi.uid;
  o["Generation"] = pi.generation;
  o["ProxyTimeout"] = pi.proxy_timeout.count();
  return o;
}

std::string EncodeClusterData(const ClusterData& cd) { return Dump(ToJson(cd)); }
std::string EncodeClusterSpec(const ClusterSpec& spec) { return Dump(ToJson(spec)); }
std::string EncodeKeeperInfo(const KeeperInfo& ki) { return Dump(ToJson(ki)); }
std::string EncodeSentinelInfo(const SentinelInfo& si) { return Dump(ToJson(si)); }
std::string EncodeProxyInfo(const ProxyInfo& pi) { return Dump(ToJson(pi)); }

}  // namespace stolon::cluster
