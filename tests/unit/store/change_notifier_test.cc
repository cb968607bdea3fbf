// ChangeNotifier over the in-memory store: a change under the prefix is reported promptly, a
// change elsewhere is not, and a watch that cannot be created is retried until it works.
#include "store/change_notifier.h"

#include <atomic>
#include <chrono>
#include <thread>

#include "gtest/gtest.h"
#include "store/kv_store_wrapper.h"
#include "store/mem_kv_store.h"

namespace stolon::store {
namespace {

using namespace std::chrono_literals;

// Polls `pred` every 10 ms for up to `limit`.
template <typename Pred>
bool Eventually(Pred pred, std::chrono::milliseconds limit = 3s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

TEST(ChangeNotifierTest, ReportsChangesUnderThePrefixOnly) {
  MemKvStore kv;
  std::atomic<int> calls{0};
  ChangeNotifier n(kv, "stolon/cluster/c/clusterdata", [&](const auto&) { calls.fetch_add(1); });
  // The watch is created asynchronously: keep writing until the first change is seen.
  ASSERT_TRUE(Eventually([&] {
    EXPECT_TRUE(kv.Put("stolon/cluster/c/clusterdata", "{}", std::nullopt).ok());
    return calls.load() > 0;
  }));
  std::this_thread::sleep_for(300ms);  // the puts of the loop above may still be reported
  const int before = calls.load();
  ASSERT_TRUE(kv.Put("stolon/cluster/c/keepers/info/k0", "{}", std::nullopt).ok());
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(calls.load(), before);
  ASSERT_TRUE(kv.Put("stolon/cluster/c/clusterdata", "{\"a\":1}", std::nullopt).ok());
  EXPECT_TRUE(Eventually([&] { return calls.load() > before; }));
  EXPECT_EQ(n.notifications(), calls.load());
}

TEST(ChangeNotifierTest, RetriesAWatchThatCannotBeCreated) {
  MemKvStore mem;
  FaultyKvStore kv(mem);
  kv.SetFailing(KvOp::kWatch, true);
  std::atomic<int> calls{0};
  ChangeNotifier n(
      kv, "p/key", [&](const auto&) { calls.fetch_add(1); }, 50ms);
  std::this_thread::sleep_for(200ms);
  EXPECT_GE(kv.failed_calls(), 2);
  kv.SetFailing(KvOp::kWatch, false);
  EXPECT_TRUE(Eventually([&] {
    EXPECT_TRUE(mem.Put("p/key", "v", std::nullopt).ok());
    return calls.load() > 0;
  }));
}

TEST(ChangeNotifierTest, StopsPromptly) {
  MemKvStore kv;
  const auto start = std::chrono::steady_clock::now();
  {
    ChangeNotifier n(kv, "p", [](const auto&) {});
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
}

}  // namespace
}  // namespace stolon::store
