#include "cluster/json.h"

#include <chrono>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stolon::cluster {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using ::testing::HasSubstr;

// A clusterdata document as stolon v0.17's sentinel writes it, verbatim: 2 keepers, healthy, async.
constexpr const char* kTwoKeepers = R"json({
  "formatVersion": 1, "changeTime": "2024-05-02T09:15:42.512Z",
  "cluster": {
    "uid": "7c1e09ab", "generation": 1, "changeTime": "2024-05-02T09:10:03.004Z",
    "spec": { "additionalWalSenders": null, "additionalMasterReplicationSlots": null, "initMode": "new",
              "pgParameters": { "datestyle": "iso, mdy", "max_connections": "100", "shared_buffers": "128MB" },
              "pgHBA": null, "automaticPgRestart": null },
    "status": { "phase": "normal", "master": "d4e5f601" }
  },
  "keepers": {
    "keeper0": { "uid": "keeper0", "generation": 1, "changeTime": "2024-05-02T09:15:42.512Z", "spec": {},
      "status": { "healthy": true, "lastHealthyTime": "2024-05-02T09:15:42.510Z",
                  "bootUUID": "3f0d8c9e-0b7a-4a53-9b55-2d6f5b1f0a11", "postgresBinaryVersion": { "Maj": 13, "Min": 4 },
                  "canBeMaster": true, "canBeSynchronousReplica": true } },
    "keeper1": { "uid": "keeper1", "generation": 1, "changeTime": "2024-05-02T09:15:42.512Z", "spec": {},
      "status": { "healthy": true, "lastHealthyTime": "2024-05-02T09:15:42.510Z",
                  "bootUUID": "91a2c7d4-55e3-4c1f-8d0e-7b6a9c3e2f10", "postgresBinaryVersion": { "Maj": 13, "Min": 4 },
                  "canBeMaster": true, "canBeSynchronousReplica": true } }
  },
  "dbs": {
    "d4e5f601": { "uid": "d4e5f601", "generation": 3, "changeTime": "2024-05-02T09:10:40.100Z",
      "spec": { "keeperUID": "keeper0", "requestTimeout": "10s", "maxStandbys": 20, "additionalWalSenders": 5,
                "additionalReplicationSlots": null, "initMode": "none",
                "pgParameters": { "datestyle": "iso, mdy", "max_connections": "100", "shared_buffers": "128MB" },
                "pgHBA": null, "role": "master", "followers": ["a9b8c7d6"],
                "synchronousStandbys": null, "externalSynchronousStandbys": null },
      "status": { "healthy": true, "currentGeneration": 3, "listenAddress": "10.0.0.11", "port": "5432",
                  "systemdID": "6958127733215012345", "timelineID": 1, "xLogPos": 50331984,
                  "pgParameters": { "datestyle": "iso, mdy", "max_connections": "100", "shared_buffers": "128MB" },
                  "synchronousStandbys": null, "olderWalFile": "000000010000000000000001" } },
    "a9b8c7d6": { "uid": "a9b8c7d6", "generation": 2, "changeTime": "2024-05-02T09:11:05.700Z",
      "spec": { "keeperUID": "keeper1", "requestTimeout": "10s", "maxStandbys": 20, "additionalWalSenders": 5,
                "additionalReplicationSlots": null, "initMode": "none",
                "pgParameters": { "datestyle": "iso, mdy", "max_connections": "100", "shared_buffers": "128MB" },
                "pgHBA": null, "role": "standby", "followConfig": { "type": "internal", "dbuid": "d4e5f601" },
                "followers": [], "synchronousStandbys": null, "externalSynchronousStandbys": null },
      "status": { "healthy": true, "currentGeneration": 2, "listenAddress": "10.0.0.12", "port": "5432",
                  "systemdID": "6958127733215012345", "timelineID": 1, "xLogPos": 50331984,
                  "pgParameters": { "datestyle": "iso, mdy", "max_connections": "100", "shared_buffers": "128MB" },
                  "synchronousStandbys": null, "olderWalFile": "000000010000000000000002" } }
  },
  "proxy": { "generation": 3, "changeTime": "2024-05-02T09:10:45.000Z",
             "spec": { "masterDbUid": "d4e5f601", "enabledProxies": ["5b6c7d8e"] }, "status": {} }
})json";

// Three keepers, synchronous replication with a fake standby, after one failover (timeline 2),
// a standby cluster spec initialised by PITR, and offsets in the input times.
constexpr const char* kThreeKeepersSync = R"json({
  "formatVersion": 1, "changeTime": "2024-06-01T12:00:00.000000123+02:00",
  "cluster": {
    "uid": "0badf00d", "generation": 1, "changeTime": "2024-06-01T08:00:00Z",
    "spec": {
      "sleepInterval": "2s", "requestTimeout": "4s", "convergenceTimeout": "1m30s", "initTimeout": "48h0m0s",
      "syncTimeout": "0s", "dbWaitReadyTimeout": "300ms", "failInterval": "10s",
      "deadKeeperRemovalInterval": "72h0m0s", "proxyCheckInterval": "1s", "proxyTimeout": "3s",
      "maxStandbys": 5, "maxStandbysPerSender": 2, "maxStandbyLag": 4194304,
      "synchronousReplication": true, "minSynchronousStandbys": 1, "maxSynchronousStandbys": 2,
      "additionalWalSenders": 3, "additionalMasterReplicationSlots": ["backup_slot", "logical1"],
      "usePgrewind": true, "initMode": "pitr", "mergePgParameters": false, "role": "standby",
      "newConfig": { "locale": "C", "encoding": "UTF8", "dataChecksums": true },
      "pitrConfig": { "dataRestoreCommand": "restore-base %d",
                      "archiveRecoverySettings": { "restoreCommand": "cp /archive/%f %p" } },
      "standbyConfig": { "standbySettings": { "primaryConninfo": "host=10.1.0.1 port=5432",
                                               "primarySlotName": "remote_slot",
                                               "recoveryMinApplyDelay": "5min" },
                         "archiveRecoverySettings": { "restoreCommand": "cp /archive/%f %p" } },
      "defaultSUReplAccessMode": "strict",
      "pgParameters": { "max_connections": "200", "synchronous_commit": "on" },
      "pgHBA": ["host all all 10.0.0.0/8 md5", "local all all trust"],
      "automaticPgRestart": true
    },
    "status": { "currentGeneration": 1, "phase": "normal", "master": "db000002" }
  },
  "keepers": {
    "k0": { "uid": "k0", "generation": 1, "changeTime": "2024-06-01T09:00:00Z", "spec": {},
            "status": { "lastHealthyTime": "2024-06-01T09:59:00Z", "bootUUID": "00000000-0000-4000-8000-000000000000",
                        "postgresBinaryVersion": { "Maj": 15, "Min": 6 }, "forceFail": true, "canBeMaster": false } },
    "k1": { "uid": "k1", "generation": 1, "changeTime": "2024-06-01T09:00:00Z", "spec": {},
            "status": { "healthy": true, "lastHealthyTime": "2024-06-01T10:00:00.25Z",
                        "postgresBinaryVersion": { "Maj": 15, "Min": 6 }, "canBeSynchronousReplica": false } },
    "k2": { "uid": "k2", "generation": 1, "changeTime": "2024-06-01T09:00:00Z", "spec": {},
            "status": { "healthy": true, "lastHealthyTime": "0001-01-01T00:00:00Z",
                        "postgresBinaryVersion": { "Maj": 15, "Min": 6 } } }
  },
  "dbs": {
    "db000002": { "uid": "db000002", "generation": 7, "changeTime": "2024-06-01T09:30:00Z",
      "spec": { "keeperUID": "k1", "requestTimeout": "4s", "maxStandbys": 5, "synchronousReplication": true,
                "usePgrewind": true, "additionalWalSenders": 3, "additionalReplicationSlots": ["backup_slot", "logical1"],
                "initMode": "none", "pgHBA": [], "role": "master",
                "followConfig": { "type": "external",
                                  "standbySettings": { "primaryConninfo": "host=10.1.0.1 port=5432" },
                                  "archiveRecoverySettings": { "restoreCommand": "cp /archive/%f %p" } },
                "followers": ["db000003", "db000004"], "includePreviousConfig": true,
                "synchronousStandbys": ["db000003"], "externalSynchronousStandbys": ["stolonfakestandby"] },
      "status": { "healthy": true, "currentGeneration": 7, "listenAddress": "127.0.0.1", "port": "6001",
                  "systemdID": "7012345678901234567", "timelineID": 2, "xLogPos": 18446744073709551615,
                  "timelinesHistory": [ { "timelineID": 1, "switchPoint": 83886240, "reason": "no recovery target specified" } ],
                  "synchronousStandbys": ["db000003"], "olderWalFile": "000000020000000000000005" } },
    "db000003": { "uid": "db000003", "generation": 2, "changeTime": "2024-06-01T09:31:00Z",
      "spec": { "keeperUID": "k2", "requestTimeout": "4s", "maxStandbys": 5, "additionalWalSenders": 3,
                "additionalReplicationSlots": null, "initMode": "resync", "pgHBA": null, "role": "standby",
                "followConfig": { "type": "internal", "dbuid": "db000002" },
                "followers": null, "synchronousStandbys": [], "externalSynchronousStandbys": [] },
      "status": { "synchronousStandbys": [] } },
    "db000004": { "uid": "db000004", "generation": 1, "changeTime": "2024-06-01T09:32:00Z",
      "spec": { "keeperUID": "k0", "requestTimeout": "0s", "additionalWalSenders": 0,
                "additionalReplicationSlots": null, "pgHBA": null, "role": "standby",
                "followConfig": { "type": "internal", "dbuid": "db000002" },
                "followers": [], "synchronousStandbys": null, "externalSynchronousStandbys": null },
      "status": { "synchronousStandbys": null } }
  },
  "proxy": { "uid": "p", "generation": 9, "changeTime": "2024-06-01T09:33:00Z",
             "spec": { "masterDbUid": "db000002", "enabledProxies": ["aaaa0001", "bbbb0002"] }, "status": {} }
})json";

std::string Msg(const absl::Status& s) { return std::string(s.message()); }

ClusterData MustParse(const std::string& text) {
  auto cd = ParseClusterData(text);
  EXPECT_TRUE(cd.ok()) << cd.status();
  return cd.ok() ? *cd : ClusterData{};
}

TEST(ClusterDataJsonTest, DecodesStolonExample) {
  ClusterData cd = MustParse(kTwoKeepers);
  EXPECT_EQ(cd.format_version, 1u);
  EXPECT_EQ(FormatTime(cd.change_time), "2024-05-02T09:15:42.512Z");
  EXPECT_EQ(cd.cluster.uid, "7c1e09ab");
  EXPECT_EQ(cd.cluster.generation, 1);
  EXPECT_EQ(cd.cluster.spec.init_mode, "new");
  EXPECT_FALSE(cd.cluster.spec.additional_wal_senders.has_value());
  EXPECT_FALSE(cd.cluster.spec.pg_hba.has_value());
  EXPECT_FALSE(cd.cluster.spec.automatic_pg_restart.has_value());
  EXPECT_EQ(cd.cluster.spec.pg_parameters.at("shared_buffers"), "128MB");
  EXPECT_EQ(cd.cluster.status.phase, kPhaseNormal);
  EXPECT_EQ(cd.cluster.status.master, "d4e5f601");
  ASSERT_EQ(cd.keepers.size(), 2u);
  const KeeperStatus& k0 = cd.keepers.at("keeper0").status;
  EXPECT_TRUE(k0.healthy);
  EXPECT_EQ(k0.boot_uuid, "3f0d8c9e-0b7a-4a53-9b55-2d6f5b1f0a11");
  EXPECT_EQ(k0.postgres_binary_version, (PostgresBinaryVersion{13, 4}));
  EXPECT_EQ(k0.can_be_master, true);
  ASSERT_EQ(cd.dbs.size(), 2u);
  const DB& master = cd.dbs.at("d4e5f601");
  EXPECT_EQ(master.generation, 3);
  EXPECT_EQ(master.spec.request_timeout, 10s);
  EXPECT_EQ(master.spec.max_standbys, 20);
  EXPECT_EQ(master.spec.additional_wal_senders, 5);
  EXPECT_FALSE(master.spec.additional_replication_slots.has_value());
  EXPECT_EQ(master.spec.role, kRoleMaster);
  EXPECT_EQ(master.spec.followers, std::vector<std::string>{"a9b8c7d6"});
  EXPECT_TRUE(master.spec.synchronous_standbys.empty());
  EXPECT_EQ(master.status.system_id, "6958127733215012345");
  EXPECT_EQ(master.status.xlog_pos, 50331984u);
  EXPECT_EQ(master.status.current_generation, 3);
  const DB& standby = cd.dbs.at("a9b8c7d6");
  ASSERT_TRUE(standby.spec.follow_config.has_value());
  EXPECT_EQ(standby.spec.follow_config->type, kFollowInternal);
  EXPECT_EQ(standby.spec.follow_config->db_uid, "d4e5f601");
  EXPECT_EQ(cd.proxy.generation, 3);
  EXPECT_EQ(cd.proxy.spec.master_db_uid, "d4e5f601");
  EXPECT_EQ(cd.proxy.spec.enabled_proxies, std::vector<std::string>{"5b6c7d8e"});
}

TEST(ClusterDataJsonTest, DecodesThreeKeeperSyncDocument) {
  ClusterData cd = MustParse(kThreeKeepersSync);
  EXPECT_EQ(FormatTime(cd.change_time), "2024-06-01T10:00:00.000000123Z");
  const ClusterSpec& s = cd.cluster.spec;
  EXPECT_EQ(s.convergence_timeout, 90s);
  EXPECT_EQ(s.init_timeout, 48h);
  EXPECT_EQ(s.sync_timeout, 0s);
  EXPECT_EQ(s.db_wait_ready_timeout, 300ms);
  EXPECT_EQ(s.max_standby_lag, 4194304u);
  EXPECT_EQ(s.synchronous_replication, true);
  EXPECT_EQ(s.max_synchronous_standbys, 2);
  EXPECT_EQ(s.additional_master_replication_slots,
            (std::vector<std::string>{"backup_slot", "logical1"}));
  EXPECT_EQ(s.role, kRoleStandby);
  ASSERT_TRUE(s.pitr_config.has_value());
  EXPECT_EQ(s.pitr_config->data_restore_command, "restore-base %d");
  EXPECT_FALSE(s.pitr_config->recovery_target_settings.has_value());
  ASSERT_TRUE(s.standby_config && s.standby_config->standby_settings);
  EXPECT_EQ(s.standby_config->standby_settings->primary_slot_name, "remote_slot");
  EXPECT_EQ(s.new_config, (NewConfig{"C", "UTF8", true}));
  EXPECT_EQ(s.pg_hba->size(), 2u);
  EXPECT_EQ(s.automatic_pg_restart, true);
  EXPECT_TRUE(s.Validate().ok()) << s.Validate();
  EXPECT_EQ(cd.cluster.status.current_generation, 1);
  EXPECT_TRUE(cd.keepers.at("k0").status.force_fail);
  EXPECT_EQ(cd.keepers.at("k0").status.can_be_master, false);
  EXPECT_EQ(cd.keepers.at("k1").status.can_be_synchronous_replica, false);
  EXPECT_EQ(cd.keepers.at("k2").status.last_healthy_time, ZeroTime());
  const DB& m = cd.dbs.at("db000002");
  EXPECT_TRUE(m.spec.synchronous_replication);
  EXPECT_TRUE(m.spec.include_previous_config);
  EXPECT_EQ(m.spec.pg_hba, std::vector<std::string>{});
  EXPECT_EQ(m.spec.synchronous_standbys, std::vector<std::string>{"db000003"});
  EXPECT_EQ(m.spec.external_synchronous_standbys, std::vector<std::string>{kFakeStandbyName});
  EXPECT_EQ(m.spec.follow_config->standby_settings->primary_conninfo, "host=10.1.0.1 port=5432");
  EXPECT_EQ(m.status.xlog_pos, 18446744073709551615u);
  ASSERT_EQ(m.status.timelines_history.size(), 1u);
  EXPECT_EQ(m.status.timelines_history[0],
            (TimelineHistoryEntry{1, 83886240, "no recovery target specified"}));
  EXPECT_TRUE(cd.dbs.at("db000003").spec.followers.empty());
  EXPECT_EQ(cd.dbs.at("db000003").spec.init_mode, kInitModeResync);
  EXPECT_EQ(cd.proxy.uid, "p");
}

TEST(ClusterDataJsonTest, RoundTripsToEqualValues) {
  for (const char* doc : {kTwoKeepers, kThreeKeepersSync}) {
    ClusterData first = MustParse(doc);
    std::string encoded = EncodeClusterData(first);
    ClusterData second = MustParse(encoded);
    EXPECT_EQ(first, second);
    EXPECT_EQ(EncodeClusterData(second), encoded);  // encoding is deterministic
  }
}

// Rewrites every time string in `j` in our (Go's) canonical form.
void NormalizeTimes(json& j) {
  if (j.is_object() || j.is_array()) {
    for (auto& v : j) NormalizeTimes(v);
  } else if (j.is_string()) {
    if (auto t = ParseTime(j.get<std::string>()); t.ok()) j = FormatTime(*t);
  }
}

TEST(ClusterDataJsonTest, EncodesTheStolonExampleToTheSameJson) {
  // Our encoding of the example equals the example itself, key for key (it has no defaults to
  // elide, and its empty `followers` is [] while its empty sync lists are null).
  // The only difference: like Go's RFC3339Nano we drop trailing zeros of the fraction, so the
  // example's hand-written ".510Z" is written ".51Z" and ".000Z" is written "Z".
  json want = json::parse(kTwoKeepers);
  NormalizeTimes(want);
  EXPECT_EQ(want["proxy"]["changeTime"], "2024-05-02T09:10:45Z");
  EXPECT_EQ(want["dbs"]["d4e5f601"]["changeTime"], "2024-05-02T09:10:40.1Z");
  EXPECT_EQ(ToJson(MustParse(kTwoKeepers)), want);
}

TEST(ClusterDataJsonTest, AlwaysEmitsStolonsNonOmitemptyKeys) {
  ClusterData cd;  // everything zero
  cd.cluster.spec.init_mode = "new";
  cd.keepers["k"] = Keeper{};
  cd.dbs["d"] = DB{};
  json j = ToJson(cd);
  for (const char* key : {"formatVersion", "changeTime", "cluster", "keepers", "dbs", "proxy"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["changeTime"], "0001-01-01T00:00:00Z");
  const json& spec = j["cluster"]["spec"];
  for (const char* key : {"additionalWalSenders", "additionalMasterReplicationSlots", "pgHBA",
                          "automaticPgRestart"}) {
    ASSERT_TRUE(spec.contains(key)) << key;
    EXPECT_TRUE(spec[key].is_null()) << key;
  }
  EXPECT_FALSE(spec.contains("sleepInterval"));
  EXPECT_FALSE(spec.contains("pgParameters"));
  EXPECT_EQ(j["cluster"]["changeTime"], "0001-01-01T00:00:00Z");
  EXPECT_EQ(j["cluster"]["status"], json::object());
  EXPECT_FALSE(j["cluster"].contains("uid"));
  EXPECT_FALSE(j["cluster"].contains("generation"));

  const json& keeper = j["keepers"]["k"];
  EXPECT_EQ(keeper["spec"], json::object());
  EXPECT_EQ(keeper["status"]["lastHealthyTime"], "0001-01-01T00:00:00Z");
  EXPECT_EQ(keeper["status"]["postgresBinaryVersion"], (json{{"Maj", 0}, {"Min", 0}}));
  EXPECT_FALSE(keeper["status"].contains("healthy"));
  EXPECT_FALSE(keeper["status"].contains("canBeMaster"));

  const json& db = j["dbs"]["d"];
  EXPECT_EQ(db["spec"]["requestTimeout"], "0s");
  EXPECT_EQ(db["spec"]["additionalWalSenders"], 0);
  EXPECT_EQ(db["spec"]["followers"], json::array());
  for (const char* key : {"additionalReplicationSlots", "pgHBA", "synchronousStandbys",
                          "externalSynchronousStandbys"}) {
    ASSERT_TRUE(db["spec"].contains(key)) << key;
    EXPECT_TRUE(db["spec"][key].is_null()) << key;
  }
  for (const char* key : {"keeperUID", "maxStandbys", "initMode", "role", "followConfig",
                          "pgParameters", "includePreviousConfig"}) {
    EXPECT_FALSE(db["spec"].contains(key)) << key;
  }
  ASSERT_TRUE(db["status"].contains("synchronousStandbys"));
  EXPECT_TRUE(db["status"]["synchronousStandbys"].is_null());
  EXPECT_EQ(db["status"].size(), 1u);

  EXPECT_EQ(j["proxy"]["spec"], json::object());
  EXPECT_EQ(j["proxy"]["status"], json::object());
  EXPECT_EQ(j["proxy"]["changeTime"], "0001-01-01T00:00:00Z");
}

TEST(ClusterDataJsonTest, QuirkyKeyNames) {
  ClusterData cd = MustParse(kThreeKeepersSync);
  json j = ToJson(cd);
  EXPECT_EQ(j["dbs"]["db000002"]["status"]["systemdID"], "7012345678901234567");
  EXPECT_FALSE(j["dbs"]["db000002"]["status"].contains("systemID"));
  EXPECT_EQ(j["dbs"]["db000003"]["spec"]["followConfig"]["dbuid"], "db000002");
  EXPECT_EQ(j["keepers"]["k0"]["status"]["postgresBinaryVersion"]["Maj"], 15);
  EXPECT_EQ(j["cluster"]["spec"]["initTimeout"], "48h0m0s");
  EXPECT_EQ(j["cluster"]["spec"]["convergenceTimeout"], "1m30s");
  EXPECT_EQ(j["cluster"]["spec"]["dbWaitReadyTimeout"], "300ms");
  EXPECT_EQ(j["changeTime"], "2024-06-01T10:00:00.000000123Z");
}

TEST(ClusterDataJsonTest, NullDocument) {
  auto none = ParseClusterDataOrNull("null");
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_FALSE(none->has_value());
  auto some = ParseClusterDataOrNull(kTwoKeepers);
  ASSERT_TRUE(some.ok()) << some.status();
  EXPECT_TRUE(some->has_value());
  auto err = ParseClusterData("null");
  ASSERT_FALSE(err.ok());
  EXPECT_EQ(Msg(err.status()), "cluster data: expected an object, got null");
}

// Replaces the value at `pointer` in the 2-keeper example and returns the parse error.
absl::Status ParseWith(const std::string& pointer, const json& value) {
  json doc = json::parse(kTwoKeepers);
  doc[json::json_pointer(pointer)] = value;
  return ParseClusterData(doc.dump()).status();
}

TEST(ClusterDataJsonTest, MalformedInputGivesClearErrors) {
  struct Case {
    std::string name, pointer;
    json value;
    std::string want;
  };
  const Case cases[] = {
      {"bool as string", "/keepers/keeper0/status/healthy", "yes",
       "keepers.keeper0.status.healthy: expected a boolean, got string"},
      {"duration without unit", "/cluster/spec/sleepInterval", "5",
       "cluster.spec.sleepInterval: invalid duration \"5\": missing unit"},
      {"duration with space", "/cluster/spec/sleepInterval", "5 s",
       "cluster.spec.sleepInterval: invalid duration \"5 s\""},
      {"duration as number", "/dbs/d4e5f601/spec/requestTimeout", 10,
       "dbs.d4e5f601.spec.requestTimeout: expected a duration string such as \"5s\", got number "
       "10"},
      {"uint16 overflow", "/dbs/d4e5f601/spec/maxStandbys", 65536,
       "dbs.d4e5f601.spec.maxStandbys: 65536 is out of range, must be between 0 and 65535"},
      {"uint16 negative", "/cluster/spec/maxStandbys", -1,
       "cluster.spec.maxStandbys: -1 is out of range, must be between 0 and 65535"},
      {"uint32 overflow", "/cluster/spec/maxStandbyLag", 4294967296LL,
       "cluster.spec.maxStandbyLag: 4294967296 is out of range, must be between 0 and 4294967295"},
      {"uint64 negative", "/dbs/d4e5f601/status/xLogPos", -5,
       "dbs.d4e5f601.status.xLogPos: -5 is out of range"},
      {"float integer", "/dbs/d4e5f601/generation", 1.5,
       "dbs.d4e5f601.generation: expected an integer, got number 1.5"},
      {"null cluster", "/cluster", nullptr, "cluster: expected an object, got null"},
      {"null db spec", "/dbs/a9b8c7d6/spec", nullptr,
       "dbs.a9b8c7d6.spec: expected an object, got null"},
      {"array keepers", "/keepers", json::array(), "keepers: expected an object, got array"},
      {"string in list", "/dbs/d4e5f601/spec/followers", json::array({"a", 1}),
       "dbs.d4e5f601.spec.followers[1]: expected a string, got number 1"},
      {"bad time", "/changeTime", "yesterday", "changeTime: invalid time \"yesterday\""},
      {"time as number", "/cluster/changeTime", 0,
       "cluster.changeTime: expected an RFC 3339 time string, got number 0"},
      {"pg parameter not string", "/cluster/spec/pgParameters/max_connections", 100,
       "cluster.spec.pgParameters.max_connections: expected a string, got number 100"},
      {"binary version", "/keepers/keeper1/status/postgresBinaryVersion", "13.4",
       "keepers.keeper1.status.postgresBinaryVersion: expected an object, got string"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    absl::Status st = ParseWith(c.pointer, c.value);
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << st;
    EXPECT_THAT(Msg(st), HasSubstr(c.want));
  }
}

TEST(ClusterDataJsonTest, NegativeDurationDecodesButFailsValidation) {
  json doc = json::parse(kTwoKeepers);
  doc["cluster"]["spec"]["sleepInterval"] = "-1s";
  auto cd = ParseClusterData(doc.dump());
  ASSERT_TRUE(cd.ok()) << cd.status();
  EXPECT_EQ(cd->cluster.spec.sleep_interval, -1s);
  absl::Status st = cd->cluster.spec.Validate();
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(st), HasSubstr("sleepInterval must not be negative, got \"-1s\""));
}

TEST(ClusterDataJsonTest, BadJsonIsInvalidArgument) {
  for (const char* text : {"", "{", "{\"formatVersion\": 1,}", "nul", "[1, 2", "{\"a\": 1} x"}) {
    auto cd = ParseClusterData(text);
    ASSERT_FALSE(cd.ok()) << text;
    EXPECT_EQ(cd.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(Msg(cd.status()), HasSubstr("invalid JSON: "));
    EXPECT_THAT(Msg(cd.status()), ::testing::Not(HasSubstr("json.exception")));
  }
  EXPECT_FALSE(ParseClusterDataOrNull("{").ok());
  EXPECT_FALSE(ParseKeeperInfo("]").ok());
  EXPECT_FALSE(ParseProxyInfo("").ok());
  EXPECT_FALSE(ParseSentinelInfo("{").ok());
}

TEST(ClusterDataJsonTest, FormatVersion) {
  for (const auto& [version, want] : {std::pair<json, std::string>{0, "version 0"},
                                      {2, "version 2"},
                                      {json(nullptr), "version 0"}}) {
    json doc = json::parse(kTwoKeepers);
    doc["formatVersion"] = version;
    auto cd = ParseClusterData(doc.dump());
    ASSERT_FALSE(cd.ok());
    EXPECT_EQ(cd.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(Msg(cd.status()), "unsupported cluster data format version " +
                                    want.substr(std::string("version ").size()));
  }
  // Missing entirely: a v0 (pre-0.5) layout.
  auto cd = ParseClusterData(R"({"cluster": {"uid": "x"}})");
  ASSERT_FALSE(cd.ok());
  EXPECT_EQ(cd.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Msg(cd.status()), "unsupported cluster data format version 0");
  // A wrong type is bad input, not a version mismatch.
  cd = ParseClusterData(R"({"formatVersion": "1"})");
  EXPECT_EQ(cd.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ClusterDataJsonTest, NeverCrashesOnTruncatedOrRetypedInput) {
  const std::string full = kTwoKeepers;
  for (size_t n = 0; n < full.size(); n += 7) {
    auto cd = ParseClusterData(full.substr(0, n));
    EXPECT_FALSE(cd.ok()) << n;
  }
  // Every value (leaf or not) replaced by every JSON type: an error or a value, never a crash.
  const json doc = json::parse(kTwoKeepers);
  const json flat = doc.flatten();
  std::vector<std::string> pointers;
  for (const auto& [pointer, unused] : flat.items()) {
    for (json::json_pointer p(pointer); !p.empty(); p = p.parent_pointer()) {
      pointers.push_back(p.to_string());
    }
  }
  const json replacements[] = {nullptr,       true,          0, -1, 65536, 1.5, "x",
                               json::array(), json::object()};
  int errors = 0;
  for (const auto& pointer : pointers) {
    for (const json& r : replacements) {
      json mutated = doc;
      mutated[json::json_pointer(pointer)] = r;
      auto cd = ParseClusterData(mutated.dump());
      if (!cd.ok()) {
        ++errors;
        EXPECT_FALSE(cd.status().message().empty());
      } else {
        EXPECT_TRUE(ParseClusterData(EncodeClusterData(*cd)).ok()) << pointer << " = " << r;
      }
    }
  }
  EXPECT_GT(errors, 100);
}

TEST(ClusterDataJsonTest, DeepNestingIsAnErrorNotACrash) {
  std::string deep = R"({"formatVersion": 1, "cluster": )" + std::string(20000, '[') +
                     std::string(20000, ']') + "}";
  auto cd = ParseClusterData(deep);
  ASSERT_FALSE(cd.ok());
  EXPECT_EQ(Msg(cd.status()), "cluster: expected an object, got array");
}

TEST(ClusterDataJsonTest, UnknownKeysAreIgnored) {
  json doc = json::parse(kTwoKeepers);
  doc["futureField"] = 1;
  doc["cluster"]["spec"]["someNewOption"] = "x";
  doc["keepers"]["keeper0"]["spec"]["priority"] = 3;
  auto cd = ParseClusterData(doc.dump());
  ASSERT_TRUE(cd.ok()) << cd.status();
  EXPECT_EQ(*cd, MustParse(kTwoKeepers));
}

TEST(ClusterDataJsonTest, EmptyAndNullListsDecodeAlike) {
  json doc = json::parse(kTwoKeepers);
  doc["dbs"]["d4e5f601"]["spec"]["synchronousStandbys"] = json::array();
  doc["dbs"]["a9b8c7d6"]["spec"]["followers"] = nullptr;
  doc["dbs"]["a9b8c7d6"]["status"].erase("synchronousStandbys");
  auto cd = ParseClusterData(doc.dump());
  ASSERT_TRUE(cd.ok()) << cd.status();
  EXPECT_EQ(*cd, MustParse(kTwoKeepers));
}

TEST(ClusterDataJsonTest, CurSynchronousStandbysIsNotSerialised) {
  ClusterData cd = MustParse(kTwoKeepers);
  cd.dbs.at("d4e5f601").status.cur_synchronous_standbys = {"a9b8c7d6"};
  std::string encoded = EncodeClusterData(cd);
  EXPECT_THAT(encoded, ::testing::Not(HasSubstr("urSynchronous")));
}

TEST(ClusterDataJsonTest, PrintsAsIndentedJson) {
  ClusterData cd = MustParse(kTwoKeepers);
  std::string printed = ::testing::PrintToString(cd);
  EXPECT_THAT(printed, HasSubstr("\"systemdID\": \"6958127733215012345\""));
  EXPECT_THAT(printed, HasSubstr("\n"));
}

TEST(ClusterDataJsonTest, InvalidUtf8IsReplacedNotThrown) {
  ClusterData cd = MustParse(kTwoKeepers);
  cd.cluster.spec.pg_parameters["bad"] = std::string("\xff\xfe", 2);
  std::string encoded = EncodeClusterData(cd);
  auto back = ParseClusterData(encoded);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->cluster.spec.pg_parameters.at("bad"), "\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(InfoJsonTest, KeeperInfoRoundTrip) {
  KeeperInfo ki;
  ki.info_uid = "1a2b3c4d";
  ki.uid = "keeper0";
  ki.cluster_uid = "7c1e09ab";
  ki.boot_uuid = "3f0d8c9e-0b7a-4a53-9b55-2d6f5b1f0a11";
  ki.postgres_binary_version = {15, 6};
  ki.can_be_master = true;
  ki.can_be_synchronous_replica = false;
  PostgresState ps;
  ps.uid = "d4e5f601";
  ps.generation = 3;
  ps.listen_address = "127.0.0.1";
  ps.port = "6001";
  ps.healthy = true;
  ps.system_id = "6958127733215012345";
  ps.timeline_id = 3;
  ps.xlog_pos = 50331984;
  ps.timelines_history = {{1, 100, "r1"}, {2, 200, "r2"}};
  ps.pg_parameters = {{"max_connections", "100"}};
  ps.synchronous_standbys = {"a9b8c7d6"};
  ps.older_wal_file = "000000030000000000000001";
  ki.postgres_state = ps;

  json j = ToJson(ki);
  EXPECT_EQ(j["infoUID"], "1a2b3c4d");
  EXPECT_EQ(j["clusterUID"], "7c1e09ab");
  EXPECT_EQ(j["postgresState"]["systemID"], "6958127733215012345");
  EXPECT_FALSE(j["postgresState"].contains("systemdID"));
  EXPECT_EQ(j["postgresBinaryVersion"], (json{{"Maj", 15}, {"Min", 6}}));
  auto back = ParseKeeperInfo(EncodeKeeperInfo(ki));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, ki);

  KeeperInfo bare;
  bare.uid = "k";
  json jb = ToJson(bare);
  EXPECT_FALSE(jb.contains("postgresState"));
  back = ParseKeeperInfo(R"({"uid": "k", "postgresState": null})");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, bare);

  PostgresState empty;
  json je = ToJson(KeeperInfo{.postgres_state = empty});
  ASSERT_TRUE(je["postgresState"].contains("synchronousStandbys"));
  EXPECT_TRUE(je["postgresState"]["synchronousStandbys"].is_null());

  auto bad = ParseKeeperInfo(R"({"postgresState": {"healthy": "true"}})");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(Msg(bad.status()), "postgresState.healthy: expected a boolean, got string");
}

TEST(InfoJsonTest, ProxyInfoTimeoutIsIntegerNanoseconds) {
  ProxyInfo pi{.info_uid = "abcd0001", .uid = "5b6c7d8e", .generation = 3, .proxy_timeout = 15s};
  json j = ToJson(pi);
  EXPECT_EQ(j, (json{{"infoUID", "abcd0001"},
                     {"UID", "5b6c7d8e"},
                     {"Generation", 3},
                     {"ProxyTimeout", 15000000000LL}}));
  auto back = ParseProxyInfo(EncodeProxyInfo(pi));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, pi);
  auto bad = ParseProxyInfo(R"({"UID": "x", "ProxyTimeout": "15s"})");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(Msg(bad.status()), "ProxyTimeout: expected an integer, got string");
}

TEST(InfoJsonTest, SentinelInfo) {
  SentinelInfo si{"a1b2c3d4"};
  EXPECT_EQ(EncodeSentinelInfo(si), R"({"UID":"a1b2c3d4"})");
  auto back = ParseSentinelInfo(R"({"UID":"a1b2c3d4"})");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, si);
  auto bad = ParseSentinelInfo("[]");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(Msg(bad.status()), "sentinel info: expected an object, got array");
}

}  // namespace
}  // namespace stolon::cluster
