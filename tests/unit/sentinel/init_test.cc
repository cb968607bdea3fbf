// The initializing phase for initMode new, existing and pitr (one check per case).
#include "sim.h"

namespace stolon::sentinel::testing {
namespace {

class InitTest : public ::testing::TestWithParam<Case> {};

TEST_P(InitTest, Check) {
  Sim sim;
  GetParam().setup(sim);
  sim.Step();
  SCOPED_TRACE(sim.Decisions());
  GetParam().check(sim);
}

ClusterSpec Spec(const std::string& mode) {
  ClusterSpec s;
  s.init_mode = mode;
  if (mode == cluster::kInitModeExisting) s.existing_config = cluster::ExistingConfig{"keeper1"};
  if (mode == cluster::kInitModePITR) s.pitr_config = cluster::PITRConfig{"restore.sh", {}, {}};
  return s;
}

// An initializing cluster with three registered keepers.
void Initializing(Sim& s, ClusterSpec spec) {
  s.NewCluster(spec, cluster::kPhaseInitializing);
  for (int i = 0; i < 3; ++i) s.AddKeeper(fmt::format("keeper{}", i));
}

// Initializing with db0 already chosen as master on keeper1, at generation 1.
void Chosen(Sim& s, ClusterSpec spec, const std::string& init_mode) {
  Initializing(s, spec);
  s.AddMaster("db0", "keeper1");
  s.cd.dbs["db0"].spec.init_mode = init_mode;
  s.cd.dbs["db0"].spec.include_previous_config = true;
  s.Finish();
  s.keepers["keeper1"].pg_parameters = {{"max_connections", "100"}};
}

const std::vector<Case> kCases = {
    {"new: a random keeper gets the new master db", [](Sim& s) { Initializing(s, Spec("new")); },
     [](Sim& s) {
       ASSERT_EQ(s.Master(), "new0");
       const DB& db = s.Db("new0");
       EXPECT_EQ(db.spec.init_mode, cluster::kInitModeNew);
       EXPECT_EQ(db.spec.role, cluster::kRoleMaster);
       EXPECT_EQ(db.generation, 1);
       EXPECT_TRUE(db.spec.include_previous_config);
       EXPECT_TRUE(db.spec.followers.empty());
       EXPECT_EQ(s.cd.keepers.count(db.spec.keeper_uid), 1u);
       EXPECT_EQ(s.cd.cluster.status.phase, cluster::kPhaseInitializing);
       EXPECT_TRUE(s.Decided("initializing cluster: new db new0 on randomly chosen keeper"));
     }},
    {"new: keepers with canBeMaster false are never chosen",
     [](Sim& s) {
       Initializing(s, Spec("new"));
       s.keepers["keeper0"].can_be_master = false;
       s.keepers["keeper2"].can_be_master = false;
     },
     [](Sim& s) {
       ASSERT_EQ(s.Master(), "new0");
       EXPECT_EQ(s.Db("new0").spec.keeper_uid, "keeper1");
     }},
    {"new: newConfig is copied to the db",
     [](Sim& s) {
       ClusterSpec spec = Spec("new");
       spec.new_config = cluster::NewConfig{"C", "UTF8", true};
       Initializing(s, spec);
     },
     [](Sim& s) {
       ASSERT_TRUE(s.Db("new0").spec.new_config.has_value());
       EXPECT_TRUE(s.Db("new0").spec.new_config->data_checksums);
     }},
    {"new: waits while the db converges",
     [](Sim& s) {
       Chosen(s, Spec("new"), cluster::kInitModeNew);
       s.keepers["keeper1"].converges = false;
       s.cd.dbs["db0"].status.current_generation = 0;
       s.state.db_convergence_infos["db0"] = {1, s.clock.Now() - 1min};
     },
     [](Sim& s) {
       EXPECT_EQ(s.cd.cluster.status.phase, cluster::kPhaseInitializing);
       EXPECT_TRUE(s.Decided("waiting for db db0 on keeper keeper1 to initialize"));
     }},
    {"new: converged and healthy switches to normal",
     [](Sim& s) { Chosen(s, Spec("new"), cluster::kInitModeNew); },
     [](Sim& s) {
       EXPECT_EQ(s.cd.cluster.status.phase, cluster::kPhaseNormal);
       const DB& db = s.Db("db0");
       EXPECT_EQ(db.spec.init_mode, cluster::kInitModeNone);
       EXPECT_FALSE(db.spec.include_previous_config);
       EXPECT_EQ(s.cd.cluster.spec.pg_parameters.at("max_connections"), "100");
       EXPECT_EQ(db.spec.pg_parameters.at("max_connections"), "100");
       EXPECT_EQ(db.generation, 2);  // spec changed
       EXPECT_TRUE(s.Decided("initialized: cluster phase is now normal"));
     }},
    {"new: mergePgParameters off keeps the spec parameters",
     [](Sim& s) {
       ClusterSpec spec = Spec("new");
       spec.merge_pg_parameters = false;
       spec.pg_parameters = {{"work_mem", "4MB"}};
       Chosen(s, spec, cluster::kInitModeNew);
     },
     [](Sim& s) {
       EXPECT_EQ(s.cd.cluster.status.phase, cluster::kPhaseNormal);
       EXPECT_EQ(s.cd.cluster.spec.pg_parameters, (cluster::PGParameters{{"work_mem", "4MB"}}));
     }},
    {"new: initTimeout exceeded drops the db to try another keeper",
     [](Sim& s) {
       Chosen(s, Spec("new"), cluster::kInitModeNew);
       s.keepers["keeper1"].converges = false;
       s.cd.dbs["db0"].status.current_generation = 0;
       s.state.db_convergence_infos["db0"] = {1, s.clock.Now() - 6min};
     },
     [](Sim& s) {
       EXPECT_TRUE(s.cd.dbs.empty());
       EXPECT_EQ(s.Master(), "");
       EXPECT_TRUE(s.Decided("failed to initialize within initTimeout 5m0s"));
       s.StepAfter(5s);
       EXPECT_EQ(s.Master(), "new0");
     }},
    {"existing: the configured keeper gets the db",
     [](Sim& s) { Initializing(s, Spec("existing")); },
     [](Sim& s) {
       ASSERT_EQ(s.Master(), "new0");
       EXPECT_EQ(s.Db("new0").spec.keeper_uid, "keeper1");
       EXPECT_EQ(s.Db("new0").spec.init_mode, cluster::kInitModeExisting);
       EXPECT_FALSE(s.Db("new0").spec.new_config.has_value());
     }},
    {"existing: converged switches to normal",
     [](Sim& s) { Chosen(s, Spec("existing"), cluster::kInitModeExisting); },
     [](Sim& s) {
       EXPECT_EQ(s.cd.cluster.status.phase, cluster::kPhaseNormal);
       EXPECT_EQ(s.Db("db0").spec.init_mode, cluster::kInitModeNone);
     }},
    {"existing: keeps waiting past convergenceTimeout",
     [](Sim& s) {
       Chosen(s, Spec("existing"), cluster::kInitModeExisting);
       s.keepers["keeper1"].converges = false;
       s.cd.dbs["db0"].status.current_generation = 0;
       s.state.db_convergence_infos["db0"] = {1, s.clock.Now() - 1h};
     },
     [](Sim& s) {
       EXPECT_EQ(s.Master(), "db0");
       EXPECT_EQ(s.cd.cluster.status.phase, cluster::kPhaseInitializing);
     }},
    {"pitr: a random keeper restores as master", [](Sim& s) { Initializing(s, Spec("pitr")); },
     [](Sim& s) {
       const DB& db = s.Db("new0");
       EXPECT_EQ(db.spec.init_mode, cluster::kInitModePITR);
       EXPECT_EQ(db.spec.role, cluster::kRoleMaster);
       ASSERT_TRUE(db.spec.pitr_config.has_value());
       EXPECT_EQ(db.spec.pitr_config->data_restore_command, "restore.sh");
       EXPECT_FALSE(db.spec.follow_config.has_value());
     }},
    {"pitr: a standby cluster restores as external standby",
     [](Sim& s) {
       ClusterSpec spec = Spec("pitr");
       spec.role = cluster::kRoleStandby;
       spec.standby_config =
           cluster::StandbyConfig{cluster::StandbySettings{"host=remote port=5432", "slot1", ""},
                                  cluster::ArchiveRecoverySettings{"cp /arch/%f %p"}};
       Initializing(s, spec);
     },
     [](Sim& s) {
       const DB& db = s.Db("new0");
       EXPECT_EQ(db.spec.role, cluster::kRoleStandby);
       ASSERT_TRUE(db.spec.follow_config.has_value());
       EXPECT_EQ(db.spec.follow_config->type, cluster::kFollowExternal);
       EXPECT_EQ(db.spec.follow_config->standby_settings->primary_conninfo,
                 "host=remote port=5432");
       EXPECT_EQ(db.spec.follow_config->archive_recovery_settings->restore_command,
                 "cp /arch/%f %p");
       EXPECT_EQ(db.spec.additional_replication_slots, std::nullopt);
     }},
    {"pitr: waits forever for the restore",
     [](Sim& s) {
       Chosen(s, Spec("pitr"), cluster::kInitModePITR);
       s.keepers["keeper1"].converges = false;
       s.cd.dbs["db0"].status.current_generation = 0;
       s.state.db_convergence_infos["db0"] = {1, s.clock.Now() - 100h};
     },
     [](Sim& s) {
       EXPECT_EQ(s.Master(), "db0");
       EXPECT_TRUE(s.Decided("waiting for db db0"));
     }},
    {"pitr: converged switches to normal",
     [](Sim& s) { Chosen(s, Spec("pitr"), cluster::kInitModePITR); },
     [](Sim& s) { EXPECT_EQ(s.cd.cluster.status.phase, cluster::kPhaseNormal); }},
};

INSTANTIATE_TEST_SUITE_P(Sentinel, InitTest, ::testing::ValuesIn(kCases), CaseName);

TEST(InitErrors, NoKeepersRegistered) {
  Sim s;
  s.NewCluster(Spec("new"), cluster::kPhaseInitializing);
  s.StepFails("no keepers registered");
}

TEST(InitErrors, ExistingKeeperUnknown) {
  Sim s;
  ClusterSpec spec = Spec("existing");
  spec.existing_config = cluster::ExistingConfig{"keeper7"};
  Initializing(s, spec);
  s.StepFails("keeper \"keeper7\" state not available");
}

TEST(InitErrors, NoKeeperMayBeMaster) {
  Sim s;
  Initializing(s, Spec("new"));
  for (int i = 0; i < 3; ++i) s.keepers[fmt::format("keeper{}", i)].can_be_master = false;
  s.StepFails("none of the 3 registered keepers is healthy with canBeMaster");
}

TEST(InitErrors, UnknownPhase) {
  Sim s;
  s.Healthy(1);
  s.cd.cluster.status.phase = "bogus";
  s.StepFails("unknown cluster phase");
}

}  // namespace
}  // namespace stolon::sentinel::testing
