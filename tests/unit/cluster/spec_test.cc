#include <chrono>
#include <string>

#include "cluster/cluster.h"
#include "cluster/json.h"
#include "common/clock.h"
#include "common/ids.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stolon::cluster {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

std::string Msg(const absl::Status& s) { return std::string(s.message()); }

ClusterSpec Spec(const std::string& json) {
  auto s = ParseClusterSpecStrict(json);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *s : ClusterSpec{};
}

TEST(SpecDefaultsTest, EveryDefault) {
  ClusterSpec d = ClusterSpec{}.WithDefaults();
  EXPECT_EQ(d.sleep_interval, 5s);
  EXPECT_EQ(d.request_timeout, 10s);
  EXPECT_EQ(d.convergence_timeout, 30s);
  EXPECT_EQ(d.init_timeout, 5min);
  EXPECT_EQ(d.sync_timeout, 0s);
  EXPECT_EQ(d.db_wait_ready_timeout, 60s);
  EXPECT_EQ(d.fail_interval, 20s);
  EXPECT_EQ(d.dead_keeper_removal_interval, 48h);
  EXPECT_EQ(d.proxy_check_interval, 5s);
  EXPECT_EQ(d.proxy_timeout, 15s);
  EXPECT_EQ(d.max_standbys, 20);
  EXPECT_EQ(d.max_standbys_per_sender, 3);
  EXPECT_EQ(d.max_standby_lag, 1048576u);  // our departure from stolon's 1024*1204 typo
  EXPECT_EQ(d.synchronous_replication, false);
  EXPECT_EQ(d.min_synchronous_standbys, 1);
  EXPECT_EQ(d.max_synchronous_standbys, 1);
  EXPECT_EQ(d.additional_wal_senders, 5);
  EXPECT_EQ(d.use_pg_rewind, false);
  EXPECT_EQ(d.merge_pg_parameters, true);
  EXPECT_EQ(d.role, "master");
  EXPECT_EQ(d.default_su_repl_access_mode, "all");
  EXPECT_EQ(d.automatic_pg_restart, false);
  // No default for these: initMode is required, the lists keep null = "stolon's default rules".
  EXPECT_FALSE(d.init_mode.has_value());
  EXPECT_FALSE(d.additional_master_replication_slots.has_value());
  EXPECT_FALSE(d.pg_hba.has_value());
  EXPECT_FALSE(d.new_config.has_value());
  EXPECT_TRUE(d.pg_parameters.empty());
}

TEST(SpecDefaultsTest, SetValuesAreKept) {
  ClusterSpec s = Spec(R"({"sleepInterval": "1s", "maxStandbys": 2, "synchronousReplication": true,
                           "role": "standby", "automaticPgRestart": true, "mergePgParameters": false})");
  ClusterSpec d = s.WithDefaults();
  EXPECT_EQ(d.sleep_interval, 1s);
  EXPECT_EQ(d.max_standbys, 2);
  EXPECT_EQ(d.synchronous_replication, true);
  EXPECT_EQ(d.role, "standby");
  EXPECT_EQ(d.automatic_pg_restart, true);
  EXPECT_EQ(d.merge_pg_parameters, false);
  EXPECT_EQ(d.WithDefaults(), d);
}

TEST(SpecDefaultsTest, DefaultsSpecEncodesEveryKey) {
  // stolonctl spec --defaults prints every key.
  ClusterSpec d = Spec(R"({"initMode": "new"})").WithDefaults();
  nlohmann::json j = ToJson(d);
  EXPECT_EQ(j["sleepInterval"], "5s");
  EXPECT_EQ(j["deadKeeperRemovalInterval"], "48h0m0s");
  EXPECT_EQ(j["initTimeout"], "5m0s");
  EXPECT_EQ(j["syncTimeout"], "0s");
  EXPECT_EQ(j["maxStandbyLag"], 1048576);
  EXPECT_EQ(j["additionalWalSenders"], 5);
  EXPECT_EQ(j["automaticPgRestart"], false);
  EXPECT_TRUE(j["pgHBA"].is_null());
  auto back = ParseClusterSpecStrict(EncodeClusterSpec(d));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, d);
}

TEST(SpecKeysTest, StoredOmitEmptyAndAllKeys) {
  ClusterSpec s = Spec(R"({"initMode": "new", "pgHBA": [], "maxStandbys": 3})");
  nlohmann::json stored = ToJson(s, SpecKeys::kStored);
  EXPECT_EQ(stored, ToJson(s));
  EXPECT_EQ(stored, nlohmann::json::parse(R"({"initMode": "new", "pgHBA": [], "maxStandbys": 3,
      "additionalWalSenders": null, "additionalMasterReplicationSlots": null,
      "automaticPgRestart": null})"));
  // stolonctl spec: every field omitempty, so even the empty pgHBA list is left out.
  EXPECT_EQ(ToJson(s, SpecKeys::kOmitEmpty),
            nlohmann::json::parse(R"({"initMode": "new", "maxStandbys": 3})"));
  // stolonctl spec --defaults: every key, null when unset.
  nlohmann::json all = ToJson(s.WithDefaults(), SpecKeys::kAllKeys);
  EXPECT_EQ(all.size(), 30u);
  for (const char* key : {"newConfig", "pitrConfig", "existingConfig", "standbyConfig",
                          "pgParameters", "additionalMasterReplicationSlots"}) {
    ASSERT_TRUE(all.contains(key)) << key;
    EXPECT_TRUE(all[key].is_null()) << key;
  }
  EXPECT_EQ(all["pgHBA"], nlohmann::json::array());
  EXPECT_EQ(all["maxStandbys"], 3);
  EXPECT_EQ(all["failInterval"], "20s");
  auto back = ClusterSpecFromJson(all, /*strict=*/true);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, s.WithDefaults());
}

TEST(SpecValidateTest, ValidSpecs) {
  for (const char* json : {
           R"({"initMode": "new"})",
           R"({"initMode": "new", "synchronousReplication": true, "minSynchronousStandbys": 0,
               "maxSynchronousStandbys": 3, "additionalMasterReplicationSlots": ["a_1", "backup"],
               "pgHBA": [], "defaultSUReplAccessMode": "strict"})",
           R"({"initMode": "existing", "existingConfig": {"keeperUID": "keeper0"}})",
           R"({"initMode": "pitr", "pitrConfig": {"dataRestoreCommand": "cp -r /b %d",
               "recoveryTargetSettings": {"recoveryTargetTime": "2024-05-02 09:00:00"}}})",
           R"({"initMode": "pitr", "role": "standby", "pitrConfig": {"dataRestoreCommand": "x"},
               "standbyConfig": {"standbySettings": {"primaryConninfo": "host=a"}}})",
           R"({"initMode": "existing", "role": "standby", "existingConfig": {"keeperUID": "k"},
               "standbyConfig": {}})",
           R"({"initMode": "new", "syncTimeout": "0s", "proxyCheckInterval": "0s"})",
       }) {
    EXPECT_TRUE(Spec(json).Validate().ok()) << json << ": " << Spec(json).Validate();
  }
}

TEST(SpecValidateTest, EveryRuleNamesFieldValueAndAllowedValues) {
  struct Case {
    std::string json;
    std::vector<std::string> want;  // substrings of the message
  };
  std::vector<Case> cases = {
      {R"({"initMode": "new", "sleepInterval": "-1s"})", {"sleepInterval", "\"-1s\"", ">= 0"}},
      {R"({"initMode": "new", "requestTimeout": "-1ms"})", {"requestTimeout", "\"-1ms\""}},
      {R"({"initMode": "new", "convergenceTimeout": "-2s"})", {"convergenceTimeout", "\"-2s\""}},
      {R"({"initMode": "new", "initTimeout": "-1m"})", {"initTimeout", "\"-1m0s\""}},
      {R"({"initMode": "new", "syncTimeout": "-1s"})", {"syncTimeout", "\"-1s\""}},
      {R"({"initMode": "new", "dbWaitReadyTimeout": "-1s"})", {"dbWaitReadyTimeout", "\"-1s\""}},
      {R"({"initMode": "new", "failInterval": "-1s"})", {"failInterval", "\"-1s\""}},
      {R"({"initMode": "new", "deadKeeperRemovalInterval": "-1h"})",
       {"deadKeeperRemovalInterval", "\"-1h0m0s\""}},
      {R"({"initMode": "new", "proxyCheckInterval": "-1s"})", {"proxyCheckInterval", "\"-1s\""}},
      {R"({"initMode": "new", "proxyTimeout": "-1s"})", {"proxyTimeout", "\"-1s\""}},
      {R"({"initMode": "new", "proxyCheckInterval": "15s"})",
       {"proxyCheckInterval (\"15s\") must be less than proxyTimeout (\"15s\")"}},
      {R"({"initMode": "new", "proxyCheckInterval": "20s", "proxyTimeout": "10s"})",
       {"proxyCheckInterval (\"20s\")", "proxyTimeout (\"10s\")"}},
      {R"({"initMode": "new", "maxStandbys": 0})", {"maxStandbys must be at least 1, got 0"}},
      {R"({"initMode": "new", "maxStandbysPerSender": 0})",
       {"maxStandbysPerSender must be at least 1, got 0"}},
      {R"({"initMode": "new", "maxSynchronousStandbys": 0})",
       {"maxSynchronousStandbys must be at least 1, got 0"}},
      {R"({"initMode": "new", "minSynchronousStandbys": 3, "maxSynchronousStandbys": 2})",
       {"maxSynchronousStandbys (2)", "minSynchronousStandbys (3)"}},
      {R"({})", {"initMode undefined", "new, existing, pitr"}},
      {R"({"initMode": "fresh"})", {"initMode \"fresh\"", "new, existing, pitr"}},
      {R"({"initMode": "new", "additionalMasterReplicationSlots": ["ok", "Bad-Slot"]})",
       {"additionalMasterReplicationSlots", "\"Bad-Slot\"", "^[a-z0-9_]+$"}},
      {R"({"initMode": "new", "additionalMasterReplicationSlots": [""]})",
       {"additionalMasterReplicationSlots entry \"\"", "^[a-z0-9_]+$"}},
      {R"({"initMode": "new", "additionalMasterReplicationSlots": ["stolon_x"]})",
       {"additionalMasterReplicationSlots", "\"stolon_x\"", "\"stolon_\"", "reserved"}},
      {R"({"initMode": "new", "pgHBA": ["host all all 0.0.0.0/0 md5\nlocal all all trust"]})",
       {"pgHBA entry \"host all all 0.0.0.0/0 md5\\nlocal all all trust\"", "newline"}},
      {R"({"initMode": "new", "role": "standby", "standbyConfig": {}})",
       {"role \"standby\"", "initMode \"new\"", "master"}},
      {R"({"initMode": "existing"})", {"existingConfig undefined", "initMode is \"existing\""}},
      {R"({"initMode": "existing", "existingConfig": {}})", {"existingConfig.keeperUID undefined"}},
      {R"({"initMode": "pitr"})", {"pitrConfig undefined", "initMode is \"pitr\""}},
      {R"({"initMode": "pitr", "pitrConfig": {"archiveRecoverySettings": {"restoreCommand": "x"}}})",
       {"pitrConfig.dataRestoreCommand undefined"}},
      {R"({"initMode": "pitr", "role": "standby", "standbyConfig": {},
           "pitrConfig": {"dataRestoreCommand": "x", "recoveryTargetSettings": {"recoveryTarget": "immediate"}}})",
       {"pitrConfig.recoveryTargetSettings", "role is \"standby\""}},
      {R"({"initMode": "new", "defaultSUReplAccessMode": "some"})",
       {"defaultSUReplAccessMode \"some\"", "all, strict"}},
      {R"({"initMode": "new", "role": "leader"})", {"role \"leader\"", "master, standby"}},
      {R"({"initMode": "existing", "existingConfig": {"keeperUID": "k"}, "role": "standby"})",
       {"standbyConfig undefined", "role is \"standby\""}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.json);
    absl::Status st = Spec(c.json).Validate();
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
    for (const auto& w : c.want) EXPECT_THAT(Msg(st), HasSubstr(w));
  }
}

TEST(SpecUpdateTest, Rules) {
  ClusterSpec cur = Spec(R"({"initMode": "new"})");
  EXPECT_TRUE(ValidateSpecUpdate(cur, Spec(R"({"initMode": "new", "sleepInterval": "1s"})")).ok());

  absl::Status st = ValidateSpecUpdate(cur, Spec(R"({"initMode": "pitr",
      "pitrConfig": {"dataRestoreCommand": "x"}})"));
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(st), HasSubstr("cannot change cluster init mode"));

  st = ValidateSpecUpdate(cur, Spec(R"({"initMode": "new", "maxStandbys": 0})"));
  EXPECT_THAT(Msg(st), HasSubstr("invalid cluster spec: maxStandbys must be at least 1"));

  ClusterSpec master = Spec(R"({"initMode": "existing", "existingConfig": {"keeperUID": "k"}})");
  ClusterSpec standby = Spec(R"({"initMode": "existing", "existingConfig": {"keeperUID": "k"},
                                 "role": "standby", "standbyConfig": {}})");
  st = ValidateSpecUpdate(master, standby);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(st), HasSubstr("cannot update a cluster from master role to standby role"));
  EXPECT_TRUE(ValidateSpecUpdate(standby, master).ok());  // promotion
  EXPECT_TRUE(ValidateSpecUpdate(standby, standby).ok());
}

TEST(SpecParseTest, StrictRejectsUnknownFields) {
  auto s = ParseClusterSpecStrict(R"({"initMode": "new", "sleepIntervall": "5s"})");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Msg(s.status()), "unknown field \"sleepIntervall\" in cluster spec");
  s = ParseClusterSpecStrict(R"({"pitrConfig": {"dataRestoreComand": "x"}})");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(Msg(s.status()), "unknown field \"dataRestoreComand\" in cluster spec at pitrConfig");
  // pgParameters is a free-form map: any key is fine.
  EXPECT_TRUE(ParseClusterSpecStrict(R"({"pgParameters": {"anything": "1"}})").ok());
  // The lenient parser ignores unknown keys.
  s = ParseClusterSpec(R"({"initMode": "new", "sleepIntervall": "5s"})");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->init_mode, "new");
}

TEST(SpecParseTest, TypeErrorsNameTheField) {
  auto s = ParseClusterSpec(R"({"sleepInterval": "5"})");
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(Msg(s.status()), HasSubstr("sleepInterval: invalid duration \"5\": missing unit"));
  s = ParseClusterSpec(R"({"maxStandbys": 70000})");
  EXPECT_THAT(Msg(s.status()), HasSubstr("maxStandbys: 70000 is out of range"));
  s = ParseClusterSpec(R"({"pgHBA": "host all all 0.0.0.0/0 md5"})");
  EXPECT_EQ(Msg(s.status()), "pgHBA: expected an array, got string");
  s = ParseClusterSpec(R"({"synchronousReplication": 1})");
  EXPECT_EQ(Msg(s.status()), "synchronousReplication: expected a boolean, got number 1");
  s = ParseClusterSpec("[]");
  EXPECT_EQ(Msg(s.status()), "cluster spec: expected an object, got array");
  s = ParseClusterSpec("{");
  EXPECT_THAT(Msg(s.status()), HasSubstr("invalid JSON: "));
}

TEST(MergePatchTest, SetReplaceAndDelete) {
  ClusterSpec base = Spec(R"({"initMode": "new", "sleepInterval": "5s", "maxStandbys": 4,
      "pgParameters": {"max_connections": "100", "work_mem": "4MB"},
      "pgHBA": ["local all all trust"],
      "pitrConfig": {"dataRestoreCommand": "x", "archiveRecoverySettings": {"restoreCommand": "a"}}})");

  // Set a new field and replace an existing one.
  auto p = MergePatchSpec(base, R"({"synchronousReplication": true, "sleepInterval": "2s"})");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->synchronous_replication, true);
  EXPECT_EQ(p->sleep_interval, 2s);
  EXPECT_EQ(p->max_standbys, 4);

  // null deletes a field (back to default) and a map entry; maps merge.
  p = MergePatchSpec(base, R"({"maxStandbys": null,
      "pgParameters": {"work_mem": null, "shared_buffers": "1GB"}})");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_FALSE(p->max_standbys.has_value());
  EXPECT_EQ(p->pg_parameters,
            (PGParameters{{"max_connections", "100"}, {"shared_buffers", "1GB"}}));

  // Lists are replaced whole; null sets them back to unset.
  p = MergePatchSpec(base, R"({"pgHBA": ["host all all 10.0.0.0/8 md5"]})");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->pg_hba, std::vector<std::string>{"host all all 10.0.0.0/8 md5"});
  p = MergePatchSpec(base, R"({"pgHBA": null})");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_FALSE(p->pg_hba.has_value());

  // Nested objects merge recursively.
  p = MergePatchSpec(base, R"({"pitrConfig": {"archiveRecoverySettings": {"restoreCommand": "b"},
                                             "recoveryTargetSettings": {"recoveryTarget": "immediate"}}})");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->pitr_config->data_restore_command, "x");
  EXPECT_EQ(p->pitr_config->archive_recovery_settings->restore_command, "b");
  EXPECT_EQ(p->pitr_config->recovery_target_settings->recovery_target, "immediate");
  p = MergePatchSpec(base, R"({"pitrConfig": {"archiveRecoverySettings": null}})");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_FALSE(p->pitr_config->archive_recovery_settings.has_value());

  // Empty patch: unchanged.
  p = MergePatchSpec(base, "{}");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(*p, base);
}

TEST(MergePatchTest, Errors) {
  ClusterSpec base = Spec(R"({"initMode": "new"})");
  auto p = MergePatchSpec(base, "{");
  ASSERT_FALSE(p.ok());
  EXPECT_THAT(Msg(p.status()), HasSubstr("invalid JSON in patch: "));
  p = MergePatchSpec(base, "[1]");
  EXPECT_EQ(Msg(p.status()), "invalid patch: expected a JSON object, got array");
  p = MergePatchSpec(base, R"({"sleepInterval": "5"})");
  EXPECT_THAT(Msg(p.status()), HasSubstr("sleepInterval: invalid duration \"5\""));
  p = MergePatchSpec(base, R"({"sleepIntervall": "5s"})");
  EXPECT_EQ(Msg(p.status()), "unknown field \"sleepIntervall\" in cluster spec");
  // The patch result is not validated here: that is ValidateSpecUpdate's job.
  p = MergePatchSpec(base, R"({"maxStandbys": 0})");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_FALSE(p->Validate().ok());
}

TEST(NewClusterData, IsInitializing) {
  FakeClock clock;
  SequentialIdGenerator ids("c");
  cluster::ClusterSpec spec;
  spec.init_mode = "new";
  auto cd = NewClusterData(spec, ids, clock);
  ASSERT_TRUE(cd.ok()) << cd.status();
  EXPECT_EQ(cd->format_version, 1u);
  EXPECT_EQ(cd->cluster.uid, "c0");
  EXPECT_EQ(cd->cluster.generation, 1);
  EXPECT_EQ(cd->cluster.status.phase, "initializing");
  EXPECT_TRUE(cd->keepers.empty());
  EXPECT_TRUE(cd->dbs.empty());
  EXPECT_EQ(cd->cluster.spec, spec);
}

TEST(NewClusterData, RefusesInvalidSpec) {
  FakeClock clock;
  SequentialIdGenerator ids;
  cluster::ClusterSpec spec;  // no initMode
  auto cd = NewClusterData(spec, ids, clock);
  ASSERT_FALSE(cd.ok());
  EXPECT_EQ(cd.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(cd.status().message()).find("initMode"), std::string::npos);
}

}  // namespace
}  // namespace stolon::cluster
