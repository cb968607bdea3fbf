#include "common/io_threads.h"

#include <asio/io_context.hpp>

namespace stolon {

IoThreads::IoThreads(asio::io_context& io, int n) : running_(n) {
  threads_.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    threads_.emplace_back([this, &io] {
      io.run();
      std::lock_guard l(mu_);
      --running_;
      cv_.notify_all();
    });
  }
}

IoThreads::~IoThreads() {
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

bool IoThreads::Join(std::chrono::milliseconds bound) {
  {
    std::unique_lock l(mu_);
    if (!cv_.wait_for(l, bound, [&] { return running_ == 0; })) return false;
  }
  for (auto& t : threads_) t.join();
  return true;
}

}  // namespace stolon
