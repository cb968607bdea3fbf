// Table tests of the keeper pass's decisions (keeper/decide.h): each row is a situation the pass
// can meet and what it must decide, without an instance, a store or a file.
#include "keeper/decide.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace stolon::keeper {
namespace {

using cluster::ClusterData;
using cluster::DB;

constexpr const char* kBoot = "boot-1";

// Keeper k1 with boot `boot` and, when `with_db`, db1 assigned to it.
ClusterData Cd(bool with_keeper, const std::string& boot, bool with_db) {
  ClusterData cd;
  if (with_keeper) {
    cd.keepers["k1"].uid = "k1";
    cd.keepers["k1"].status.boot_uuid = boot;
  }
  cd.keepers["k2"].uid = "k2";
  cd.dbs["db2"].uid = "db2";
  cd.dbs["db2"].spec.keeper_uid = "k2";
  if (with_db) {
    cd.dbs["db1"].uid = "db1";
    cd.dbs["db1"].spec.keeper_uid = "k1";
  }
  return cd;
}

TEST(DecideGate, Table) {
  struct Row {
    const char* name;
    ClusterData cd;
    std::optional<PassOutcome> outcome;
    bool stop_postgres;
    const char* db;  // expected db uid, "" for none
  };
  const std::vector<Row> rows = {
      {"our keeper unknown: wait, touch nothing", Cd(false, kBoot, true), PassOutcome::kNoKeeper,
       false, ""},
      {"no db assigned: stop postgres", Cd(true, kBoot, false), PassOutcome::kNoDB, true, ""},
      {"cluster data from before our boot: stop postgres", Cd(true, "boot-0", true),
       PassOutcome::kBootUUIDMismatch, true, "db1"},
      {"our boot and db: go on", Cd(true, kBoot, true), std::nullopt, false, "db1"},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.name);
    const Gate g = DecideGate(r.cd, "k1", kBoot);
    EXPECT_EQ(g.outcome, r.outcome);
    EXPECT_EQ(g.stop_postgres, r.stop_postgres);
    EXPECT_EQ(g.db == nullptr ? "" : g.db->uid, r.db);
  }
}

TEST(DecideLocalDB, Table) {
  DB db;
  db.uid = "db1";
  struct Row {
    const char* name;
    DBLocalState dbls;
    bool redo;
    bool init;
  };
  const std::vector<Row> rows = {
      {"converged before", {"db1", 3, false, std::nullopt}, false, false},
      {"fresh data dir", {"", 0, false, std::nullopt}, false, true},
      {"another db's data (new assignment)", {"db0", 5, false, std::nullopt}, false, true},
      {"crashed init of this db", {"db1", 0, true, std::nullopt}, true, true},
      {"crashed resync of another db", {"db0", 0, true, std::nullopt}, true, true},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.name);
    const LocalDBPlan p = DecideLocalDB(r.dbls, db);
    EXPECT_EQ(p.redo_interrupted, r.redo);
    EXPECT_EQ(p.initialize, r.init);
  }
}

TEST(DecideInitKind, Table) {
  struct Row {
    std::string mode;
    std::optional<InitKind> kind;  // nullopt: an error
    absl::StatusCode code;
  };
  const std::vector<Row> rows = {
      {"new", InitKind::kNew, absl::StatusCode::kOk},
      {"existing", InitKind::kExisting, absl::StatusCode::kOk},
      {"pitr", InitKind::kPITR, absl::StatusCode::kOk},
      {"resync", InitKind::kResync, absl::StatusCode::kOk},
      {"none", std::nullopt, absl::StatusCode::kFailedPrecondition},
      {"", std::nullopt, absl::StatusCode::kFailedPrecondition},
      {"bogus", std::nullopt, absl::StatusCode::kInvalidArgument},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.mode);
    DB db;
    db.uid = "db1";
    db.spec.init_mode = r.mode;
    auto k = DecideInitKind(db);
    EXPECT_EQ(k.status().code(), r.code);
    if (r.kind) {
      ASSERT_TRUE(k.ok());
      EXPECT_EQ(*k, *r.kind);
    }
  }
}

TEST(PlanMaster, Table) {
  struct Row {
    const char* name;
    std::string local_role;
    bool started;
    bool sync;
    bool ok;
    MasterPlan want;  // start, hold_normal_users, apply_sync_names_first, promote
  };
  const std::vector<Row> rows = {
      {"no local data", "undefined", false, false, false, {}},
      {"running master", "master", true, false, true, {false, false, false, false}},
      {"stopped master", "master", false, false, true, {true, false, false, false}},
      {"stopped sync master holds users", "master", false, true, true, {true, true, false, false}},
      {"running standby promotes", "standby", true, false, true, {false, false, false, true}},
      {"sync standby: names before promotion",
       "standby",
       true,
       true,
       true,
       {false, false, true, true}},
      {"stopped sync standby: start, hold, names, promote",
       "standby",
       false,
       true,
       true,
       {true, true, true, true}},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.name);
    auto p = PlanMaster(r.local_role, r.started, r.sync);
    ASSERT_EQ(p.ok(), r.ok) << p.status();
    if (!p.ok()) {
      EXPECT_EQ(p.status().code(), absl::StatusCode::kFailedPrecondition);
      continue;
    }
    EXPECT_EQ(p->start, r.want.start);
    EXPECT_EQ(p->hold_normal_users, r.want.hold_normal_users);
    EXPECT_EQ(p->apply_sync_names_first, r.want.apply_sync_names_first);
    EXPECT_EQ(p->promote, r.want.promote);
  }
}

TEST(PlanStandby, Table) {
  struct Row {
    const char* name;
    std::string local_role;
    bool started, changed, reloadable;
    std::optional<StandbyStep> step;  // nullopt: refused
  };
  const std::vector<Row> rows = {
      {"a master never becomes a standby in place", "master", true, false, false, std::nullopt},
      {"no local data", "undefined", false, false, false, StandbyStep::kWaitForResync},
      {"stopped", "standby", false, false, false, StandbyStep::kStart},
      {"following as wanted", "standby", true, false, false, StandbyStep::kKeep},
      {"new master, PG >= 13", "standby", true, true, true, StandbyStep::kReload},
      {"new master, PG 12", "standby", true, true, false, StandbyStep::kRestart},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.name);
    auto s = PlanStandby(r.local_role, r.started, r.changed, r.reloadable);
    if (!r.step) {
      EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
      continue;
    }
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_EQ(*s, *r.step);
  }
}

TEST(SyncStandbys, InSyncIgnoresOrderAndNudgeSkipsTheFakeStandby) {
  EXPECT_TRUE(SyncStandbysInSync({"b", "a"}, {"a", "b"}));
  EXPECT_FALSE(SyncStandbysInSync({"a"}, {"a", "b"}));
  EXPECT_TRUE(SyncStandbysInSync({}, {}));
  DB db;
  db.spec.synchronous_standbys = {"db2", "db3"};
  db.spec.external_synchronous_standbys = {cluster::kFakeStandbyName, "ext1"};
  EXPECT_EQ(SyncStandbyNamesToNudge(db),
            (std::vector<std::string>{"stolon_db2", "stolon_db3", "ext1"}));
}

TEST(HBAOptionsFor, MasterRoleAndOtherAddresses) {
  KeeperConfig config;
  config.pg_su_username = "su";
  config.pg_repl_username = "repl";
  ClusterData cd;
  cd.cluster.spec.default_su_repl_access_mode = cluster::kAccessStrict;
  DB& db = cd.dbs["db1"];
  db.uid = "db1";
  db.spec.role = cluster::kRoleStandby;
  db.status.listen_address = "10.0.0.1";
  cd.dbs["db2"].status.listen_address = "10.0.0.2";
  cd.dbs["db3"].status.listen_address = "10.0.0.2";
  cd.dbs["db4"];  // no address yet
  auto o = HBAOptionsFor(config, cd, db, /*only_internal=*/true);
  EXPECT_EQ(o.access_mode, cluster::kAccessStrict);
  EXPECT_FALSE(o.is_master);
  EXPECT_EQ(o.other_db_addresses, std::vector<std::string>{"10.0.0.2"});
  EXPECT_TRUE(o.only_internal);
  db.spec.follow_config = cluster::FollowConfig{cluster::kFollowExternal, "", {}, {}};
  EXPECT_TRUE(HBAOptionsFor(config, cd, db, false).is_master) << "standby cluster's master";
}

TEST(StandbyRecoveryOptionsFor, WaitsForTheFollowedAddress) {
  KeeperConfig config;
  config.pg_repl_username = "repl";
  config.pg_repl_password = "pw";
  ClusterData cd;
  DB& db = cd.dbs["db1"];
  db.uid = "db1";
  EXPECT_EQ(StandbyRecoveryOptionsFor(config, cd, db).status().code(),
            absl::StatusCode::kInvalidArgument);
  db.spec.follow_config = cluster::FollowConfig{cluster::kFollowInternal, "db2", {}, {}};
  EXPECT_EQ(StandbyRecoveryOptionsFor(config, cd, db).status().code(), absl::StatusCode::kNotFound);
  cd.dbs["db2"].uid = "db2";
  EXPECT_EQ(StandbyRecoveryOptionsFor(config, cd, db).status().code(),
            absl::StatusCode::kUnavailable);
  cd.dbs["db2"].status.listen_address = "10.0.0.2";
  cd.dbs["db2"].status.port = "5433";
  auto ro = StandbyRecoveryOptionsFor(config, cd, cd.dbs["db1"]);
  ASSERT_TRUE(ro.ok()) << ro.status();
  EXPECT_EQ(ro->mode, postgresql::RecoveryMode::kStandby);
}

TEST(CanTryPgRewind, Table) {
  ClusterData cd;
  cd.cluster.status.master = "db2";
  DB& followed = cd.dbs["db2"];
  followed.status.system_id = "700";
  DB db;
  db.spec.use_pg_rewind = true;
  KeeperConfig config;
  config.pg_su_username = "su";
  config.pg_su_password = "pw";
  EXPECT_TRUE(CanTryPgRewind(config, cd, db, true, "700", followed));
  EXPECT_FALSE(CanTryPgRewind(config, cd, db, false, "700", followed)) << "no local data";
  EXPECT_FALSE(CanTryPgRewind(config, cd, db, true, "701", followed)) << "another cluster";
  DB no_rewind = db;
  no_rewind.spec.use_pg_rewind = false;
  EXPECT_FALSE(CanTryPgRewind(config, cd, no_rewind, true, "700", followed)) << "usePgrewind off";
  KeeperConfig no_password = config;
  no_password.pg_su_password.clear();
  EXPECT_FALSE(CanTryPgRewind(no_password, cd, db, true, "700", followed)) << "no credentials";
  no_password.pg_su_auth_method = postgresql::kAuthTrust;
  EXPECT_TRUE(CanTryPgRewind(no_password, cd, db, true, "700", followed)) << "trust needs none";
  ClusterData no_master = cd;
  no_master.cluster.status.master = "db9";
  EXPECT_FALSE(CanTryPgRewind(config, no_master, db, true, "700", no_master.dbs["db2"]));
}

}  // namespace
}  // namespace stolon::keeper
