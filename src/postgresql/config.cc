#include "postgresql/config.h"

#include <algorithm>

#include "absl/strings/str_join.h"
#include "fmt/format.h"

namespace stolon::postgresql {

bool IsValidAuthMethod(const std::string& m) {
  return m == kAuthMd5 || m == kAuthTrust || m == kAuthScram;
}

const std::set<std::string>& ManagedParameters() {
  static const std::set<std::string> kManaged = {
      "unix_socket_directories",
      "wal_keep_segments",
      "wal_keep_size",
      "hot_standby",
      "listen_addresses",
      "port",
      "max_replication_slots",
      "max_wal_senders",
      "wal_log_hints",
      "synchronous_standby_names",
      "primary_conninfo",
      "primary_slot_name",
      "recovery_min_apply_delay",
      "restore_command",
      "recovery_target_timeline",
      "recovery_target",
      "recovery_target_lsn",
      "recovery_target_name",
      "recovery_target_time",
      "recovery_target_xid",
      "recovery_target_action",
  };
  return kManaged;
}

PGParameters FilterManagedParameters(const PGParameters& params) {
  PGParameters out;
  const auto& managed = ManagedParameters();
  for (const auto& [k, v] : params) {
    if (!managed.count(k)) out[k] = v;
  }
  return out;
}

std::string SynchronousStandbyNames(const cluster::DBSpec& spec) {
  if (!spec.synchronous_replication) return "";
  std::vector<std::string> names;
  for (const auto& uid : spec.synchronous_standbys) names.push_back(cluster::kStolonPrefix + uid);
  for (const auto& name : spec.external_synchronous_standbys) names.push_back(name);
  // Every listed standby must be synchronous (N = all of them): one failed standby blocks
  // commits, which is what protects against losing acknowledged transactions.
  if (names.size() > 1) return fmt::format("{} ({})", names.size(), absl::StrJoin(names, ","));
  return absl::StrJoin(names, ",");
}

PGParameters CreatePGParameters(const cluster::DBSpec& spec, const PGParameters& init_parameters,
                                const LocalInstance& local) {
  PGParameters p;
  if (spec.include_previous_config) p = init_parameters;
  for (const auto& [k, v] : spec.pg_parameters) p[k] = v;

  // Mandatory parameters.
  p["unix_socket_directories"] = local.unix_socket_dir;
  std::string wal_level = "hot_standby";
  if (local.binary_version && local.binary_version->AtLeast(9, 6)) wal_level = "replica";
  if (auto it = p.find("wal_level"); it != p.end() && it->second == "logical") {
    wal_level = "logical";
  }
  p["wal_level"] = wal_level;
  p["hot_standby"] = "on";

  // Managed parameters.
  bool pg13 = local.binary_version && local.binary_version->AtLeast(13);
  if (pg13) {
    // A user value (spec or previous config) is kept verbatim: it may carry a unit.
    if (!p.count("wal_keep_size")) p["wal_keep_size"] = "128";
  } else {
    int segments = 8;
    if (auto it = p.find("wal_keep_segments"); it != p.end()) {
      try {
        size_t pos = 0;
        int v = std::stoi(it->second, &pos);
        if (pos == it->second.size() && v > segments) segments = v;
      } catch (const std::exception&) {
        // Not an integer: keep the default, as stolon does.
      }
    }
    p["wal_keep_segments"] = std::to_string(segments);
  }
  // A standby reports its flush position at least every second instead of every 10s (the
  // PostgreSQL default). A synchronous commit waits for that report: when the sentinel names a
  // standby synchronous after a failover, the standby has often flushed the WAL already and sends
  // nothing new until the interval passes, so the default added up to 10s of write
  // unavailability to every synchronous failover (bench/failover). A user value is kept.
  if (!p.count("wal_receiver_status_interval")) p["wal_receiver_status_interval"] = "1s";
  p["listen_addresses"] = local.listen_address;
  p["port"] = local.port;
  p["max_replication_slots"] = std::to_string(spec.max_standbys);
  p["max_wal_senders"] =
      std::to_string(2 * static_cast<int>(spec.max_standbys) + 2 + spec.additional_wal_senders);
  if (spec.use_pg_rewind) p["wal_log_hints"] = "on";
  p["synchronous_standby_names"] = SynchronousStandbyNames(spec);
  return p;
}

bool RecoveryChangeIsReloadable(const RecoveryOptions& cur, const RecoveryOptions& next,
                                const PGVersion& v) {
  if (!v.AtLeast(13) || cur.mode != next.mode || next.mode == RecoveryMode::kNone) return false;
  std::set<std::string> reloadable = {"primary_conninfo", "primary_slot_name",
                                      "recovery_min_apply_delay"};
  if (v.AtLeast(14)) reloadable.insert("restore_command");
  std::set<std::string> keys;
  for (const auto& [k, val] : cur.params) keys.insert(k);
  for (const auto& [k, val] : next.params) keys.insert(k);
  for (const auto& k : keys) {
    auto a = cur.params.find(k);
    auto b = next.params.find(k);
    const bool same = a != cur.params.end() && b != next.params.end() && a->second == b->second;
    if (!same && !reloadable.count(k)) return false;
  }
  return true;
}

RecoveryOptions CreateRecoveryOptions(
    RecoveryMode mode, const std::optional<cluster::StandbySettings>& standby,
    const std::optional<cluster::ArchiveRecoverySettings>& archive,
    const std::optional<cluster::RecoveryTargetSettings>& target) {
  RecoveryOptions ro;
  ro.mode = mode;
  if (standby) {
    if (!standby->primary_conninfo.empty())
      ro.params["primary_conninfo"] = standby->primary_conninfo;
    if (!standby->primary_slot_name.empty()) {
      ro.params["primary_slot_name"] = standby->primary_slot_name;
    }
    if (!standby->recovery_min_apply_delay.empty()) {
      ro.params["recovery_min_apply_delay"] = standby->recovery_min_apply_delay;
    }
  }
  if (archive) ro.params["restore_command"] = archive->restore_command;
  if (!target) {
    ro.params["recovery_target_timeline"] = "latest";
  } else {
    auto set = [&](const char* k, const std::string& v) {
      if (!v.empty()) ro.params[k] = v;
    };
    set("recovery_target", target->recovery_target);
    set("recovery_target_lsn", target->recovery_target_lsn);
    set("recovery_target_name", target->recovery_target_name);
    set("recovery_target_time", target->recovery_target_time);
    set("recovery_target_xid", target->recovery_target_xid);
    set("recovery_target_timeline", target->recovery_target_timeline);
    ro.params["recovery_target_action"] = "promote";
  }
  return ro;
}

std::string QuoteConfValue(const std::string& value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') out += c;
    out += c;
  }
  out += '\'';
  return out;
}

namespace {
void AppendParams(std::string* out, const PGParameters& params) {
  for (const auto& [k, v] : params) *out += fmt::format("{} = {}\n", k, QuoteConfValue(v));
}
}  // namespace

std::string PostgresqlConfContent(const PGParameters& params, const RecoveryOptions& recovery,
                                  PGVersion version) {
  std::string out = "# Generated by the stolon keeper: do not edit, changes are overwritten.\n";
  AppendParams(&out, params);
  if (version.AtLeast(12) && recovery.mode != RecoveryMode::kNone) {
    out += "\n# Recovery parameters\n";
    AppendParams(&out, recovery.params);
  }
  return out;
}

std::string RecoveryConfContent(const RecoveryOptions& recovery) {
  if (recovery.mode == RecoveryMode::kNone) return "";
  std::string out;
  if (recovery.mode == RecoveryMode::kStandby) out += "standby_mode = 'on'\n";
  AppendParams(&out, recovery.params);
  return out;
}

std::string TempMergedConfContent(const PGParameters& params, bool include_existing) {
  std::string out;
  if (include_existing) out += "include 'postgresql.conf'\n";
  AppendParams(&out, params);
  return out;
}

std::vector<std::string> GenerateHBA(const HBAOptions& o) {
  std::vector<std::string> hba = {
      fmt::format("local postgres {} {}", o.su_user, o.su_auth_method),
      fmt::format("local replication {} {}", o.repl_user, o.repl_auth_method),
  };
  if (o.access_mode == cluster::kAccessStrict) {
    // Only the master accepts su and replication connections, and only from the other dbs.
    if (o.is_master) {
      std::vector<std::string> addrs;
      for (const auto& a : o.other_db_addresses) {
        if (!a.empty()) addrs.push_back(a);
      }
      std::sort(addrs.begin(), addrs.end());
      for (const auto& a : addrs) {
        // stolon uses the replication auth method for the superuser line too (kept as is).
        hba.push_back(fmt::format("host all {} {}/32 {}", o.su_user, a, o.repl_auth_method));
        hba.push_back(
            fmt::format("host replication {} {}/32 {}", o.repl_user, a, o.repl_auth_method));
      }
    }
  } else {
    hba.push_back(fmt::format("host all {} 0.0.0.0/0 {}", o.su_user, o.su_auth_method));
    hba.push_back(fmt::format("host all {} ::0/0 {}", o.su_user, o.su_auth_method));
    hba.push_back(fmt::format("host replication {} 0.0.0.0/0 {}", o.repl_user, o.repl_auth_method));
    hba.push_back(fmt::format("host replication {} ::0/0 {}", o.repl_user, o.repl_auth_method));
  }
  if (!o.only_internal) {
    if (o.pg_hba) {
      hba.insert(hba.end(), o.pg_hba->begin(), o.pg_hba->end());
    } else {
      hba.push_back("host all all 0.0.0.0/0 md5");
      hba.push_back("host all all ::0/0 md5");
    }
  }
  return hba;
}

std::string HBAContent(const std::vector<std::string>& entries) {
  std::string out;
  for (const auto& e : entries) out += e + "\n";
  return out;
}

}  // namespace stolon::postgresql
