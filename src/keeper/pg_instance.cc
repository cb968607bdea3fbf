#include "keeper/pg_instance.h"

#include <sys/stat.h>

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
  return manager_.Restart(fast);
}

absl::Status ManagerInstance::WaitReady(Duration timeout) { return manager_.WaitReady(Ms(timeout)); }

absl::Status ManagerInstance::WaitRecoveryDone(Duration timeout) {
  return manager_.WaitRecoveryDone(Ms(timeout));
}

absl::StatusOr<std::vector<std::string>> ManagerInstance::RemoveMovedAside() {
  const std::string& pgdata = manager_.config().data_dir;
  fs::path parent = fs::path(pgdata).parent_path();
  std::string prefix = fs::path(pgdata).filename().string() + ".old-";
  std::vector<std::string> removed;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(parent, ec)) {
    std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    std::error_code rec;
    fs::remove_all(entry.path(), rec);
    if (rec) {
      return absl::InternalError(
          fmt::format("cannot remove {}: {}", entry.path().string(), rec.message()));
    }
    removed.push_back(entry.path().string());
  }
  if (ec) return absl::InternalError(fmt::format("cannot list {}: {}", parent.string(), ec.message()));
  return removed;
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
    return absl::InternalError(fmt::format("data restore command failed (exit code {}): {}",
                                           r.exit_code, r.Tail()));
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
  ASSIGN_OR_RETURN(auto conn, manager_.ConnectLocal());
  return postgresql::GetConfigFilePGParameters(conn);
}

absl::StatusOr<std::vector<std::string>> ManagerInstance::GetSyncStandbys() {
  ASSIGN_OR_RETURN(auto conn, manager_.ConnectLocal());
  return postgresql::GetSyncStandbys(conn);
}

absl::StatusOr<postgresql::SlotsChange> ManagerInstance::RefreshReplicationSlots(
    const std::vector<std::string>& followers, const std::vector<std::string>& additional) {
  ASSIGN_OR_RETURN(auto conn, manager_.ConnectLocal());
  return postgresql::RefreshReplicationSlots(conn, followers, additional);
}

absl::StatusOr<bool> ManagerInstance::IsRestartRequired() {
  ASSIGN_OR_RETURN(auto conn, manager_.ConnectLocal());
  return postgresql::IsRestartRequired(conn);
}

}  // namespace stolon::keeper
