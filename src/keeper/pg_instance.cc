#include "keeper/pg_instance.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>

#include "common/log.h"
#include "common/status.h"
#include "fmt/format.h"
#include "postgresql/command.h"
#include "spdlog/spdlog.h"

namespace stolon::keeper {
namespace {

namespace fs = std::filesystem;

std::chrono::milliseconds Ms(Duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d);
}

}  // namespace

ManagerInstance::ManagerInstance(postgresql::ManagerConfig config, postgresql::Roles roles,
                                 const std::atomic<bool>* stopping)
    : manager_(std::move(config)), roles_(std::move(roles)), stopping_(stopping) {}

absl::Status ManagerInstance::CheckNotStopping() const {
  if (stopping_ != nullptr && stopping_->load()) {
    return absl::CancelledError("the keeper is shutting down: not starting postgres");
  }
  return absl::OkStatus();
}

template <typename F>
auto ManagerInstance::WithConn(F f) -> decltype(f(std::declval<postgresql::Connection&>())) {
  for (int attempt = 0;; ++attempt) {
    bool reused = conn_.has_value();
    if (!reused) {
      auto c = manager_.ConnectLocal();
      if (!c.ok()) return c.status();
      conn_.emplace(std::move(*c));
    }
    auto r = f(*conn_);
    if (r.ok()) return r;
    conn_.reset();
    if (!reused || attempt > 0) return r;
  }
}

template <typename F>
auto ManagerInstance::WithReplConn(F f)
    -> decltype(f(std::declval<postgresql::ReplicationConnection&>())) {
  for (int attempt = 0;; ++attempt) {
    bool reused = repl_conn_.has_value();
    if (!reused) {
      auto c = postgresql::ReplicationConnection::Connect(manager_.LocalReplConnParams(),
                                                          manager_.config().request_timeout);
      if (!c.ok()) return c.status();
      repl_conn_.emplace(std::move(*c));
    }
    auto r = f(*repl_conn_);
    if (r.ok()) return r;
    repl_conn_.reset();
    if (!reused || attempt > 0) return r;
  }
}

void ManagerInstance::DropConnections() {
  conn_.reset();
  repl_conn_.reset();
}

absl::Status ManagerInstance::Stop(bool fast) {
  DropConnections();
  return manager_.Stop(fast);
}

absl::Status ManagerInstance::StopIfStarted(bool fast) {
  DropConnections();
  return manager_.StopIfStarted(fast);
}

absl::Status ManagerInstance::Start() {
  RETURN_IF_ERROR(CheckNotStopping());
  return manager_.Start();
}

absl::Status ManagerInstance::StartTmpMerged() {
  RETURN_IF_ERROR(CheckNotStopping());
  return manager_.StartTmpMerged();
}

absl::Status ManagerInstance::Restart(bool fast) {
  RETURN_IF_ERROR(CheckNotStopping());
  DropConnections();
  return manager_.Restart(fast);
}

absl::Status ManagerInstance::WaitReady(Duration timeout) {
  return manager_.WaitReady(Ms(timeout));
}

absl::Status ManagerInstance::WaitRecoveryDone(Duration timeout) {
  return manager_.WaitRecoveryDone(Ms(timeout));
}

absl::StatusOr<std::vector<std::string>> ManagerInstance::MovedAside() const {
  const std::string& pgdata = manager_.config().data_dir;
  fs::path parent = fs::path(pgdata).parent_path();
  std::string prefix = fs::path(pgdata).filename().string() + ".old-";
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(parent, ec)) {
    if (entry.path().filename().string().rfind(prefix, 0) == 0)
      out.push_back(entry.path().string());
  }
  if (ec)
    return absl::InternalError(fmt::format("cannot list {}: {}", parent.string(), ec.message()));
  std::sort(out.begin(), out.end());
  return out;
}

absl::StatusOr<bool> ManagerInstance::HasMovedAside() {
  ASSIGN_OR_RETURN(auto paths, MovedAside());
  return !paths.empty();
}

absl::StatusOr<std::vector<std::string>> ManagerInstance::RemoveMovedAside() {
  ASSIGN_OR_RETURN(auto paths, MovedAside());
  for (const auto& p : paths) {
    std::error_code ec;
    fs::remove_all(p, ec);
    if (ec) return absl::InternalError(fmt::format("cannot remove {}: {}", p, ec.message()));
  }
  return paths;
}

absl::Status ManagerInstance::RunDataRestoreCommand(const std::string& command, Duration timeout) {
  const std::string& pgdata = manager_.config().data_dir;
  std::error_code ec;
  fs::create_directories(pgdata, ec);
  if (ec) return absl::InternalError(fmt::format("cannot create {}: {}", pgdata, ec.message()));
  if (::chmod(pgdata.c_str(), 0700) != 0) {
    return absl::InternalError(fmt::format("cannot chmod {}: {}", pgdata, std::strerror(errno)));
  }
  spdlog::info("executing pitr data restore command{}", LogFields({{"command", command}}));
  ASSIGN_OR_RETURN(auto r, postgresql::RunCommand({"/bin/sh", "-c", command}, {}, Ms(timeout),
                                                  [](const std::string& line) {
                                                    spdlog::info("restore command: {}", line);
                                                  }));
  if (r.timed_out) {
    return absl::DeadlineExceededError(
        fmt::format("data restore command timed out after {}", FormatGoDuration(timeout)));
  }
  if (r.exit_code != 0) {
    return absl::InternalError(
        fmt::format("data restore command failed (exit code {}): {}", r.exit_code, r.Tail()));
  }
  return absl::OkStatus();
}

absl::Status ManagerInstance::SyncFromFollowed(const postgresql::ConnParams& repl_params,
                                               const std::string& slot, Duration timeout) {
  return manager_.SyncFromFollowed(repl_params, slot, Ms(timeout));
}

absl::Status ManagerInstance::SyncFromFollowedPGRewind(const postgresql::ConnParams& su_params,
                                                       Duration timeout) {
  return manager_.SyncFromFollowedPGRewind(su_params, Ms(timeout));
}

absl::Status ManagerInstance::SetupRoles() {
  ASSIGN_OR_RETURN(auto conn, manager_.ConnectLocal());
  return postgresql::SetupRoles(conn, roles_);
}

absl::StatusOr<PGParameters> ManagerInstance::GetConfigFilePGParameters() {
  return WithConn(
      [](postgresql::Connection& c) { return postgresql::GetConfigFilePGParameters(c); });
}

absl::StatusOr<std::map<std::string, int64_t>> ManagerInstance::GetStandbyReplicationLag() {
  return WithConn(
      [](postgresql::Connection& c) { return postgresql::GetStandbyReplicationLag(c); });
}

absl::Status ManagerInstance::ProbeNewConnection() {
  auto c = manager_.ConnectLocal();
  return c.ok() ? absl::OkStatus() : c.status();
}

absl::StatusOr<std::vector<std::string>> ManagerInstance::GetSyncStandbys() {
  return WithConn([](postgresql::Connection& c) { return postgresql::GetSyncStandbys(c); });
}

absl::StatusOr<bool> ManagerInstance::NudgeSyncStandbys(const std::vector<std::string>& app_names,
                                                        Duration wait) {
  return WithConn([&](postgresql::Connection& c) {
    return postgresql::NudgeSyncStandbys(c, app_names, Ms(wait));
  });
}

absl::StatusOr<postgresql::SlotsChange> ManagerInstance::RefreshReplicationSlots(
    const std::vector<std::string>& followers, const std::vector<std::string>& additional) {
  return WithConn([&](postgresql::Connection& c) {
    return postgresql::RefreshReplicationSlots(c, followers, additional);
  });
}

absl::StatusOr<bool> ManagerInstance::IsRestartRequired() {
  return WithConn([](postgresql::Connection& c) { return postgresql::IsRestartRequired(c); });
}

absl::StatusOr<postgresql::SystemData> ManagerInstance::GetSystemData() {
  return WithReplConn([](postgresql::ReplicationConnection& c) { return c.IdentifySystem(); });
}

absl::StatusOr<cluster::TimelinesHistory> ManagerInstance::GetTimelinesHistory(uint64_t tli) {
  return WithReplConn(
      [tli](postgresql::ReplicationConnection& c) { return c.TimelineHistory(tli); });
}

}  // namespace stolon::keeper
