#include "common/io_threads.h"

#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <atomic>
#include <chrono>
#include <optional>

namespace stolon {
namespace {

using namespace std::chrono_literals;

TEST(IoThreadsTest, RunsTheWorkOnNThreadsAndJoinsWhenItEnds) {
  asio::io_context io;
  std::atomic<int> done{0};
  for (int i = 0; i < 10; ++i) asio::post(io, [&] { ++done; });
  IoThreads threads(io, 3);
  EXPECT_TRUE(threads.Join(5s));
  EXPECT_EQ(done.load(), 10);
}

TEST(IoThreadsTest, JoinGivesUpAfterTheBoundWhileAJobStillRuns) {
  asio::io_context io;
  std::atomic<bool> release{false};
  asio::post(io, [&] {
    while (!release.load()) std::this_thread::sleep_for(1ms);
  });
  std::optional<IoThreads> threads(std::in_place, io, 1);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(threads->Join(100ms));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 100ms);
  release = true;  // the job ends; the destructor joins
  threads.reset();
}

}  // namespace
}  // namespace stolon
