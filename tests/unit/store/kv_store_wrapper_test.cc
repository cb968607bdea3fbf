#include "store/kv_store_wrapper.h"

#include "gtest/gtest.h"
#include "store/mem_kv_store.h"

namespace stolon::store {
namespace {

TEST(FaultyKvStoreTest, FailsChosenOperations) {
  MemKvStore mem;
  FaultyKvStore kv(mem);
  ASSERT_TRUE(kv.Put("k", "v", std::nullopt).ok());
  kv.SetFailing(KvOp::kGet, true);
  auto got = kv.Get("k");
  EXPECT_EQ(got.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(std::string(got.status().message()), "injected fault: Get unavailable");
  EXPECT_TRUE(kv.List("").ok());  // other operations still work
  kv.SetFailing(KvOp::kGet, false);
  EXPECT_TRUE(kv.Get("k").ok());

  kv.FailNext(KvOp::kPut, 2);
  EXPECT_FALSE(kv.Put("k", "1", std::nullopt).ok());
  EXPECT_FALSE(kv.Put("k", "2", std::nullopt).ok());
  EXPECT_TRUE(kv.Put("k", "3", std::nullopt).ok());
  EXPECT_EQ((*mem.Get("k"))->value, "3");

  kv.SetFailingAll(true);
  EXPECT_FALSE(kv.Delete("k").ok());
  EXPECT_FALSE(kv.GrantLease(std::chrono::seconds(5)).ok());
  EXPECT_FALSE(kv.Watch("", 0).ok());
  kv.SetFailingAll(false);
  EXPECT_TRUE(kv.Delete("k").ok());
  EXPECT_EQ(kv.failed_calls(), 6);
}

}  // namespace
}  // namespace stolon::store
