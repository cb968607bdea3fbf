// The domain Store against both KvStore implementations (MemKvStore and a real etcd), so the
// in-memory store used by upper-layer unit tests is held to the same behaviour.
#include "store/store.h"

#include <chrono>

#include "cluster/json.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "store/etcd_kv_store.h"
#include "store/mem_kv_store.h"
#include "support/etcd.h"
#include "unit/store/election_scenarios.h"

namespace stolon::store {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

cluster::ClusterData SampleClusterData(int64_t generation) {
  cluster::ClusterData cd;
  cd.change_time = std::chrono::sys_days(std::chrono::year(2024) / 5 / 2) + std::chrono::hours(9) +
                   std::chrono::milliseconds(512);
  cd.cluster.uid = "c0ffee01";
  cd.cluster.generation = generation;
  cd.cluster.change_time = cd.change_time;
  cd.cluster.spec.init_mode = cluster::kInitModeNew;
  cd.cluster.spec.sleep_interval = std::chrono::seconds(5);
  cd.cluster.status.phase = cluster::kPhaseNormal;
  cd.cluster.status.master = "db000001";
  cluster::Keeper k;
  k.uid = "keeper0";
  k.status.healthy = true;
  cd.keepers["keeper0"] = k;
  cluster::DB db;
  db.uid = "db000001";
  db.generation = 1;
  db.spec.keeper_uid = "keeper0";
  db.spec.role = cluster::kRoleMaster;
  db.spec.request_timeout = std::chrono::seconds(10);
  cd.dbs["db000001"] = db;
  cd.proxy.spec.master_db_uid = "db000001";
  return cd;
}

enum class Backend { kMemory, kEtcd };

class StoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  static void SetUpTestSuite() { etcd_ = new ::stolon::testing::EtcdCluster(); }
  static void TearDownTestSuite() {
    delete etcd_;
    etcd_ = nullptr;
  }
  void SetUp() override {
    if (GetParam() == Backend::kMemory) {
      kv_ = std::make_unique<MemKvStore>();
    } else {
      EtcdOptions o;
      o.endpoints = etcd_->endpoints();
      o.timeout = 3s;
      kv_ = std::move(EtcdKvStore::Create(o).value());
    }
    // One cluster name per test so the tests sharing the etcd do not see each other.
    cluster_ = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    for (char& ch : cluster_) {
      if (ch == '/') ch = '-';
    }
    store_ = std::make_unique<Store>(*kv_, "stolon/cluster/" + cluster_);
  }
  testing::OpenKv OpenFn() {
    if (GetParam() == Backend::kMemory) {
      return [this] { return std::make_unique<KvStoreWrapper>(*kv_); };
    }
    return [] {
      EtcdOptions o;
      o.endpoints = etcd_->endpoints();
      o.timeout = 3s;
      return std::unique_ptr<KvStore>(std::move(EtcdKvStore::Create(o).value()));
    };
  }

  static ::stolon::testing::EtcdCluster* etcd_;
  std::unique_ptr<KvStore> kv_;
  std::unique_ptr<Store> store_;
  std::string cluster_;
};
::stolon::testing::EtcdCluster* StoreTest::etcd_ = nullptr;

TEST_P(StoreTest, ClusterDataRoundTripAndCas) {
  auto none = store_->GetClusterData();
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_FALSE(none->has_value());

  const auto cd1 = SampleClusterData(1);
  auto rev1 = store_->AtomicPutClusterData(cd1, 0);
  ASSERT_TRUE(rev1.ok()) << rev1.status();
  auto got = store_->GetClusterData();
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->value, cd1);
  EXPECT_EQ((*got)->revision, *rev1);

  // Create-if-absent refuses the existing document.
  auto again = store_->AtomicPutClusterData(SampleClusterData(9), 0);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAborted) << again.status();

  const auto cd2 = SampleClusterData(2);
  auto rev2 = store_->AtomicPutClusterData(cd2, *rev1);
  ASSERT_TRUE(rev2.ok()) << rev2.status();
  // A writer still holding rev1 loses.
  auto stale = store_->AtomicPutClusterData(SampleClusterData(3), *rev1);
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kAborted) << stale.status();
  got = store_->GetClusterData();
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->value, cd2);
  EXPECT_EQ((*got)->revision, *rev2);

  // Plain put overwrites.
  auto rev3 = store_->PutClusterData(SampleClusterData(4));
  ASSERT_TRUE(rev3.ok());
  EXPECT_EQ((*store_->GetClusterData())->value.cluster.generation, 4);
}

TEST_P(StoreTest, JsonNullIsNoClusterData) {
  ASSERT_TRUE(kv_->Put(store_->ClusterDataKey(), "null", std::nullopt).ok());
  auto got = store_->GetClusterData();
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_FALSE(got->has_value());
}

TEST_P(StoreTest, CorruptClusterDataIsAClearErrorAndLeftUntouched) {
  const std::string key = store_->ClusterDataKey();
  auto rev = kv_->Put(key, "{\"formatVersion\": 1, \"cluster\": ", std::nullopt);
  ASSERT_TRUE(rev.ok());
  auto got = store_->GetClusterData();
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument) << got.status();
  EXPECT_THAT(std::string(got.status().message()), HasSubstr(key));
  auto raw = kv_->Get(key);
  ASSERT_TRUE(raw.ok() && raw->has_value());
  EXPECT_EQ((*raw)->mod_revision, *rev);
  EXPECT_EQ((*raw)->value, "{\"formatVersion\": 1, \"cluster\": ");
}

TEST_P(StoreTest, InfosRoundTripAndBadEntriesAreSkipped) {
  cluster::KeeperInfo k1;
  k1.info_uid = "i1";
  k1.uid = "keeper1";
  k1.cluster_uid = "c0ffee01";
  k1.can_be_master = true;
  cluster::KeeperInfo k2 = k1;
  k2.uid = "keeper2";
  ASSERT_TRUE(store_->SetKeeperInfo("keeper1", k1, 5s).ok());
  ASSERT_TRUE(store_->SetKeeperInfo("keeper2", k2, 5s).ok());
  // A corrupt entry, and a key that only shares the prefix without the slash.
  ASSERT_TRUE(kv_->Put(store_->KeepersInfoDir() + "broken", "{not json", std::nullopt).ok());
  ASSERT_TRUE(kv_->Put(store_->base() + "/keepers/infox", "{}", std::nullopt).ok());
  auto keepers = store_->GetKeepersInfo();
  ASSERT_TRUE(keepers.ok()) << keepers.status();
  ASSERT_EQ(keepers->size(), 2u);
  EXPECT_EQ(keepers->at("keeper1"), k1);
  EXPECT_EQ(keepers->at("keeper2"), k2);

  ASSERT_TRUE(store_->SetSentinelInfo({"sent1"}, 10s).ok());
  ASSERT_TRUE(store_->SetSentinelInfo({"sent2"}, 10s).ok());
  auto sentinels = store_->GetSentinelsInfo();
  ASSERT_TRUE(sentinels.ok());
  ASSERT_EQ(sentinels->size(), 2u);
  EXPECT_EQ((*sentinels)[0].uid, "sent1");

  cluster::ProxyInfo p;
  p.info_uid = "pi";
  p.uid = "proxy1";
  p.generation = 3;
  p.proxy_timeout = std::chrono::seconds(15);
  ASSERT_TRUE(store_->SetProxyInfo(p, 30s).ok());
  auto proxies = store_->GetProxiesInfo();
  ASSERT_TRUE(proxies.ok());
  ASSERT_EQ(proxies->size(), 1u);
  EXPECT_EQ(proxies->at("proxy1"), p);

  // Info keys carry a lease of at least MinTTL.
  auto raw = kv_->Get(store_->KeepersInfoDir() + "keeper1");
  ASSERT_TRUE(raw.ok() && raw->has_value());
  EXPECT_NE((*raw)->lease, kNoLease);
}

TEST_P(StoreTest, SentinelLeaderElection) {
  auto none = store_->GetSentinelLeader();
  EXPECT_EQ(none.status().code(), absl::StatusCode::kNotFound);
  auto e = store_->NewElection(testing::FastElection());
  EXPECT_EQ(e->prefix(), store_->base() + "/sentinel-leader");
  e->RunForElection("sent1");
  ASSERT_TRUE(e->WaitForLeader(true, 5s));
  EXPECT_EQ(store_->GetSentinelLeader().value_or(""), "sent1");
  e->Stop();
  EXPECT_EQ(store_->GetSentinelLeader().status().code(), absl::StatusCode::kNotFound);
}

TEST_P(StoreTest, ElectionExactlyOneLeader) {
  testing::ExactlyOneLeader(OpenFn(), store_->SentinelLeaderKey());
}

TEST_P(StoreTest, ElectionTakeoverWhenLeaderLosesTheStore) {
  testing::TakeoverWhenLeaderLosesTheStore(OpenFn(), store_->SentinelLeaderKey());
}

TEST_P(StoreTest, ElectionTakeoverWhenLeaderSessionIsRevoked) {
  testing::TakeoverWhenLeaderSessionIsRevoked(OpenFn(), store_->SentinelLeaderKey());
}

// Acceptance: what we write is what etcdctl shows, at stolon's key.
TEST(StoreEtcdctlTest, ClusterDataReadableWithEtcdctl) {
  ::stolon::testing::EtcdCluster etcd;
  EtcdOptions o;
  o.endpoints = etcd.endpoints();
  auto kv = EtcdKvStore::Create(o);
  ASSERT_TRUE(kv.ok());
  Store store(**kv, "stolon/cluster/mycluster");
  const auto cd = SampleClusterData(7);
  ASSERT_TRUE(store.AtomicPutClusterData(cd, 0).ok());
  std::string out;
  ASSERT_EQ(
      etcd.Etcdctl({"get", "--print-value-only", "stolon/cluster/mycluster/clusterdata"}, &out), 0)
      << out;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  EXPECT_EQ(out, cluster::EncodeClusterData(cd));
  auto parsed = cluster::ParseClusterData(out);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, cd);
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest, ::testing::Values(Backend::kMemory, Backend::kEtcd),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                           return info.param == Backend::kMemory ? "Memory" : "Etcd";
                         });

}  // namespace
}  // namespace stolon::store
