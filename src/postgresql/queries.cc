#include "postgresql/queries.h"

#include <algorithm>
#include <filesystem>
#include <set>
#include <thread>

#include "common/log.h"
#include "common/status.h"
#include "fmt/format.h"
#include "postgresql/util.h"
#include "spdlog/spdlog.h"

namespace stolon::postgresql {
namespace {

constexpr std::string_view kPrefix = "stolon_";

bool HasStolonPrefix(const std::string& s) { return s.rfind(kPrefix.data(), 0) == 0; }

// Runs `stmt` in a transaction that keeps it out of the server log.
absl::Status ExecUnlogged(Connection& conn, const std::string& stmt) {
  RETURN_IF_ERROR(conn.Exec("begin"));
  absl::Status s = conn.Exec("set local log_statement = 'none'");
  if (s.ok()) s = conn.Exec(stmt);
  if (!s.ok()) {
    (void)conn.Exec("rollback");
    return s;
  }
  return conn.Exec("commit");
}

}  // namespace

absl::StatusOr<cluster::PGParameters> GetConfigFilePGParameters(Connection& conn) {
  // pg_file_settings (not pg_settings): pg_settings shows e.g. archive_command as "(disabled)"
  // when archiving is off, losing the configured value. Rows come in file order; later wins.
  ASSIGN_OR_RETURN(auto r, conn.Query("select name, setting from pg_file_settings "
                                      "where name is not null and setting is not null "
                                      "order by seqno"));
  cluster::PGParameters out;
  for (const auto& row : r.rows) out[*row[0]] = *row[1];
  return out;
}

absl::StatusOr<std::vector<std::string>> GetSyncStandbys(Connection& conn) {
  ASSIGN_OR_RETURN(auto r,
                   conn.Query("select application_name, sync_state from pg_stat_replication"));
  std::vector<std::string> out;
  for (const auto& row : r.rows) {
    if (!row[0] || !row[1] || *row[1] != "sync" || !HasStolonPrefix(*row[0])) continue;
    out.push_back(row[0]->substr(kPrefix.size()));
  }
  std::sort(out.begin(), out.end());
  return out;
}

absl::StatusOr<bool> NudgeSyncStandbys(Connection& conn, const std::vector<std::string>& app_names,
                                       std::chrono::milliseconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    ASSIGN_OR_RETURN(auto r, conn.Query("select application_name, sync_priority "
                                        "from pg_stat_replication"));
    bool connected = false;
    bool ready = false;
    for (const auto& row : r.rows) {
      if (!row[0] || !row[1]) continue;
      if (std::find(app_names.begin(), app_names.end(), *row[0]) == app_names.end()) continue;
      connected = true;
      if (*row[1] != "0") ready = true;
    }
    if (ready) break;
    // None of them is connected: nobody to nudge (a standby that connects later reports anyway).
    if (!connected || std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  RETURN_IF_ERROR(conn.Exec("begin"));
  absl::Status s = conn.Exec("set local synchronous_commit = local");
  if (s.ok()) s = conn.Exec("select txid_current()");
  if (!s.ok()) {
    (void)conn.Exec("rollback");
    return s;
  }
  RETURN_IF_ERROR(conn.Exec("commit"));
  return true;
}

absl::StatusOr<std::map<std::string, int64_t>> GetStandbyReplicationLag(Connection& conn) {
  // pg_current_wal_lsn() fails during recovery: a standby reports nothing.
  ASSIGN_OR_RETURN(auto r, conn.Query("select application_name, "
                                      "pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint "
                                      "from pg_stat_replication where not pg_is_in_recovery() "
                                      "and replay_lsn is not null"));
  std::map<std::string, int64_t> out;
  for (const auto& row : r.rows) {
    if (!row[0] || !row[1] || !HasStolonPrefix(*row[0])) continue;
    out[row[0]->substr(kPrefix.size())] = std::stoll(*row[1]);
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> GetReplicationSlots(Connection& conn) {
  ASSIGN_OR_RETURN(auto r, conn.Query("select slot_name from pg_replication_slots "
                                      "where temporary is false order by slot_name"));
  std::vector<std::string> out;
  for (const auto& row : r.rows) {
    if (row[0]) out.push_back(*row[0]);
  }
  return out;
}

absl::Status CreateReplicationSlot(Connection& conn, const std::string& name) {
  return conn.Exec("select pg_create_physical_replication_slot($1)", {name});
}

absl::Status DropReplicationSlot(Connection& conn, const std::string& name) {
  return conn.Exec("select pg_drop_replication_slot($1)", {name});
}

absl::StatusOr<SlotsChange> RefreshReplicationSlots(
    Connection& conn, const std::vector<std::string>& followers,
    const std::vector<std::string>& additional_slots) {
  std::set<std::string> wanted;
  for (const auto& f : followers) wanted.insert(std::string(kPrefix) + f);
  for (const auto& a : additional_slots) wanted.insert(std::string(kPrefix) + a);
  ASSIGN_OR_RETURN(auto existing, GetReplicationSlots(conn));
  SlotsChange change;
  for (const auto& slot : existing) {
    if (!HasStolonPrefix(slot) || wanted.count(slot)) continue;
    spdlog::info("dropping replication slot{}", LogFields({{"slot", slot}}));
    if (auto s = DropReplicationSlot(conn, slot); !s.ok()) {
      spdlog::error("failed to drop replication slot{}",
                    LogFields({{"slot", slot}, {"err", std::string(s.message())}}));
      change.drop_failed.push_back(slot);
    } else {
      change.dropped.push_back(slot);
    }
  }
  std::set<std::string> have(existing.begin(), existing.end());
  for (const auto& slot : wanted) {
    if (have.count(slot)) continue;
    spdlog::info("creating replication slot{}", LogFields({{"slot", slot}}));
    if (auto s = CreateReplicationSlot(conn, slot); !s.ok()) {
      spdlog::error("failed to create replication slot{}",
                    LogFields({{"slot", slot}, {"err", std::string(s.message())}}));
      return Annotate(s, fmt::format("creating replication slot {}", slot));
    }
    change.created.push_back(slot);
  }
  return change;
}

absl::StatusOr<std::vector<std::string>> GetPendingRestartParameters(Connection& conn) {
  ASSIGN_OR_RETURN(auto r,
                   conn.Query("select name from pg_settings where pending_restart order by name"));
  std::vector<std::string> out;
  for (const auto& row : r.rows) out.push_back(*row[0]);
  return out;
}

absl::StatusOr<bool> IsRestartRequired(Connection& conn) {
  ASSIGN_OR_RETURN(auto names, GetPendingRestartParameters(conn));
  return !names.empty();
}

absl::StatusOr<bool> IsRestartRequiredByContext(Connection& conn,
                                                const std::vector<std::string>& changed) {
  if (changed.empty()) return false;
  std::string array = "{";
  for (size_t i = 0; i < changed.size(); ++i) {
    if (i) array += ",";
    array += "\"";
    for (char c : changed[i]) {
      if (c == '"' || c == '\\') array += '\\';
      array += c;
    }
    array += "\"";
  }
  array += "}";
  ASSIGN_OR_RETURN(auto r, conn.Query("select count(*) > 0 from pg_settings "
                                      "where context = 'postmaster' and name = any($1::text[])",
                                      {array}));
  return !r.rows.empty() && r.rows[0][0] && *r.rows[0][0] == "t";
}

std::vector<std::string> ChangedParameters(const cluster::PGParameters& a,
                                           const cluster::PGParameters& b) {
  std::set<std::string> out;
  for (const auto& [k, v] : a) {
    auto it = b.find(k);
    if (it == b.end() || it->second != v) out.insert(k);
  }
  for (const auto& [k, v] : b) {
    if (!a.count(k)) out.insert(k);
  }
  return {out.begin(), out.end()};
}

absl::Status SetupRoles(Connection& conn, const Roles& r) {
  ASSIGN_OR_RETURN(std::string su, conn.QuoteIdentifier(r.su_user));
  if (r.su_user == r.repl_user) {
    spdlog::info("adding replication role to superuser");
    std::string stmt = fmt::format("alter role {} with login replication", su);
    if (r.su_auth_method != "trust") {
      ASSIGN_OR_RETURN(std::string pw, conn.QuoteLiteral(r.su_password));
      stmt += " encrypted password " + pw;
    }
    RETURN_IF_ERROR(Annotate(ExecUnlogged(conn, stmt), "adding replication role to superuser"));
    spdlog::info("replication role added to superuser");
    return absl::OkStatus();
  }
  if (r.su_auth_method != "trust") {
    spdlog::info("setting superuser password");
    ASSIGN_OR_RETURN(std::string pw, conn.QuoteLiteral(r.su_password));
    RETURN_IF_ERROR(Annotate(
        ExecUnlogged(conn, fmt::format("alter role {} with encrypted password {}", su, pw)),
        "setting superuser password"));
    spdlog::info("superuser password set");
  }
  spdlog::info("creating replication role");
  ASSIGN_OR_RETURN(std::string repl, conn.QuoteIdentifier(r.repl_user));
  std::string stmt = fmt::format("create role {} with login replication", repl);
  if (r.repl_auth_method != "trust") {
    ASSIGN_OR_RETURN(std::string pw, conn.QuoteLiteral(r.repl_password));
    stmt += " encrypted password " + pw;
  }
  RETURN_IF_ERROR(Annotate(ExecUnlogged(conn, stmt), "creating replication role"));
  spdlog::info("replication role created{}", LogFields({{"role", r.repl_user}}));
  return absl::OkStatus();
}

absl::StatusOr<std::string> OldestWalFile(const std::string& wal_dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::directory_iterator it(wal_dir, ec);
  if (ec) {
    return absl::UnavailableError(fmt::format("cannot read wal dir {}: {}", wal_dir, ec.message()));
  }
  std::string oldest;
  for (const auto& e : it) {
    std::string name = e.path().filename().string();
    if (!IsWalFileName(name)) continue;
    if (oldest.empty() || name < oldest) oldest = name;
  }
  if (oldest.empty()) return absl::NotFoundError(fmt::format("no wal file in {}", wal_dir));
  auto size = fs::file_size(fs::path(wal_dir) / oldest, ec);
  if (ec) return absl::UnavailableError(fmt::format("cannot stat {}: {}", oldest, ec.message()));
  if (size != kWalSegSize) {
    return absl::FailedPreconditionError(
        fmt::format("wal file {} has size {}, expected {} (non default wal segment size?)", oldest,
                    size, kWalSegSize));
  }
  return oldest;
}

}  // namespace stolon::postgresql
