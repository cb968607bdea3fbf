// stolonctl's command line run in-process against an in-memory store: every subcommand, and every
// refused input leaves the store exactly as it was.
#include "ctl/commands.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "cluster/json.h"
#include "store/kv_store_wrapper.h"
#include "store/mem_kv_store.h"
#include "unit/ctl/fixtures.h"

namespace stolon::ctl {
namespace {

constexpr const char* kCdKey = "stolon/cluster/test/clusterdata";

// Before each of the next `pending` compare-and-swaps, rewrites the key (same value, new revision)
// as a concurrently running sentinel would, so that compare-and-swap is lost.
class RacingKvStore : public store::KvStoreWrapper {
 public:
  RacingKvStore(store::KvStore& target, int& pending) : KvStoreWrapper(target), pending_(pending) {}
  absl::StatusOr<int64_t> CompareAndSwap(const std::string& key, const std::string& value,
                                         int64_t expected_mod_revision,
                                         store::LeaseId lease = store::kNoLease) override {
    if (pending_ > 0) {
      --pending_;
      auto cur = target().Get(key);
      if (cur.ok() && cur->has_value()) {
        EXPECT_TRUE(target().Put(key, (*cur)->value).ok());
      }
    }
    return KvStoreWrapper::CompareAndSwap(key, value, expected_mod_revision, lease);
  }

 private:
  int& pending_;
};

class CtlCommands : public ::testing::Test {
 protected:
  struct Result {
    int code;
    std::string out, err;
  };

  Result Run(std::vector<std::string> args, const std::string& input = "") {
    std::vector<std::string> full = {"--cluster-name=test", "--store-backend=etcdv3"};
    full.insert(full.end(), args.begin(), args.end());
    std::istringstream in(input);
    std::ostringstream out, err;
    StoreFactory factory =
        [this](const store::StoreConfig&) -> absl::StatusOr<std::unique_ptr<store::KvStore>> {
      if (unreachable_) return absl::UnavailableError("etcd at http://127.0.0.1:2379 unreachable");
      return std::make_unique<RacingKvStore>(mem_, lost_cas_);
    };
    int code = RunStolonctl(full, CtlIo{in, out, err}, factory);
    return {code, out.str(), err.str()};
  }

  // Every key with value and revision: equal snapshots mean nothing was written.
  std::vector<store::KvPair> Snapshot() {
    auto all = mem_.List("");
    EXPECT_TRUE(all.ok());
    return *all;
  }

  void PutClusterData(const cluster::ClusterData& cd) {
    ASSERT_TRUE(mem_.Put(kCdKey, cluster::EncodeClusterData(cd)).ok());
  }

  cluster::ClusterData ReadClusterData() {
    auto kv = mem_.Get(kCdKey);
    EXPECT_TRUE(kv.ok() && kv->has_value());
    auto cd = cluster::ParseClusterData((*kv)->value);
    EXPECT_TRUE(cd.ok()) << cd.status();
    return *cd;
  }

  // Runs `args` expecting a refusal: non-zero exit, one line on stderr containing `want`, no
  // change.
  void ExpectRefused(std::vector<std::string> args, const std::string& want,
                     const std::string& input = "") {
    SCOPED_TRACE(::testing::PrintToString(args));
    auto before = Snapshot();
    Result r = Run(args, input);
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.err.find(want), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(Snapshot(), before);
  }

  store::MemKvStore mem_;
  bool unreachable_ = false;
  int lost_cas_ = 0;  // compare-and-swaps still to lose to a concurrent writer
};

TEST_F(CtlCommands, InitWritesAnInitializingCluster) {
  Result r = Run({"init", "-y", R"({"initMode":"new","sleepInterval":"2s"})"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("WARNING: The databases managed by the keepers will be overwritten"),
            std::string::npos);
  EXPECT_EQ(r.out.find("current cluster data will be removed"), std::string::npos);
  auto cd = ReadClusterData();
  EXPECT_EQ(cd.cluster.status.phase, "initializing");
  EXPECT_EQ(cd.cluster.spec.sleep_interval, std::chrono::seconds(2));
  EXPECT_EQ(cd.cluster.uid.size(), 8u);
}

TEST_F(CtlCommands, InitDefaultsToNewAndAsksForConfirmation) {
  Result no = Run({"init"}, "maybe\nno\n");
  EXPECT_NE(no.code, 0);
  EXPECT_NE(no.out.find("Please enter 'yes' or 'no'"), std::string::npos);
  EXPECT_TRUE(Snapshot().empty());
  Result yes = Run({"init"}, "yes\n");
  ASSERT_EQ(yes.code, 0) << yes.err;
  EXPECT_EQ(ReadClusterData().cluster.spec.init_mode, "new");
  // A second init warns that the current cluster data goes away.
  Result again = Run({"init", "-y"});
  EXPECT_NE(again.out.find("WARNING: The current cluster data will be removed"), std::string::npos);
}

TEST_F(CtlCommands, InitFromFileAndStdin) {
  std::string path = ::testing::TempDir() + "/spec.json";
  {
    std::ofstream f(path);
    f << R"({"initMode":"new","synchronousReplication":true})";
  }
  ASSERT_EQ(Run({"init", "-y", "-f", path}).code, 0);
  EXPECT_EQ(ReadClusterData().cluster.spec.synchronous_replication, true);
  ASSERT_EQ(Run({"init", "-y", "-f", "-"}, R"({"initMode":"new","maxStandbys":3})").code, 0);
  EXPECT_EQ(ReadClusterData().cluster.spec.max_standbys, 3);
}

TEST_F(CtlCommands, BadInputNeverChangesTheStore) {
  PutClusterData(testing::ThreeKeeperCluster());
  ExpectRefused({"init", "-y", "{not json"}, "invalid cluster spec");
  ExpectRefused({"init", "-y", R"({"initMode":"new","sleepIntervall":"1s"})"},
                "unknown field \"sleepIntervall\"");
  ExpectRefused({"init", "-y", R"({"initMode":"bogus"})"}, "initMode");
  ExpectRefused({"init", "-y", R"({"initMode":"new","sleepInterval":"5"})"}, "invalid duration");
  ExpectRefused({"init", "-y", "-f", "/nonexistent/spec.json"}, "cannot read file");
  ExpectRefused({"init", "-y", "-f", "x", "{}"}, "not both");
  ExpectRefused({"update", "--patch", "{bad"}, "invalid patch");
  ExpectRefused({"update", "--patch", R"({"maxStandbys":"many"})"}, "maxStandbys");
  ExpectRefused(
      {"update", "--patch", R"({"initMode":"existing","existingConfig":{"keeperUID":"keeper0"}})"},
      "cannot change cluster init mode");
  ExpectRefused({"update", "--patch", R"({"proxyCheckInterval":"20s"})"}, "proxyCheckInterval");
  ExpectRefused({"update", R"({"initMode":"new","unknownThing":1})"},
                "unknown field \"unknownThing\"");
  ExpectRefused({"update"}, "no cluster spec given");
  ExpectRefused({"failkeeper", "nosuchkeeper"}, "keeper doesn't exist");
  ExpectRefused({"removekeeper", "nosuchkeeper"}, "keeper doesn't exist");
  ExpectRefused({"removekeeper", "keeper0"}, "keeper assigned db is the current cluster master db");
  ExpectRefused({"status", "-f", "yaml"}, "unrecognised output format yaml");
  ExpectRefused({"clusterdata", "write"}, "cluster data already available use --yes to override",
                cluster::EncodeClusterData(testing::ThreeKeeperCluster()));
  ExpectRefused({"clusterdata", "write", "--yes"}, "invalid cluster data",
                R"({"formatVersion":7})");
  ExpectRefused({"clusterdata", "write", "--yes"}, "invalid cluster data", "[]");
  ExpectRefused({"--store-backend=zookeeper", "status"}, "Unknown store backend");
  ExpectRefused({"--store-timeout=5", "status"}, "invalid duration");
  ExpectRefused({"nosuchcommand"},
                "stolonctl: unknown command \"nosuchcommand\" for \"stolonctl\"");
  ExpectRefused({"--log-level=verbose", "status"},
                "stolonctl: --log-level: invalid log level \"verbose\"");
  ExpectRefused({"--no-such-flag", "status"}, "stolonctl: The following argument was not expected");
}

TEST_F(CtlCommands, MissingClusterAndUnreachableStore) {
  ExpectRefused({"status"}, "stolonctl init");
  ExpectRefused({"spec"}, "no cluster data");
  ExpectRefused({"update", "--patch", "{}"}, "no cluster data");
  ExpectRefused({"clusterdata", "read"}, "no cluster data");
  unreachable_ = true;
  ExpectRefused({"status"}, "unreachable");
  ExpectRefused({"init", "-y"}, "unreachable");
}

TEST_F(CtlCommands, StatusJsonErrorIsARealObject) {
  Result r = Run({"status", "-f", "json"});
  EXPECT_EQ(r.code, 1);
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["error"]["code"], "NOT_FOUND");
  EXPECT_NE(j["error"]["message"].get<std::string>().find("stolonctl init"), std::string::npos);
}

TEST_F(CtlCommands, StatusText) {
  PutClusterData(testing::ThreeKeeperCluster());
  Result r = Run({"status"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("Master Keeper: keeper0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("No active sentinels"), std::string::npos) << r.out;
}

TEST_F(CtlCommands, UpdatePatchReplaceAndNullRemoval) {
  PutClusterData(testing::ThreeKeeperCluster());
  ASSERT_EQ(Run({"update", "--patch", R"({"pgParameters":{"work_mem":"8MB","a":"b"}})"}).code, 0);
  EXPECT_EQ(ReadClusterData().cluster.spec.pg_parameters.at("work_mem"), "8MB");
  ASSERT_EQ(Run({"update", "-p", R"({"pgParameters":{"a":null}})"}).code, 0);
  EXPECT_FALSE(ReadClusterData().cluster.spec.pg_parameters.count("a"));
  ASSERT_EQ(Run({"update", "-p", "-f", "-"}, R"({"maxStandbysPerSender":1})").code, 0);
  EXPECT_EQ(ReadClusterData().cluster.spec.max_standbys_per_sender, 1);
  // Without --patch the spec is replaced: unset fields fall back to defaults.
  ASSERT_EQ(Run({"update", R"({"initMode":"new"})"}).code, 0);
  auto spec = ReadClusterData().cluster.spec;
  EXPECT_FALSE(spec.max_standbys_per_sender.has_value());
  EXPECT_TRUE(spec.pg_parameters.empty());
}

TEST_F(CtlCommands, SpecAndDefaults) {
  PutClusterData(testing::ThreeKeeperCluster());
  Result r = Run({"spec"});
  ASSERT_EQ(r.code, 0);
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["initMode"], "new");
  EXPECT_FALSE(j.contains("sleepInterval"));
  Result d = Run({"spec", "--defaults"});
  auto jd = nlohmann::json::parse(d.out);
  EXPECT_EQ(jd["sleepInterval"], "5s");
  EXPECT_EQ(jd["maxStandbyLag"], 1048576);
  EXPECT_TRUE(jd.contains("pitrConfig"));
  EXPECT_TRUE(jd["pitrConfig"].is_null());
}

TEST_F(CtlCommands, FailKeeperAndRemoveKeeper) {
  PutClusterData(testing::ThreeKeeperCluster());
  ASSERT_EQ(Run({"failkeeper", "keeper0"}).code, 0);
  EXPECT_TRUE(ReadClusterData().keepers.at("keeper0").status.force_fail);
  ASSERT_EQ(Run({"removekeeper", "keeper2"}).code, 0);
  auto cd = ReadClusterData();
  EXPECT_FALSE(cd.keepers.count("keeper2"));
  EXPECT_FALSE(cd.dbs.count("db2"));
}

// failkeeper and removekeeper retry a lost compare-and-swap like the other mutating commands.
TEST_F(CtlCommands, FailKeeperAndRemoveKeeperRetryALostCompareAndSwap) {
  PutClusterData(testing::ThreeKeeperCluster());
  lost_cas_ = 2;
  Result f = Run({"failkeeper", "keeper0"});
  ASSERT_EQ(f.code, 0) << f.err;
  EXPECT_TRUE(ReadClusterData().keepers.at("keeper0").status.force_fail);
  lost_cas_ = 2;
  Result r = Run({"removekeeper", "keeper2"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_FALSE(ReadClusterData().keepers.count("keeper2"));
  lost_cas_ = 3;  // every attempt lost: the racing writer's revisions change, the data does not
  Result lost = Run({"failkeeper", "keeper1"});
  EXPECT_EQ(lost.code, 1);
  EXPECT_NE(lost.err.find("failed to update cluster data after 3 retries"), std::string::npos)
      << lost.err;
  EXPECT_FALSE(ReadClusterData().keepers.at("keeper1").status.force_fail);
}

TEST_F(CtlCommands, PromoteStandbyCluster) {
  auto cd = testing::ThreeKeeperCluster();
  Result already = (PutClusterData(cd), Run({"promote", "-y"}));
  EXPECT_EQ(already.code, 0);
  EXPECT_NE(already.err.find("cluster spec role already set to master"), std::string::npos);
  cd.cluster.spec.init_mode = "pitr";
  cd.cluster.spec.role = "standby";
  cd.cluster.spec.synchronous_replication = false;
  cd.cluster.spec.pitr_config = cluster::PITRConfig{"true", {}, {}};
  cd.cluster.spec.standby_config =
      cluster::StandbyConfig{cluster::StandbySettings{"host=h", "", ""}, {}};
  PutClusterData(cd);
  ASSERT_EQ(Run({"promote", "-y"}).code, 0);
  EXPECT_EQ(ReadClusterData().cluster.spec.role, "master");
}

TEST_F(CtlCommands, ClusterDataReadWriteRoundTrip) {
  PutClusterData(testing::ThreeKeeperCluster());
  Result r = Run({"clusterdata", "read", "--pretty"});
  ASSERT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("\n\t\"cluster\""), std::string::npos);
  Result w = Run({"clusterdata", "write", "--yes"}, r.out);
  ASSERT_EQ(w.code, 0) << w.err;
  EXPECT_NE(w.out.find("successfully wrote cluster data into the new store"), std::string::npos);
  EXPECT_EQ(ReadClusterData(), testing::ThreeKeeperCluster());
}

TEST_F(CtlCommands, VersionHelpAndCompletion) {
  EXPECT_NE(Run({"version"}).out.find("stolonctl version"), std::string::npos);
  Result v = Run({"--version"});
  EXPECT_EQ(v.code, 0);
  EXPECT_EQ(v.out.rfind("stolonctl version ", 0), 0u) << v.out;
  Result h = Run({"update", "--help"});
  EXPECT_EQ(h.code, 0);
  EXPECT_NE(h.out.find("Examples:"), std::string::npos) << h.out;
  Result c = Run({"completion", "bash"});
  EXPECT_NE(c.out.find("complete -F _stolonctl stolonctl"), std::string::npos);
}

}  // namespace
}  // namespace stolon::ctl
