#include "keeper/state_machine.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "keeper/probe.h"
#include "unit/keeper/fake_instance.h"

namespace stolon::keeper {
namespace {

using namespace std::chrono_literals;
using cluster::ClusterData;
using cluster::DB;
using testing::FakeInstance;
using testing::FakeStore;

constexpr const char* kBoot = "11111111-2222-4333-8444-555555555555";

class StateMachineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.data_dir = dir_;
    config_.pg_listen_address = "127.0.0.1";
    config_.pg_port = "5432";
    config_.pg_advertise_address = "127.0.0.1";
    config_.pg_advertise_port = "5432";
    config_.pg_su_username = "su";
    config_.pg_su_password = "supass";
    config_.pg_repl_username = "repl";
    config_.pg_repl_password = "replpass";
    sm_ = std::make_unique<StateMachine>(config_, KeeperLocalState{"k1", ""}, kBoot, store_, pg_,
                                         shared_, local_, clock_);
    ASSERT_TRUE(sm_->LoadDBState().ok());
  }

  // A cluster with keepers k1 (us, booted) and k2, and db1 on k1 with `role`.
  static ClusterData Cluster(const std::string& role, const std::string& init_mode) {
    ClusterData cd;
    cd.cluster.uid = "c1";
    cd.cluster.generation = 1;
    cd.cluster.spec.init_mode = "new";
    cd.cluster.spec.sleep_interval = 1s;
    cd.cluster.status.phase = cluster::kPhaseNormal;
    cd.keepers["k1"].uid = "k1";
    cd.keepers["k1"].status.boot_uuid = kBoot;
    cd.keepers["k2"].uid = "k2";
    DB db;
    db.uid = "db1";
    db.generation = 3;
    db.spec.keeper_uid = "k1";
    db.spec.role = role;
    db.spec.init_mode = init_mode;
    db.spec.max_standbys = 20;
    db.spec.request_timeout = 10s;
    if (role == cluster::kRoleStandby) {
      db.spec.follow_config = cluster::FollowConfig{cluster::kFollowInternal, "db2", {}, {}};
    } else {
      cd.cluster.status.master = "db1";
    }
    cd.dbs["db1"] = db;
    DB other;
    other.uid = "db2";
    other.generation = 1;
    other.spec.keeper_uid = "k2";
    other.spec.role = role == cluster::kRoleStandby ? cluster::kRoleMaster : cluster::kRoleStandby;
    other.status.listen_address = "10.0.0.2";
    other.status.port = "5433";
    other.status.system_id = "7000000000000000001";
    other.status.timeline_id = 1;
    cd.dbs["db2"] = other;
    if (role == cluster::kRoleStandby) {
      cd.cluster.status.master = "db2";
      cd.dbs["db2"].spec.followers = {"db1"};
    } else {
      cd.dbs["db1"].spec.followers = {"db2"};
    }
    return cd;
  }

  // Marks the local data as already converged for db1 (a running keeper's steady state).
  void AlreadyRunning(bool standby) {
    pg_.initialized = true;
    pg_.standby = standby;
    shared_.set_db_state(DBLocalState{"db1", 3, false, std::nullopt});
  }

  absl::StatusOr<PassOutcome> Pass() {
    pg_.calls.clear();
    return sm_->Pass();
  }

  // Never created: the local state lives in memory, the instance is a fake.
  const std::string dir_ = "/nonexistent/keeper-sm-test";
  KeeperConfig config_;
  MemLocalStateStore local_;
  FakeClock clock_;
  FakeStore store_;
  FakeInstance pg_;
  SharedState shared_;
  std::unique_ptr<StateMachine> sm_;
};

TEST_F(StateMachineTest, NoClusterDataDoesNothing) {
  auto r = Pass();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, PassOutcome::kNoClusterData);
  EXPECT_TRUE(pg_.calls.empty());
}

TEST_F(StateMachineTest, StoreUnreachableLeavesPostgresAlone) {
  store_.error = absl::UnavailableError("etcd down");
  pg_.started = true;
  auto r = Pass();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(pg_.calls.empty());
  EXPECT_TRUE(pg_.started);
}

TEST_F(StateMachineTest, SavesClusterUidInKeeperState) {
  store_.cd = Cluster(cluster::kRoleMaster, "new");
  store_.cd->keepers.erase("k1");
  auto r = Pass();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, PassOutcome::kNoKeeper);
  EXPECT_TRUE(pg_.calls.empty()) << "postgres is left alone while our keeper is unknown";
  auto ks = local_.LoadKeeperState();
  ASSERT_TRUE(ks.ok() && ks->has_value());
  EXPECT_EQ((*ks)->cluster_uid, "c1");
  EXPECT_EQ(shared_.cluster_uid(), "c1");
}

TEST_F(StateMachineTest, NoDBAssignedStopsPostgres) {
  store_.cd = Cluster(cluster::kRoleMaster, "new");
  store_.cd->dbs.erase("db1");
  pg_.started = true;
  auto r = Pass();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, PassOutcome::kNoDB);
  EXPECT_FALSE(pg_.started);
}

TEST_F(StateMachineTest, BootUUIDGateStopsAndWaits) {
  store_.cd = Cluster(cluster::kRoleMaster, "new");
  store_.cd->keepers["k1"].status.boot_uuid = "old-boot";
  AlreadyRunning(false);
  pg_.started = true;
  auto r = Pass();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, PassOutcome::kBootUUIDMismatch);
  EXPECT_FALSE(pg_.started);
  EXPECT_FALSE(pg_.Called("Start"));
  EXPECT_FALSE(pg_.Called("Init"));
}

TEST_F(StateMachineTest, InitNewThenMasterAndAcknowledge) {
  store_.cd = Cluster(cluster::kRoleMaster, "new");
  auto r = Pass();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, PassOutcome::kConverged);
  std::vector<std::string> want_prefix = {
      "StopIfStarted", "RemoveAll",     "Init",  "StartTmpMerged", "WaitReady",
      "SetupRoles",    "StopIfStarted", "Start", "WaitReady",      "RefreshReplicationSlots"};
  ASSERT_GE(pg_.calls.size(), want_prefix.size());
  EXPECT_EQ(std::vector<std::string>(pg_.calls.begin(), pg_.calls.begin() + want_prefix.size()),
            want_prefix);
  EXPECT_FALSE(pg_.Called("Reload"));
  EXPECT_EQ(pg_.slot_followers, std::vector<std::string>{"db2"});
  auto dbs = local_.LoadDBState();
  ASSERT_TRUE(dbs.ok() && dbs->has_value());
  EXPECT_EQ(**dbs, (DBLocalState{"db1", 3, false, std::nullopt}));
  // The generated params are the running ones.
  EXPECT_EQ(pg_.cur_params.at("listen_addresses"), "127.0.0.1");
  EXPECT_EQ(pg_.cur_params.at("max_replication_slots"), "20");

  // Steady state: nothing to do, generation stays acknowledged.
  r = Pass();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(pg_.Called("Start"));
  EXPECT_FALSE(pg_.Called("Reload"));
}

TEST_F(StateMachineTest, FailedInitIsNotAcknowledgedAndRedoneAfterCrash) {
  store_.cd = Cluster(cluster::kRoleMaster, "new");
  pg_.fail["SetupRoles"] = absl::InternalError("boom");
  auto r = Pass();
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(shared_.db_state().initializing);
  pg_.fail.clear();
  r = Pass();
  ASSERT_TRUE(r.ok()) << r.status();
  // The half-initialized dir was removed before a fresh initdb.
  EXPECT_LT(pg_.Index("RemoveAll"), pg_.Index("Init"));
  EXPECT_FALSE(shared_.db_state().initializing);
  EXPECT_EQ(shared_.db_state().generation, 3);
}

TEST_F(StateMachineTest, InitModeNoneWithLostDataDoesNotStart) {
  store_.cd = Cluster(cluster::kRoleMaster, "none");
  auto r = Pass();
  EXPECT_FALSE(r.ok());
  EXPECT_NE(std::string(r.status().message()).find("init mode is none"), std::string::npos);
  EXPECT_FALSE(pg_.Called("Start"));
  EXPECT_FALSE(pg_.Called("Init"));
  EXPECT_FALSE(pg_.started);
}

TEST_F(StateMachineTest, RefusesMasterToStandbyInPlace) {
  store_.cd = Cluster(cluster::kRoleStandby, "none");
  AlreadyRunning(/*standby=*/false);
  pg_.started = true;
  auto r = Pass();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(std::string(r.status().message()), "cannot move from master role to standby role");
  EXPECT_FALSE(pg_.Called("Restart"));
  EXPECT_EQ(shared_.db_state().generation, 3);
}

TEST_F(StateMachineTest, SyncMasterGetsItsStandbyNamesBeforePromotion) {
  store_.cd = Cluster(cluster::kRoleMaster, "none");
  for (auto& [uid, db] : store_.cd->dbs) {
    if (db.spec.role == cluster::kRoleMaster) {
      db.spec.synchronous_replication = true;
      db.spec.synchronous_standbys = {"db9"};
    }
  }
  AlreadyRunning(/*standby=*/true);
  pg_.started = true;
  auto r = Pass();
  ASSERT_TRUE(r.ok()) << r.status();
  auto pos = [&](const std::string& call) {
    return std::find(pg_.calls.begin(), pg_.calls.end(), call) - pg_.calls.begin();
  };
  ASSERT_TRUE(pg_.Called("Promote"));
  ASSERT_TRUE(pg_.Called("Reload"));
  EXPECT_LT(pos("Reload"), pos("Promote"));
  EXPECT_NE(pg_.cur_params.at("synchronous_standby_names").find("stolon_db9"), std::string::npos);
}

TEST_F(StateMachineTest, PromotesStandbyWhenSpecSaysMaster) {
  store_.cd = Cluster(cluster::kRoleMaster, "none");
  AlreadyRunning(/*standby=*/true);
  pg_.started = true;
  auto r = Pass();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(pg_.Called("Promote"));
  EXPECT_TRUE(pg_.Called("WriteConfs"));
  EXPECT_FALSE(pg_.standby);
  EXPECT_EQ(pg_.ro.mode, postgresql::RecoveryMode::kNone);
}

TEST_F(StateMachineTest, PassReportFollowsThePasses) {
  EXPECT_FALSE(shared_.pass_report().last_error.has_value());
  store_.cd = Cluster(cluster::kRoleMaster, "none");
  AlreadyRunning(/*standby=*/true);
  pg_.started = true;
  ASSERT_TRUE(Pass().ok());
  PassReport p = shared_.pass_report();
  EXPECT_EQ(p.passes, 1u);
  EXPECT_EQ(p.failed_passes, 0u);
  EXPECT_EQ(p.last_error, "");
  EXPECT_EQ(p.last_success_at, clock_.WallNow());
  EXPECT_EQ(p.cluster_data_valid_at, clock_.WallNow());
  EXPECT_EQ(p.target_role, "master");
  EXPECT_EQ(p.local_role, "master") << "promoted in this pass";
  EXPECT_EQ(p.wanted_generation, 3);

  const WallTime first_pass = clock_.WallNow();
  clock_.Advance(7s);
  store_.error = absl::UnavailableError("etcd down");
  EXPECT_FALSE(Pass().ok());
  p = shared_.pass_report();
  EXPECT_EQ(p.last_success_at, first_pass) << "a failed pass keeps the last success";
  EXPECT_EQ(p.cluster_data_valid_at, first_pass);
  EXPECT_EQ(p.passes, 2u);
  EXPECT_EQ(p.failed_passes, 1u);
  EXPECT_EQ(p.last_error, "etcd down");
  EXPECT_EQ(p.target_role, "master") << "unchanged while the store cannot be read";
}

TEST_F(StateMachineTest, StandbyFollowsWithSlotAndReloadsWhenMasterMoves) {
  store_.cd = Cluster(cluster::kRoleStandby, "none");
  AlreadyRunning(/*standby=*/true);
  auto r = Pass();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(pg_.Called("Start"));
  EXPECT_EQ(pg_.cur_ro.mode, postgresql::RecoveryMode::kStandby);
  EXPECT_EQ(pg_.cur_ro.params.at("primary_slot_name"), "stolon_db1");
  EXPECT_NE(pg_.cur_ro.params.at("primary_conninfo").find("host=10.0.0.2"), std::string::npos);
  EXPECT_NE(pg_.cur_ro.params.at("primary_conninfo").find("port=5433"), std::string::npos);
  EXPECT_NE(pg_.cur_ro.params.at("primary_conninfo").find("application_name=stolon_db1"),
            std::string::npos);

  r = Pass();
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(pg_.Called("Restart"));

  // PostgreSQL 15 re-reads primary_conninfo on reload: no restart.
  store_.cd->dbs["db2"].status.port = "6000";
  r = Pass();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(pg_.Called("Reload"));
  EXPECT_FALSE(pg_.Called("Restart"));
  EXPECT_NE(pg_.cur_ro.params.at("primary_conninfo").find("port=6000"), std::string::npos);
}

TEST_F(StateMachineTest, StandbyOfPostgres12RestartsWhenMasterMoves) {
  pg_.version = postgresql::PGVersion{12, 9};
  store_.cd = Cluster(cluster::kRoleStandby, "none");
  AlreadyRunning(/*standby=*/true);
  ASSERT_TRUE(Pass().ok());
  store_.cd->dbs["db2"].status.port = "6000";
  auto r = Pass();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(pg_.Called("Restart"));
  EXPECT_NE(pg_.cur_ro.params.at("primary_conninfo").find("port=6000"), std::string::npos);
}

TEST_F(StateMachineTest, StandbyWithoutLocalDataWaits) {
  store_.cd = Cluster(cluster::kRoleStandby, "none");
  shared_.set_db_state(DBLocalState{"db1", 3, false, std::nullopt});
  auto r = Pass();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, PassOutcome::kNotInitialized);
  EXPECT_FALSE(pg_.Called("Start"));
}

TEST_F(StateMachineTest, ResyncUsesPgRewindWhenAllowed) {
  store_.cd = Cluster(cluster::kRoleStandby, "resync");
  store_.cd->dbs["db1"].spec.use_pg_rewind = true;
  pg_.initialized = true;  // the old master's data, same system id as the followed db
  auto r = Pass();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(pg_.Called("SyncFromFollowedPGRewind"));
  EXPECT_FALSE(pg_.Called("SyncFromFollowed"));
  EXPECT_FALSE(pg_.Called("MoveAside"));
  EXPECT_EQ(pg_.last_sync_params.at("dbname"), "postgres");
  EXPECT_EQ(pg_.last_sync_params.at("user"), "su");
  EXPECT_EQ(pg_.last_sync_params.at("host"), "10.0.0.2");
  EXPECT_EQ(shared_.db_state(), (DBLocalState{"db1", 3, false, std::nullopt}));
}

TEST_F(StateMachineTest, ResyncByBasebackupKeepsOldDataUntilStarted) {
  store_.cd = Cluster(cluster::kRoleStandby, "resync");
  pg_.initialized = true;
  auto r = Pass();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(pg_.Called("SyncFromFollowedPGRewind"));
  EXPECT_LT(pg_.Index("MoveAside"), pg_.Index("SyncFromFollowed"));
  EXPECT_FALSE(pg_.Called("RemoveAll"));
  EXPECT_LT(pg_.Index("Start"), pg_.Index("RemoveMovedAside"));
  EXPECT_EQ(pg_.last_slot, "stolon_db1");
  EXPECT_EQ(pg_.last_sync_params.at("user"), "repl");
  EXPECT_EQ(pg_.last_sync_params.at("password"), "replpass");
  EXPECT_TRUE(pg_.moved_aside.empty());
}

TEST_F(StateMachineTest, ResyncWaitsForTheFollowedAddress) {
  store_.cd = Cluster(cluster::kRoleStandby, "resync");
  store_.cd->dbs["db2"].status.listen_address.clear();
  pg_.initialized = true;
  auto r = Pass();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(std::string(r.status().message()).find("has no known address yet"), std::string::npos);
  EXPECT_FALSE(pg_.Called("SyncFromFollowed"));
  EXPECT_FALSE(pg_.Called("MoveAside"));
  EXPECT_FALSE(pg_.Called("RemoveAll"));
}

TEST_F(StateMachineTest, InterruptedResyncKeepsOnlyTheOriginalCopy) {
  store_.cd = Cluster(cluster::kRoleStandby, "resync");
  pg_.initialized = true;  // the original data
  pg_.fail["SyncFromFollowed"] = absl::UnavailableError("network");
  ASSERT_FALSE(Pass().ok());
  EXPECT_EQ(pg_.moved_aside.size(), 1u) << "the original copy is set aside";
  EXPECT_TRUE(shared_.db_state().initializing);
  // A partial copy left by the failed attempt: removed, the original stays aside.
  pg_.initialized = true;
  ASSERT_FALSE(Pass().ok());
  EXPECT_EQ(pg_.moved_aside.size(), 1u);
  EXPECT_TRUE(pg_.Called("RemoveAll"));
  EXPECT_FALSE(pg_.Called("MoveAside"));
  // Success: the original copy goes only once the db has converged.
  pg_.fail.clear();
  auto r = Pass();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(pg_.moved_aside.empty());
  EXPECT_LT(pg_.Index("Start"), pg_.Index("RemoveMovedAside"));
}

TEST_F(StateMachineTest, ResyncWithoutSpaceRemovesOldDataFirst) {
  store_.cd = Cluster(cluster::kRoleStandby, "resync");
  pg_.initialized = true;
  pg_.space_for_copy = false;
  auto r = Pass();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(pg_.Called("MoveAside"));
  EXPECT_LT(pg_.Index("RemoveAll"), pg_.Index("SyncFromFollowed"));
}

TEST_F(StateMachineTest, ResyncWithDifferentSystemIdDoesNotRewind) {
  store_.cd = Cluster(cluster::kRoleStandby, "resync");
  store_.cd->dbs["db1"].spec.use_pg_rewind = true;
  pg_.initialized = true;
  pg_.system_id = "999";
  auto r = Pass();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(pg_.Called("SyncFromFollowedPGRewind"));
  EXPECT_TRUE(pg_.Called("SyncFromFollowed"));
}

TEST_F(StateMachineTest, ParameterChangeReloadsOnce) {
  store_.cd = Cluster(cluster::kRoleMaster, "none");
  AlreadyRunning(false);
  ASSERT_TRUE(Pass().ok());
  store_.cd->dbs["db1"].spec.pg_parameters["work_mem"] = "8MB";
  ASSERT_TRUE(Pass().ok());
  EXPECT_TRUE(pg_.Called("Reload"));
  EXPECT_EQ(pg_.cur_params.at("work_mem"), "8MB");
  ASSERT_TRUE(Pass().ok());
  EXPECT_FALSE(pg_.Called("Reload"));
}

TEST_F(StateMachineTest, NewSynchronousStandbysAreNudgedAfterTheReload) {
  store_.cd = Cluster(cluster::kRoleMaster, "none");
  store_.cd->dbs["db1"].spec.synchronous_replication = true;
  store_.cd->dbs["db1"].spec.synchronous_standbys = {"db3"};
  AlreadyRunning(false);
  ASSERT_TRUE(Pass().ok());
  // Only the fake standby (it never connects): nothing to nudge.
  pg_.nudged.reset();
  store_.cd->dbs["db1"].spec.synchronous_standbys.clear();
  store_.cd->dbs["db1"].spec.external_synchronous_standbys = {cluster::kFakeStandbyName};
  ASSERT_TRUE(Pass().ok());
  EXPECT_TRUE(pg_.Called("Reload"));
  EXPECT_FALSE(pg_.nudged.has_value());
  // Other parameters change: no nudge.
  pg_.nudged.reset();
  store_.cd->dbs["db1"].spec.pg_parameters["work_mem"] = "8MB";
  ASSERT_TRUE(Pass().ok());
  EXPECT_TRUE(pg_.Called("Reload"));
  EXPECT_FALSE(pg_.nudged.has_value());
  // The sentinel names a real synchronous standby: reload, then nudge it.
  store_.cd->dbs["db1"].spec.external_synchronous_standbys.clear();
  store_.cd->dbs["db1"].spec.synchronous_standbys = {"db2"};
  ASSERT_TRUE(Pass().ok());
  auto pos = [&](const std::string& call) {
    return std::find(pg_.calls.begin(), pg_.calls.end(), call) - pg_.calls.begin();
  };
  ASSERT_TRUE(pg_.Called("NudgeSyncStandbys"));
  EXPECT_LT(pos("Reload"), pos("NudgeSyncStandbys"));
  EXPECT_EQ(pg_.nudged, std::vector<std::string>{"stolon_db2"});
}

TEST_F(StateMachineTest, PendingRestartRestartsOnlyWithAutomaticPgRestart) {
  store_.cd = Cluster(cluster::kRoleMaster, "none");
  AlreadyRunning(false);
  ASSERT_TRUE(Pass().ok());
  pg_.restart_required = true;
  ASSERT_TRUE(Pass().ok());
  EXPECT_FALSE(pg_.Called("Restart"));
  store_.cd->cluster.spec.automatic_pg_restart = true;
  ASSERT_TRUE(Pass().ok());
  EXPECT_TRUE(pg_.Called("Restart"));
}

TEST_F(StateMachineTest, SyncMasterRestartAllowsOnlyInternalUntilStandbysInSync) {
  store_.cd = Cluster(cluster::kRoleMaster, "none");
  store_.cd->dbs["db1"].spec.synchronous_replication = true;
  store_.cd->dbs["db1"].spec.synchronous_standbys = {"db2"};
  AlreadyRunning(false);
  auto has_user_rules = [&] {
    for (const auto& l : pg_.cur_hba) {
      if (l.find("host all all") != std::string::npos) return true;
    }
    return false;
  };
  ASSERT_TRUE(Pass().ok());
  EXPECT_TRUE(sm_->wait_sync_standbys_synced());
  EXPECT_FALSE(has_user_rules());
  ASSERT_TRUE(Pass().ok());
  EXPECT_FALSE(has_user_rules()) << "still waiting for db2";
  pg_.sync_standbys = {"db2"};
  ASSERT_TRUE(Pass().ok());
  EXPECT_FALSE(sm_->wait_sync_standbys_synced());
  EXPECT_TRUE(pg_.Called("Reload"));
  EXPECT_TRUE(has_user_rules());
}

TEST_F(StateMachineTest, FailedStartIsReported) {
  store_.cd = Cluster(cluster::kRoleMaster, "none");
  AlreadyRunning(false);
  pg_.fail["Start"] = absl::InternalError("bad parameter");
  auto r = Pass();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(std::string(r.status().message()).find("failed to start postgres"), std::string::npos);
}

TEST_F(StateMachineTest, PitrExpandsRestoreCommandAndWaitsForRecovery) {
  store_.cd = Cluster(cluster::kRoleMaster, "pitr");
  store_.cd->dbs["db1"].spec.pitr_config =
      cluster::PITRConfig{"cp -a /backup/. %d && echo 100%%", {}, {}};
  auto r = Pass();
  ASSERT_TRUE(r.ok()) << r.status();
  std::string want = "RunDataRestoreCommand:cp -a /backup/. " + dir_ + "/postgres && echo 100%";
  EXPECT_TRUE(pg_.Called(want)) << ::testing::PrintToString(pg_.calls);
  EXPECT_LT(pg_.Index("StartTmpMerged"), pg_.Index("WaitRecoveryDone"));
}

TEST(Helpers, ExpandDataRestoreCommand) {
  EXPECT_EQ(ExpandDataRestoreCommand("restore %d", "/p"), "restore /p");
  EXPECT_EQ(ExpandDataRestoreCommand("a %% b %d %x %", "/p"), "a % b /p %x %");
}

TEST(Helpers, IsDifferentTimelineBranch) {
  TimelineState followed{2, 0x5000000, {{1, 0x3000000, "r"}}};
  EXPECT_FALSE(IsDifferentTimelineBranch(followed, {1, 0x2000000, {}}));
  EXPECT_TRUE(IsDifferentTimelineBranch(followed, {1, 0x4000000, {}}))
      << "our position is past the fork point";
  EXPECT_TRUE(IsDifferentTimelineBranch({1, 0, {}}, {2, 0, {}}));
  EXPECT_TRUE(IsDifferentTimelineBranch(followed, {2, 0x5000000, {{1, 0x3100000, "r"}}}));
  EXPECT_FALSE(IsDifferentTimelineBranch(followed, {2, 0x5000000, {{1, 0x3000000, "r"}}}));
}

TEST(Helpers, ProbePGStateReportsDbStateAndInstance) {
  FakeInstance pg;
  pg.initialized = true;
  pg.cur_params = {{"work_mem", "4MB"}, {"port", "5432"}};
  KeeperConfig c;
  c.pg_advertise_address = "6.6.6.6";
  c.pg_advertise_port = "6666";
  auto st = ProbePGState(pg, DBLocalState{"db1", 4, false, std::nullopt}, c);
  EXPECT_TRUE(st.healthy);
  EXPECT_EQ(st.uid, "db1");
  EXPECT_EQ(st.generation, 4);
  EXPECT_EQ(st.listen_address, "6.6.6.6");
  EXPECT_EQ(st.port, "6666");
  EXPECT_EQ(st.pg_parameters, (PGParameters{{"work_mem", "4MB"}}));
  EXPECT_EQ(st.system_id, "7000000000000000001");
  EXPECT_EQ(st.older_wal_file, "000000010000000000000001");
  auto init = ProbePGState(pg, DBLocalState{"db1", 0, true, std::nullopt}, c);
  EXPECT_FALSE(init.healthy);
  // A postmaster that accepts no new connection (frozen, hung) is unhealthy even though the
  // kept connection still answers.
  pg.fail["ProbeNewConnection"] = absl::UnavailableError("timeout connecting to postgres");
  auto frozen = ProbePGState(pg, DBLocalState{"db1", 4, false, std::nullopt}, c);
  EXPECT_FALSE(frozen.healthy);
  EXPECT_EQ(frozen.generation, 4);
}

}  // namespace
}  // namespace stolon::keeper
