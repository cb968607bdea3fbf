// EtcdKvStore recovering after etcd comes back, whatever state its gRPC channels were in: frozen
// (SIGSTOP) before the store first connected, or frozen mid-life for longer than the store
// timeout. While frozen every call fails with kUnavailable within the store timeout; after the
// thaw the same store object answers again within a few seconds, without being recreated.
#include <chrono>

#include "gtest/gtest.h"
#include "store/etcd_kv_store.h"
#include "support/etcd.h"
#include "support/process.h"

namespace stolon::store {
namespace {

using ::stolon::testing::EtcdCluster;
using ::stolon::testing::EtcdClusterOptions;
using ::stolon::testing::WaitFor;
using namespace std::chrono_literals;

constexpr auto kStoreTimeout = 2s;
// How long after the thaw the store must answer again.
constexpr auto kRecoveryBound = 5s;

std::unique_ptr<EtcdKvStore> Open(std::vector<std::string> endpoints) {
  EtcdOptions o;
  o.endpoints = std::move(endpoints);
  o.timeout = kStoreTimeout;
  auto s = EtcdKvStore::Create(o);
  EXPECT_TRUE(s.ok()) << s.status();
  return std::move(*s);
}

// A few calls of different kinds against a frozen etcd: each fails with kUnavailable within the
// store timeout (+1s of slack for a loaded machine).
void ExpectUnavailableWhileFrozen(EtcdKvStore& kv) {
  for (int i = 0; i < 3; ++i) {
    const auto start = std::chrono::steady_clock::now();
    absl::Status s =
        i == 1 ? kv.Put("rc/k", "frozen", std::nullopt).status() : kv.Get("rc/k").status();
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << "call " << i << ": " << s;
    EXPECT_LT(took, kStoreTimeout + 1s) << "call " << i << " took too long: " << s;
  }
}

// Polls Get (bounded by kRecoveryBound) until it succeeds; returns how long that took. A Put that
// timed out while etcd was frozen may still be applied after the thaw when its request had already
// reached etcd's socket (a timeout says "unknown outcome", not "not applied"), so the value read
// back is either the one written before the freeze or the one written while frozen.
std::chrono::milliseconds ExpectRecovers(EtcdKvStore& kv, const std::string& want) {
  const auto start = std::chrono::steady_clock::now();
  absl::Status last;
  std::string last_value;
  bool ok = WaitFor(
      [&] {
        auto got = kv.Get("rc/k");
        last = got.status();
        if (got.ok()) last_value = got->has_value() ? (*got)->value : "<absent>";
        return got.ok() && got->has_value() && ((*got)->value == want || (*got)->value == "frozen");
      },
      kRecoveryBound);
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  EXPECT_TRUE(ok) << "store did not recover within " << kRecoveryBound.count()
                  << "s after the thaw; last: " << last << " value " << last_value;
  return took;
}

TEST(EtcdRecoveryTest, FrozenBeforeFirstConnectRecoversAfterThaw) {
  EtcdCluster etcd;
  std::string out;
  ASSERT_EQ(etcd.Etcdctl({"put", "rc/k", "v0"}, &out), 0) << out;
  etcd.Freeze(0);
  auto kv = Open(etcd.endpoints());  // never connected before the freeze
  ExpectUnavailableWhileFrozen(*kv);
  etcd.Thaw(0);
  const auto took = ExpectRecovers(*kv, "v0");
  RecordProperty("recovery_ms", static_cast<int>(took.count()));
  EXPECT_TRUE(kv->Put("rc/k", "v1", std::nullopt).ok());
}

// Frozen long enough for gRPC's keepalive (10s + the store timeout) to drop the established
// connection, so the channel goes through failed reconnection attempts while etcd is frozen.
TEST(EtcdRecoveryTest, FrozenMidLifeLongerThanTimeoutRecoversAfterThaw) {
  EtcdCluster etcd;
  auto kv = Open(etcd.endpoints());
  ASSERT_TRUE(kv->Put("rc/k", "v0", std::nullopt).ok());
  etcd.Freeze(0);
  const auto frozen_at = std::chrono::steady_clock::now();
  ExpectUnavailableWhileFrozen(*kv);
  // Keep calling (as a keeper or sentinel would) until the freeze has lasted 15s; every call fails.
  while (std::chrono::steady_clock::now() - frozen_at < 15s) {
    EXPECT_EQ(kv->Get("rc/k").status().code(), absl::StatusCode::kUnavailable);
  }
  ExpectUnavailableWhileFrozen(*kv);
  etcd.Thaw(0);
  const auto took = ExpectRecovers(*kv, "v0");
  RecordProperty("recovery_ms", static_cast<int>(took.count()));
  EXPECT_TRUE(kv->Put("rc/k", "v1", std::nullopt).ok());
}

// Every member of a 3-member cluster frozen before the store first connects: it recovers on
// whichever endpoint answers first after the thaw.
TEST(EtcdRecoveryTest, AllMembersFrozenBeforeFirstConnectRecoverAfterThaw) {
  EtcdClusterOptions o;
  o.members = 3;
  EtcdCluster etcd(o);
  std::string out;
  ASSERT_EQ(etcd.Etcdctl({"put", "rc/k", "v0"}, &out), 0) << out;
  for (int i = 0; i < 3; ++i) etcd.Freeze(i);
  auto kv = Open(etcd.endpoints());
  ExpectUnavailableWhileFrozen(*kv);
  for (int i = 0; i < 3; ++i) etcd.Thaw(i);
  const auto took = ExpectRecovers(*kv, "v0");
  RecordProperty("recovery_ms", static_cast<int>(took.count()));
}

}  // namespace
}  // namespace stolon::store
