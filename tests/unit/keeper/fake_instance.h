// A scripted Instance for state machine tests: an in-memory model of a PGDATA (initialized,
// standby.signal, running) that records every call, with per-call error injection.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "keeper/instance.h"
#include "keeper/store.h"

namespace stolon::keeper::testing {

class FakeInstance : public Instance {
 public:
  // --- model
  bool initialized = false;
  bool standby = false;  // standby.signal present
  bool started = false;
  std::string system_id = "7000000000000000001";
  bool restart_required = false;
  postgresql::PGVersion version{15, 4};
  bool space_for_copy = true;
  std::vector<std::string> sync_standbys;
  std::optional<std::vector<std::string>> nudged;  // app names of the last NudgeSyncStandbys
  std::vector<std::string> moved_aside;
  std::vector<std::string> calls;
  std::map<std::string, absl::Status> fail;  // call name -> error to return
  std::vector<std::string> slot_followers, slot_additional;
  postgresql::ConnParams last_sync_params;
  std::string last_slot;

  PGParameters params, cur_params;
  RecoveryOptions ro, cur_ro;
  std::vector<std::string> hba, cur_hba;

  bool Called(const std::string& name) const {
    for (const auto& c : calls) {
      if (c == name) return true;
    }
    return false;
  }
  // Index of the first call `name`, -1 if none.
  int Index(const std::string& name) const {
    for (size_t i = 0; i < calls.size(); ++i) {
      if (calls[i] == name) return static_cast<int>(i);
    }
    return -1;
  }

  absl::StatusOr<postgresql::PGVersion> BinaryVersion() override { return version; }
  absl::StatusOr<bool> IsInitialized() override { return initialized; }
  absl::StatusOr<std::string> SystemIdFromControlFile() override { return system_id; }
  absl::StatusOr<std::string> LocalRole() override {
    if (!initialized) return std::string(cluster::kRoleUndefined);
    return std::string(standby ? cluster::kRoleStandby : cluster::kRoleMaster);
  }
  void SetParameters(PGParameters p) override { params = std::move(p); }
  void SetRecoveryOptions(RecoveryOptions r) override { ro = std::move(r); }
  void SetHBA(std::vector<std::string> h) override { hba = std::move(h); }
  PGParameters CurParameters() const override { return cur_params; }
  RecoveryOptions CurRecoveryOptions() const override { return cur_ro; }
  std::vector<std::string> CurHBA() const override { return cur_hba; }

  absl::StatusOr<bool> IsStarted() override { return started; }
  absl::Status Init(const postgresql::InitConfig&) override {
    return Do("Init", [&] { initialized = true, standby = false; });
  }
  absl::Status Start() override {
    return Do("Start", [&] {
      started = true;
      cur_params = params;
      cur_ro = ro;
      cur_hba = hba;
      if (ro.mode == postgresql::RecoveryMode::kStandby) standby = true;
    });
  }
  absl::Status StartTmpMerged() override {
    return Do("StartTmpMerged", [&] { started = true; });
  }
  absl::Status Stop(bool) override {
    return Do("Stop", [&] { started = false; });
  }
  absl::Status StopIfStarted(bool) override {
    return Do("StopIfStarted", [&] { started = false; });
  }
  absl::Status Reload() override {
    return Do("Reload", [&] {
      cur_params = params;
      cur_ro = ro;
      cur_hba = hba;
    });
  }
  absl::Status Restart(bool) override {
    return Do("Restart", [&] {
      cur_params = params;
      cur_ro = ro;
      cur_hba = hba;
      restart_required = false;
    });
  }
  absl::Status Promote() override {
    return Do("Promote", [&] { standby = false; });
  }
  absl::Status WaitReady(Duration) override {
    return Do("WaitReady", [] {});
  }
  absl::Status WaitRecoveryDone(Duration) override {
    return Do("WaitRecoveryDone", [] {});
  }
  absl::Status WriteConfs() override {
    return Do("WriteConfs", [] {});
  }
  absl::Status RemoveAll() override {
    return Do("RemoveAll", [&] { initialized = false, standby = false; });
  }
  absl::StatusOr<std::string> MoveAside() override {
    calls.push_back("MoveAside");
    initialized = false;
    standby = false;
    moved_aside.push_back("/data/postgres.old-1");
    return moved_aside.back();
  }
  absl::StatusOr<bool> HasSpaceForDataCopy() override { return space_for_copy; }
  absl::StatusOr<bool> HasMovedAside() override { return !moved_aside.empty(); }
  absl::StatusOr<std::vector<std::string>> RemoveMovedAside() override {
    auto out = moved_aside;
    if (!out.empty()) calls.push_back("RemoveMovedAside");
    moved_aside.clear();
    return out;
  }
  absl::Status RunDataRestoreCommand(const std::string& cmd, Duration) override {
    return Do("RunDataRestoreCommand:" + cmd, [&] { initialized = true; });
  }
  absl::Status SyncFromFollowed(const postgresql::ConnParams& p, const std::string& slot,
                                Duration) override {
    last_sync_params = p;
    last_slot = slot;
    return Do("SyncFromFollowed", [&] { initialized = true, standby = true; });
  }
  absl::Status SyncFromFollowedPGRewind(const postgresql::ConnParams& p, Duration) override {
    last_sync_params = p;
    return Do("SyncFromFollowedPGRewind", [] {});
  }
  absl::Status SetupRoles() override {
    return Do("SetupRoles", [] {});
  }
  absl::Status ProbeNewConnection() override {
    return Do("ProbeNewConnection", [] {});
  }
  absl::StatusOr<PGParameters> GetConfigFilePGParameters() override { return cur_params; }
  absl::StatusOr<std::vector<std::string>> GetSyncStandbys() override { return sync_standbys; }
  absl::StatusOr<bool> NudgeSyncStandbys(const std::vector<std::string>& app_names,
                                         Duration) override {
    nudged = app_names;
    calls.push_back("NudgeSyncStandbys");
    return true;
  }
  absl::StatusOr<postgresql::SlotsChange> RefreshReplicationSlots(
      const std::vector<std::string>& followers,
      const std::vector<std::string>& additional) override {
    slot_followers = followers;
    slot_additional = additional;
    if (absl::Status s = Do("RefreshReplicationSlots", [] {}); !s.ok()) return s;
    return postgresql::SlotsChange{};
  }
  absl::StatusOr<bool> IsRestartRequired() override { return restart_required; }
  absl::StatusOr<postgresql::SystemData> GetSystemData() override {
    return postgresql::SystemData{system_id, 1, 0x3000000};
  }
  absl::StatusOr<cluster::TimelinesHistory> GetTimelinesHistory(uint64_t) override {
    return cluster::TimelinesHistory{};
  }
  absl::StatusOr<std::string> OlderWalFile() override {
    return std::string("000000010000000000000001");
  }

 private:
  template <typename F>
  absl::Status Do(const std::string& name, F f) {
    calls.push_back(name);
    if (auto it = fail.find(name); it != fail.end()) return it->second;
    f();
    return absl::OkStatus();
  }
};

// A KeeperStore serving a settable cluster data, or an error.
class FakeStore : public KeeperStore {
 public:
  std::optional<cluster::ClusterData> cd;
  absl::Status error;
  std::map<std::string, cluster::KeeperInfo> infos;

  absl::StatusOr<std::optional<cluster::ClusterData>> GetClusterData() override {
    if (!error.ok()) return error;
    return cd;
  }
  absl::Status SetKeeperInfo(const std::string& uid, const cluster::KeeperInfo& ki,
                             Duration) override {
    if (!error.ok()) return error;
    infos[uid] = ki;
    return absl::OkStatus();
  }
};

}  // namespace stolon::keeper::testing
