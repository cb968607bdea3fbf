// ChangeNotifier: a background thread that watches a key prefix and calls a callback whenever
// something under it changes, so a component can react at once instead of at its next poll.
//
// It is only a wake-up hint: components still poll the store on their own interval, which stays
// the source of truth. A broken watch (store restarted, member lost its leader, history compacted)
// is recreated after `retry_interval`; while the store is unreachable nothing is reported.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/kv_store.h"

namespace stolon::store {

class ChangeNotifier {
 public:
  using Callback = std::function<void(const std::vector<KvEvent>&)>;
  // Starts watching `prefix` on `kv` (which must outlive this object). `on_change` runs on the
  // notifier's thread once per batch of events (never empty); keep it short.
  ChangeNotifier(KvStore& kv, std::string prefix, Callback on_change,
                 std::chrono::milliseconds retry_interval = std::chrono::seconds(1));
  // Stops the thread (within about one poll period, 200 ms).
  ~ChangeNotifier();

  ChangeNotifier(const ChangeNotifier&) = delete;
  ChangeNotifier& operator=(const ChangeNotifier&) = delete;

  // Batches of events reported so far (for tests and metrics).
  int64_t notifications() const { return notifications_.load(); }

 private:
  void Run();
  // Sleeps up to `d`; false when stopping.
  bool SleepFor(std::chrono::milliseconds d);

  KvStore& kv_;
  const std::string prefix_;
  const Callback on_change_;
  const std::chrono::milliseconds retry_interval_;
  std::atomic<int64_t> notifications_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace stolon::store
