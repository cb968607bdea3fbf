// ClusterSpec defaults, validation and the spec update rules (stolon's WithDefaults, Validate and
// Cluster.UpdateSpec). Every error names the field, the offending value and what is allowed.
#include <optional>
#include <string>
#include <string_view>

#include "cluster/cluster.h"
#include "common/status.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace stolon::cluster {
namespace {

template <typename T>
void Default(std::optional<T>& field, T value) {
  if (!field) field = value;
}

// A string quoted and escaped as JSON, so newlines and quotes in bad values stay visible.
std::string Quote(std::string_view s) {
  return nlohmann::json(std::string(s))
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

absl::Status Invalid(const std::string& msg) { return absl::InvalidArgumentError(msg); }

absl::Status CheckNotNegative(std::string_view field, Duration d) {
  if (d >= Duration(0)) return absl::OkStatus();
  return Invalid(
      fmt::format("{} must not be negative, got \"{}\" (use a duration >= 0 such as \"5s\")", field,
                  FormatGoDuration(d)));
}

absl::Status CheckAtLeastOne(std::string_view field, uint16_t v) {
  if (v >= 1) return absl::OkStatus();
  return Invalid(fmt::format("{} must be at least 1, got {}", field, v));
}

bool IsValidReplSlotName(std::string_view name) {
  if (name.empty()) return false;
  for (char ch : name) {
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_')) return false;
  }
  return true;
}

absl::Status ValidateDurations(const ClusterSpec& s) {
  const std::pair<const char*, Duration> durations[] = {
      {"sleepInterval", *s.sleep_interval},
      {"requestTimeout", *s.request_timeout},
      {"convergenceTimeout", *s.convergence_timeout},
      {"initTimeout", *s.init_timeout},
      {"syncTimeout", *s.sync_timeout},
      {"dbWaitReadyTimeout", *s.db_wait_ready_timeout},
      {"failInterval", *s.fail_interval},
      {"deadKeeperRemovalInterval", *s.dead_keeper_removal_interval},
      {"proxyCheckInterval", *s.proxy_check_interval},
      {"proxyTimeout", *s.proxy_timeout},
  };
  for (const auto& [field, d] : durations) RETURN_IF_ERROR(CheckNotNegative(field, d));
  if (*s.proxy_check_interval >= *s.proxy_timeout) {
    return Invalid(
        fmt::format("proxyCheckInterval (\"{}\") must be less than proxyTimeout (\"{}\")",
                    FormatGoDuration(*s.proxy_check_interval), FormatGoDuration(*s.proxy_timeout)));
  }
  return absl::OkStatus();
}

absl::Status ValidateCounts(const ClusterSpec& s) {
  RETURN_IF_ERROR(CheckAtLeastOne("maxStandbys", *s.max_standbys));
  RETURN_IF_ERROR(CheckAtLeastOne("maxStandbysPerSender", *s.max_standbys_per_sender));
  RETURN_IF_ERROR(CheckAtLeastOne("maxSynchronousStandbys", *s.max_synchronous_standbys));
  if (*s.max_synchronous_standbys < *s.min_synchronous_standbys) {
    return Invalid(fmt::format(
        "maxSynchronousStandbys ({}) must be greater than or equal to minSynchronousStandbys ({})",
        *s.max_synchronous_standbys, *s.min_synchronous_standbys));
  }
  return absl::OkStatus();
}

absl::Status ValidateLists(const ClusterSpec& s) {
  if (s.additional_master_replication_slots) {
    for (const auto& slot : *s.additional_master_replication_slots) {
      if (!IsValidReplSlotName(slot)) {
        return Invalid(
            fmt::format("invalid additionalMasterReplicationSlots entry {}: a slot name must match "
                        "^[a-z0-9_]+$",
                        Quote(slot)));
      }
      if (slot.starts_with(kStolonPrefix)) {
        return Invalid(fmt::format(
            "invalid additionalMasterReplicationSlots entry {}: names starting with \"{}\" are "
            "reserved for stolon",
            Quote(slot), kStolonPrefix));
      }
    }
  }
  if (s.pg_hba) {
    for (const auto& entry : *s.pg_hba) {
      if (entry.find('\n') != std::string::npos || entry.find('\r') != std::string::npos) {
        return Invalid(fmt::format(
            "invalid pgHBA entry {}: entries cannot contain newline characters (use one array "
            "element per pg_hba.conf line)",
            Quote(entry)));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateInitMode(const ClusterSpec& s) {
  const std::string& role = *s.role;
  if (*s.init_mode == kInitModeNew) {
    if (role == kRoleStandby) {
      return Invalid(
          "invalid role \"standby\" with initMode \"new\": a new cluster must have role master "
          "(use initMode pitr or existing to start a standby cluster)");
    }
  } else if (*s.init_mode == kInitModeExisting) {
    if (!s.existing_config) {
      return Invalid(
          "existingConfig undefined: required when initMode is \"existing\" (set "
          "existingConfig.keeperUID to the keeper whose database to use)");
    }
    if (s.existing_config->keeper_uid.empty()) {
      return Invalid("existingConfig.keeperUID undefined: required when initMode is \"existing\"");
    }
  } else if (*s.init_mode == kInitModePITR) {
    if (!s.pitr_config) {
      return Invalid(
          "pitrConfig undefined: required when initMode is \"pitr\" (set "
          "pitrConfig.dataRestoreCommand)");
    }
    if (s.pitr_config->data_restore_command.empty()) {
      return Invalid("pitrConfig.dataRestoreCommand undefined: required when initMode is \"pitr\"");
    }
    if (s.pitr_config->recovery_target_settings && role == kRoleStandby) {
      return Invalid(
          "pitrConfig.recoveryTargetSettings cannot be set when role is \"standby\" (remove it, "
          "or use role master)");
    }
  } else {
    return Invalid(fmt::format("invalid initMode {}: must be one of new, existing, pitr",
                               Quote(*s.init_mode)));
  }
  return absl::OkStatus();
}

}  // namespace

ClusterSpec ClusterSpec::WithDefaults() const {
  ClusterSpec s = *this;
  Default(s.sleep_interval, kDefaultSleepInterval);
  Default(s.request_timeout, kDefaultRequestTimeout);
  Default(s.convergence_timeout, kDefaultConvergenceTimeout);
  Default(s.init_timeout, kDefaultInitTimeout);
  Default(s.sync_timeout, kDefaultSyncTimeout);
  Default(s.db_wait_ready_timeout, kDefaultDBWaitReadyTimeout);
  Default(s.fail_interval, kDefaultFailInterval);
  Default(s.dead_keeper_removal_interval, kDefaultDeadKeeperRemovalInterval);
  Default(s.proxy_check_interval, kDefaultProxyCheckInterval);
  Default(s.proxy_timeout, kDefaultProxyTimeout);
  Default(s.max_standbys, kDefaultMaxStandbys);
  Default(s.max_standbys_per_sender, kDefaultMaxStandbysPerSender);
  Default(s.max_standby_lag, kDefaultMaxStandbyLag);
  Default(s.synchronous_replication, false);
  Default(s.use_pg_rewind, false);
  Default(s.min_synchronous_standbys, kDefaultMinSynchronousStandbys);
  Default(s.max_synchronous_standbys, kDefaultMaxSynchronousStandbys);
  Default(s.additional_wal_senders, kDefaultAdditionalWalSenders);
  Default(s.merge_pg_parameters, true);
  Default(s.default_su_repl_access_mode, std::string(kAccessAll));
  Default(s.role, std::string(kRoleMaster));
  Default(s.automatic_pg_restart, false);
  return s;
}

absl::Status ClusterSpec::Validate() const {
  const ClusterSpec s = WithDefaults();
  RETURN_IF_ERROR(ValidateDurations(s));
  RETURN_IF_ERROR(ValidateCounts(s));
  if (!s.init_mode) {
    return Invalid("initMode undefined: set it to one of new, existing, pitr");
  }
  RETURN_IF_ERROR(ValidateLists(s));
  RETURN_IF_ERROR(ValidateInitMode(s));
  if (*s.default_su_repl_access_mode != kAccessAll &&
      *s.default_su_repl_access_mode != kAccessStrict) {
    return Invalid(fmt::format("invalid defaultSUReplAccessMode {}: must be one of all, strict",
                               Quote(*s.default_su_repl_access_mode)));
  }
  if (*s.role == kRoleStandby) {
    if (!s.standby_config) {
      return Invalid(
          "standbyConfig undefined: required when role is \"standby\" (set "
          "standbyConfig.standbySettings.primaryConninfo)");
    }
  } else if (*s.role != kRoleMaster) {
    return Invalid(fmt::format("invalid role {}: must be one of master, standby", Quote(*s.role)));
  }
  return absl::OkStatus();
}

absl::Status ValidateSpecUpdate(const ClusterSpec& current, const ClusterSpec& next) {
  if (absl::Status st = next.Validate(); !st.ok()) {
    return Invalid(fmt::format("invalid cluster spec: {}", std::string(st.message())));
  }
  const ClusterSpec cur = current.WithDefaults();
  const ClusterSpec nxt = next.WithDefaults();
  if (cur.init_mode != nxt.init_mode) {
    return Invalid(
        fmt::format("cannot change cluster init mode (from {} to {}); initMode is fixed "
                    "when the cluster is initialized",
                    cur.init_mode ? Quote(*cur.init_mode) : "unset", Quote(*nxt.init_mode)));
  }
  if (*cur.role == kRoleMaster && *nxt.role == kRoleStandby) {
    return Invalid(
        "cannot update a cluster from master role to standby role (only standby to master, a "
        "promotion, is allowed)");
  }
  return absl::OkStatus();
}

}  // namespace stolon::cluster
