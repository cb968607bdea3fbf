// The stolonctl binary against a real etcd: every subcommand, the status layout for a 3-keeper
// cluster written by the test, and refused input leaving the store untouched.
#include <gtest/gtest.h>

#include "cluster/json.h"
#include "store/store.h"
#include "store/store_config.h"
#include "support/etcd.h"
#include "support/process.h"
#include "unit/ctl/fixtures.h"

namespace stolon::ctl {
namespace {

using namespace std::chrono_literals;
using stolon::testing::BinDir;
using stolon::testing::EtcdCluster;

class StolonctlEtcd : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { etcd_ = new EtcdCluster(); }
  static void TearDownTestSuite() {
    delete etcd_;
    etcd_ = nullptr;
  }

  void SetUp() override {
    cluster_ = std::string("c") + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    for (char& c : cluster_) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    store::StoreConfig sc;
    sc.endpoints = etcd_->endpoints();
    sc.cluster_name = cluster_;
    sc.timeout = 2s;
    auto kv = store::NewKvStore(sc);
    ASSERT_TRUE(kv.ok()) << kv.status();
    kv_ = std::move(*kv);
    store_ = std::make_unique<store::Store>(*kv_, sc.BasePath());
  }

  struct Result {
    int code;
    std::string out;
  };
  Result Ctl(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
    std::vector<std::string> argv = {BinDir() + "/stolonctl"};
    if (!env.count("STOLONCTL_CLUSTER_NAME")) {
      argv.push_back("--cluster-name=" + cluster_);
      argv.push_back("--store-backend=etcdv3");
      argv.push_back("--store-endpoints=" + etcd_->endpoints_flag());
    }
    argv.insert(argv.end(), args.begin(), args.end());
    Result r;
    r.code = stolon::testing::RunCommand(argv, &r.out, 30s, false, env);
    return r;
  }

  int64_t Revision() {
    auto cd = store_->GetClusterData();
    EXPECT_TRUE(cd.ok());
    return cd.ok() && *cd ? (*cd)->revision : 0;
  }

  static EtcdCluster* etcd_;
  std::string cluster_;
  std::unique_ptr<store::KvStore> kv_;
  std::unique_ptr<store::Store> store_;
};
EtcdCluster* StolonctlEtcd::etcd_ = nullptr;

TEST_F(StolonctlEtcd, InitUpdateSpecReadWrite) {
  Result init = Ctl({"init", "-y", R"({"initMode":"new","sleepInterval":"2s"})"});
  ASSERT_EQ(init.code, 0) << init.out;
  auto cd = store_->GetClusterData();
  ASSERT_TRUE(cd.ok() && *cd);
  EXPECT_EQ((*cd)->value.cluster.status.phase, "initializing");

  ASSERT_EQ(Ctl({"update", "--patch", R"({"synchronousReplication":true})"}).code, 0);
  Result spec = Ctl({"spec"});
  ASSERT_EQ(spec.code, 0) << spec.out;
  auto j = nlohmann::json::parse(spec.out);
  EXPECT_EQ(j["synchronousReplication"], true);
  EXPECT_EQ(j["sleepInterval"], "2s");

  Result read = Ctl({"clusterdata", "read"});
  ASSERT_EQ(read.code, 0);
  auto parsed = cluster::ParseClusterData(read.out);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->cluster.spec.synchronous_replication, true);
}

TEST_F(StolonctlEtcd, EnvironmentVariablesConfigureTheGlobalFlags) {
  std::map<std::string, std::string> env = {{"STOLONCTL_CLUSTER_NAME", cluster_},
                                            {"STOLONCTL_STORE_BACKEND", "etcdv3"},
                                            {"STOLONCTL_STORE_ENDPOINTS", etcd_->endpoints_flag()}};
  ASSERT_EQ(Ctl({"init", "-y"}, env).code, 0);
  EXPECT_EQ(Ctl({"spec"}, env).code, 0);
}

TEST_F(StolonctlEtcd, StatusOfAThreeKeeperCluster) {
  ASSERT_TRUE(store_->PutClusterData(testing::ThreeKeeperCluster()).ok());
  ASSERT_TRUE(store_->SetSentinelInfo({"sent0001"}, 20s).ok());
  ASSERT_TRUE(store_->SetSentinelInfo({"sent0002"}, 20s).ok());
  ASSERT_TRUE(
      store_->SetProxyInfo(cluster::ProxyInfo{"i1", "p0000001", 4, std::chrono::seconds(15)}, 20s)
          .ok());
  auto election = store_->NewElection();
  election->RunForElection("sent0001");
  ASSERT_TRUE(election->WaitForLeader(true, 10s));

  Result text = Ctl({"status"});
  ASSERT_EQ(text.code, 0) << text.out;
  EXPECT_NE(text.out.find("ID\t\tLEADER\nsent0001\ttrue\nsent0002\tfalse\n"), std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find("keeper3\ttrue\t(no db assigned)"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("keeper0 (master)\n├─keeper1\n└─keeper2\n"), std::string::npos)
      << text.out;

  Result json = Ctl({"status", "-f", "json"});
  ASSERT_EQ(json.code, 0) << json.out;
  auto j = nlohmann::json::parse(json.out);
  EXPECT_EQ(j["cluster"]["master_keeper_uid"], "keeper0");
  EXPECT_EQ(j["sentinels"][0]["leader"], true);
  EXPECT_EQ(j["proxies"][0]["uid"], "p0000001");
  EXPECT_EQ(j["keepers"].size(), 4u);
  election->Stop();
}

TEST_F(StolonctlEtcd, RefusedCommandsLeaveTheStoreUnchanged) {
  ASSERT_TRUE(store_->PutClusterData(testing::ThreeKeeperCluster()).ok());
  int64_t before = Revision();
  for (std::vector<std::string> args :
       std::vector<std::vector<std::string>>{{"update", "--patch", "{oops"},
                                             {"update", "--patch", R"({"maxStandbys":0})"},
                                             {"update", "--patch", R"({"initMode":"pitr"})"},
                                             {"update", R"({"initMode":"new","bogus":1})"},
                                             {"failkeeper", "nosuch"},
                                             {"removekeeper", "keeper0"},
                                             {"clusterdata", "write", "-f", "/nonexistent"},
                                             {"init", R"({"initMode":"what"})", "-y"}}) {
    SCOPED_TRACE(::testing::PrintToString(args));
    Result r = Ctl(args);
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
    EXPECT_EQ(Revision(), before);
  }
  ASSERT_EQ(Ctl({"failkeeper", "keeper1"}).code, 0);
  EXPECT_GT(Revision(), before);
}

TEST_F(StolonctlEtcd, UnreachableStoreFailsWithinTheTimeout) {
  std::vector<std::string> argv = {
      BinDir() + "/stolonctl",
      "--cluster-name=x",
      "--store-backend=etcdv3",
      "--store-endpoints=http://127.0.0.1:" + std::to_string(stolon::testing::PickFreePort()),
      "--store-timeout=1s",
      "status"};
  std::string out;
  auto start = std::chrono::steady_clock::now();
  int code = stolon::testing::RunCommand(argv, &out, 30s);
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(code, 1);
  EXPECT_NE(out.find("unreachable"), std::string::npos) << out;
  EXPECT_LT(took, 2s);
}

TEST_F(StolonctlEtcd, MissingClusterIsAClearError) {
  Result r = Ctl({"status"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("stolonctl init"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace stolon::ctl
