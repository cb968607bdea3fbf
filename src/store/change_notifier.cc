#include "store/change_notifier.h"

#include "spdlog/spdlog.h"

namespace stolon::store {

using namespace std::chrono_literals;

ChangeNotifier::ChangeNotifier(KvStore& kv, std::string prefix, Callback on_change,
                               std::chrono::milliseconds retry_interval)
    : kv_(kv),
      prefix_(std::move(prefix)),
      on_change_(std::move(on_change)),
      retry_interval_(retry_interval),
      thread_([this] { Run(); }) {}

ChangeNotifier::~ChangeNotifier() {
  {
    std::lock_guard l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

bool ChangeNotifier::SleepFor(std::chrono::milliseconds d) {
  std::unique_lock l(mu_);
  return !cv_.wait_for(l, d, [this] { return stopping_; });
}

void ChangeNotifier::Run() {
  bool broken_logged = false;
  while (SleepFor(0ms)) {
    auto watch = kv_.Watch(prefix_);
    if (!watch.ok()) {
      if (!broken_logged) {
        spdlog::debug("cannot watch {} (falling back to polling until it works): {}", prefix_,
                      std::string(watch.status().message()));
        broken_logged = true;
      }
      if (!SleepFor(retry_interval_)) return;
      continue;
    }
    // Short Next() timeouts keep the stop latency low; an idle watch costs nothing between them.
    while (SleepFor(0ms)) {
      auto events = (*watch)->Next(200ms);
      if (!events.ok()) {
        spdlog::debug("watch on {} broke, recreating it: {}", prefix_,
                      std::string(events.status().message()));
        break;
      }
      broken_logged = false;
      if (events->empty()) continue;
      notifications_.fetch_add(1);
      on_change_(*events);
    }
    if (!SleepFor(retry_interval_)) return;
  }
}

}  // namespace stolon::store
