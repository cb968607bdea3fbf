// Domain Store TTL floor (MinTTL 20s) on MemKvStore with a FakeClock.
#include "gtest/gtest.h"
#include "store/mem_kv_store.h"
#include "store/store.h"

namespace stolon::store {
namespace {

using namespace std::chrono_literals;

TEST(StoreTtlTest, InfoTtlIsFlooredToMinTtl) {
  EXPECT_EQ(Store::InfoTTL(5s), 20s);
  EXPECT_EQ(Store::InfoTTL(30s), 30s);

  FakeClock clock;
  MemKvStore kv(clock);
  Store store(kv, "stolon/cluster/c1");
  cluster::KeeperInfo ki;
  ki.uid = "keeper1";
  ASSERT_TRUE(store.SetKeeperInfo("keeper1", ki, 5s).ok());  // asks 5s, gets 20s
  cluster::SentinelInfo si{"sent1"};
  ASSERT_TRUE(store.SetSentinelInfo(si, 10s).ok());
  cluster::ProxyInfo pi;
  pi.uid = "proxy1";
  ASSERT_TRUE(store.SetProxyInfo(pi, 30s).ok());  // above the floor: kept

  clock.Advance(19s);
  EXPECT_EQ(store.GetKeepersInfo()->size(), 1u);
  EXPECT_EQ(store.GetSentinelsInfo()->size(), 1u);
  clock.Advance(2s);  // 21s
  EXPECT_TRUE(store.GetKeepersInfo()->empty());
  EXPECT_TRUE(store.GetSentinelsInfo()->empty());
  EXPECT_EQ(store.GetProxiesInfo()->size(), 1u);
  clock.Advance(10s);  // 31s
  EXPECT_TRUE(store.GetProxiesInfo()->empty());
}

TEST(StoreTtlTest, RefreshedInfoStays) {
  FakeClock clock;
  MemKvStore kv(clock);
  Store store(kv, "stolon/cluster/c1");
  cluster::KeeperInfo ki;
  ki.uid = "keeper1";
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(store.SetKeeperInfo("keeper1", ki, 5s).ok());
    clock.Advance(5s);
    EXPECT_EQ(store.GetKeepersInfo()->count("keeper1"), 1u) << "round " << i;
  }
}

}  // namespace
}  // namespace stolon::store
