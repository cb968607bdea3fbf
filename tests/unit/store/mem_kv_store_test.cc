#include "store/mem_kv_store.h"

#include "common/clock.h"
#include "gtest/gtest.h"

namespace stolon::store {
namespace {

using namespace std::chrono_literals;

TEST(MemKvStoreTest, RevisionsAndList) {
  FakeClock clock;
  MemKvStore kv(clock);
  auto r1 = kv.Put("a/x", "1", std::nullopt);
  ASSERT_TRUE(r1.ok());
  auto r2 = kv.Put("a/x", "2", std::nullopt);
  ASSERT_TRUE(r2.ok());
  EXPECT_GT(*r2, *r1);
  ASSERT_TRUE(kv.Put("a/y", "3", std::nullopt).ok());
  ASSERT_TRUE(kv.Put("ab", "4", std::nullopt).ok());
  auto got = kv.Get("a/x");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->value, "2");
  EXPECT_EQ((*got)->create_revision, *r1);
  EXPECT_EQ((*got)->mod_revision, *r2);
  auto list = kv.List("a/");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].key, "a/x");
  EXPECT_EQ((*list)[1].key, "a/y");
  ASSERT_TRUE(kv.Delete("a/x").ok());
  EXPECT_FALSE(kv.Get("a/x")->has_value());
  EXPECT_TRUE(kv.Delete("a/x").ok());
}

TEST(MemKvStoreTest, CompareAndSwap) {
  MemKvStore kv;
  auto c = kv.CompareAndSwap("k", "v1", 0);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(kv.CompareAndSwap("k", "x", 0).status().code(), absl::StatusCode::kAborted);
  auto s = kv.CompareAndSwap("k", "v2", *c);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(kv.CompareAndSwap("k", "v3", *c).status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ((*kv.Get("k"))->value, "v2");
  EXPECT_EQ(kv.CompareAndSwap("k", "v", 0, /*lease=*/12345).status().code(),
            absl::StatusCode::kAborted);
  EXPECT_EQ(kv.CompareAndSwap("new", "v", 0, /*lease=*/12345).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(MemKvStoreTest, TtlExpiresWithTheClock) {
  FakeClock clock;
  MemKvStore kv(clock);
  ASSERT_TRUE(kv.Put("info", "x", 3s).ok());
  clock.Advance(2s);
  ASSERT_TRUE(kv.Put("info", "x", 3s).ok());  // refresh: a fresh lease
  clock.Advance(2s);
  EXPECT_TRUE(kv.Get("info")->has_value());
  clock.Advance(1s);
  EXPECT_FALSE(kv.Get("info")->has_value());
}

TEST(MemKvStoreTest, LeaseKeepAliveAndRevoke) {
  FakeClock clock;
  MemKvStore kv(clock);
  auto lease = kv.GrantLease(5s);
  ASSERT_TRUE(lease.ok());
  ASSERT_TRUE(kv.CompareAndSwap("c/1", "me", 0, *lease).ok());
  clock.Advance(4s);
  auto ttl = kv.KeepAliveLease(*lease);
  ASSERT_TRUE(ttl.ok());
  EXPECT_EQ(*ttl, 5s);
  clock.Advance(4s);
  EXPECT_TRUE(kv.Get("c/1")->has_value());
  clock.Advance(2s);
  EXPECT_FALSE(kv.Get("c/1")->has_value());
  EXPECT_EQ(kv.KeepAliveLease(*lease).status().code(), absl::StatusCode::kNotFound);

  auto l2 = kv.GrantLease(5s);
  ASSERT_TRUE(kv.CompareAndSwap("c/2", "me", 0, *l2).ok());
  ASSERT_TRUE(kv.RevokeLease(*l2).ok());
  EXPECT_FALSE(kv.Get("c/2")->has_value());
}

TEST(MemKvStoreTest, WatchSeesChangesAndExpiry) {
  FakeClock clock;
  MemKvStore kv(clock);
  ASSERT_TRUE(kv.Put("w/old", "0", std::nullopt).ok());
  auto w = kv.Watch("w/", 0);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE(kv.Put("w/a", "1", 2s).ok());
  ASSERT_TRUE(kv.Put("z", "1", std::nullopt).ok());
  auto evs = (*w)->Next(100ms);
  ASSERT_TRUE(evs.ok());
  ASSERT_EQ(evs->size(), 1u);
  EXPECT_EQ((*evs)[0].type, KvEvent::Type::kPut);
  EXPECT_EQ((*evs)[0].kv.key, "w/a");
  clock.Advance(3s);
  evs = (*w)->Next(100ms);
  ASSERT_TRUE(evs.ok());
  ASSERT_EQ(evs->size(), 1u);
  EXPECT_EQ((*evs)[0].type, KvEvent::Type::kDelete);
  EXPECT_EQ((*evs)[0].kv.key, "w/a");
  evs = (*w)->Next(10ms);
  ASSERT_TRUE(evs.ok());
  EXPECT_TRUE(evs->empty());

  // From an explicit revision: replays history.
  auto w2 = kv.Watch("w/", 1);
  ASSERT_TRUE(w2.ok());
  evs = (*w2)->Next(10ms);
  ASSERT_TRUE(evs.ok());
  EXPECT_EQ(evs->size(), 3u);  // put w/old, put w/a, delete w/a
}

TEST(MemKvStoreTest, PrefixRangeEnd) {
  EXPECT_EQ(PrefixRangeEnd("a/"), "a0");
  EXPECT_EQ(PrefixRangeEnd(std::string("a\xff", 2)), "b");
  EXPECT_EQ(PrefixRangeEnd(""), std::string(1, '\0'));
}

}  // namespace
}  // namespace stolon::store
