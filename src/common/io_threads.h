// Threads that run one asio::io_context until it has no work left, and a bounded wait for them:
// a daemon's shutdown waits for its jobs only as long as a job can reasonably take.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace asio {
class io_context;
}  // namespace asio

namespace stolon {

class IoThreads {
 public:
  // Starts `n` threads, each running io.run().
  IoThreads(asio::io_context& io, int n);
  // Joins the threads if Join did not (REQUIRES: io.run() returned in each, or will).
  ~IoThreads();
  IoThreads(const IoThreads&) = delete;
  IoThreads& operator=(const IoThreads&) = delete;

  // Waits up to `bound` for every io.run() to return and joins the threads; false when some
  // thread is still running after `bound` (it is left running; the caller typically exits).
  bool Join(std::chrono::milliseconds bound);

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int running_;
  std::vector<std::thread> threads_;
};

}  // namespace stolon
