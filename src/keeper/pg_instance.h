// ManagerInstance: the real Instance, over postgresql::Manager and the postgresql queries.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <optional>

#include "keeper/instance.h"

namespace stolon::keeper {

class ManagerInstance final : public Instance {
 public:
  // `stopping` (optional, must outlive this) is set when the keeper shuts down: from then on
  // Start, StartTmpMerged and Restart refuse with kCancelled, so a pass that was running when the
  // signal came cannot bring postgres back after the shutdown stopped it.
  ManagerInstance(postgresql::ManagerConfig config, postgresql::Roles roles,
                  const std::atomic<bool>* stopping = nullptr);

  postgresql::Manager& manager() { return manager_; }

  absl::StatusOr<postgresql::PGVersion> BinaryVersion() override {
    return manager_.BinaryVersion();
  }
  absl::StatusOr<bool> IsInitialized() override { return manager_.IsInitialized(); }
  absl::StatusOr<std::string> SystemIdFromControlFile() override {
    return manager_.GetSystemIdFromControlFile();
  }
  absl::StatusOr<std::string> LocalRole() override { return manager_.LocalRole(); }

  void SetParameters(PGParameters p) override { manager_.SetParameters(std::move(p)); }
  void SetRecoveryOptions(RecoveryOptions ro) override {
    manager_.SetRecoveryOptions(std::move(ro));
  }
  void SetHBA(std::vector<std::string> hba) override { manager_.SetHBA(std::move(hba)); }
  PGParameters CurParameters() const override { return manager_.cur_parameters(); }
  RecoveryOptions CurRecoveryOptions() const override { return manager_.cur_recovery_options(); }
  std::vector<std::string> CurHBA() const override { return manager_.cur_hba(); }

  absl::StatusOr<bool> IsStarted() override { return manager_.IsStarted(); }
  absl::Status Init(const postgresql::InitConfig& init) override { return manager_.Init(init); }
  absl::Status Start() override;
  absl::Status StartTmpMerged() override;
  absl::Status Stop(bool fast) override;
  absl::Status StopIfStarted(bool fast) override;
  absl::Status Reload() override { return manager_.Reload(); }
  absl::Status Restart(bool fast) override;
  absl::Status Promote() override { return manager_.Promote(); }
  absl::Status WaitReady(Duration timeout) override;
  absl::Status WaitRecoveryDone(Duration timeout) override;
  absl::Status WriteConfs() override { return manager_.WriteConfs(false); }

  absl::Status RemoveAll() override { return manager_.RemoveAll(); }
  absl::StatusOr<std::string> MoveAside() override { return manager_.MoveAside(); }
  absl::StatusOr<bool> HasSpaceForDataCopy() override { return manager_.HasSpaceForDataCopy(); }
  absl::StatusOr<bool> HasMovedAside() override;
  absl::StatusOr<std::vector<std::string>> RemoveMovedAside() override;
  // The <pgdata>.old-* paths.
  absl::StatusOr<std::vector<std::string>> MovedAside() const;
  absl::Status RunDataRestoreCommand(const std::string& command, Duration timeout) override;

  absl::Status SyncFromFollowed(const postgresql::ConnParams& repl_params, const std::string& slot,
                                Duration timeout) override;
  absl::Status SyncFromFollowedPGRewind(const postgresql::ConnParams& su_params,
                                        Duration timeout) override;

  absl::Status SetupRoles() override;
  absl::StatusOr<PGParameters> GetConfigFilePGParameters() override;
  absl::StatusOr<std::vector<std::string>> GetSyncStandbys() override;
  absl::Status ProbeNewConnection() override;
  absl::StatusOr<bool> NudgeSyncStandbys(const std::vector<std::string>& app_names,
                                         Duration wait) override;
  absl::StatusOr<postgresql::SlotsChange> RefreshReplicationSlots(
      const std::vector<std::string>& followers,
      const std::vector<std::string>& additional) override;
  absl::StatusOr<bool> IsRestartRequired() override;
  absl::StatusOr<postgresql::SystemData> GetSystemData() override;
  absl::StatusOr<cluster::TimelinesHistory> GetTimelinesHistory(uint64_t tli) override;
  absl::StatusOr<std::string> OlderWalFile() override { return manager_.OlderWalFile(); }
  // Not part of Instance (only the metrics probe needs it): see
  // postgresql::GetStandbyReplicationLag.
  absl::StatusOr<std::map<std::string, int64_t>> GetStandbyReplicationLag();

 private:
  absl::Status CheckNotStopping() const;
  // Runs `f` on the cached local superuser (or replication) connection, connecting when there
  // is none. Any error drops the cached connection; an error on a reused connection (the server
  // may have restarted since) is retried once on a fresh one. Connections are kept because each
  // new one costs a password authentication (SCRAM: thousands of HMACs) every probe.
  template <typename F>
  auto WithConn(F f) -> decltype(f(std::declval<postgresql::Connection&>()));
  template <typename F>
  auto WithReplConn(F f) -> decltype(f(std::declval<postgresql::ReplicationConnection&>()));
  void DropConnections();

  postgresql::Manager manager_;
  postgresql::Roles roles_;
  const std::atomic<bool>* stopping_;
  std::optional<postgresql::Connection> conn_;
  std::optional<postgresql::ReplicationConnection> repl_conn_;
};

}  // namespace stolon::keeper
