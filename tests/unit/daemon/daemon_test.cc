// The runner's life cycle and stop handling (daemon/daemon.h), with a recording daemon.
#include "daemon/daemon.h"

#include <gtest/gtest.h>
#include <pthread.h>

#include <chrono>
#include <thread>
#include <vector>

namespace stolon {
namespace {

using namespace std::chrono_literals;

class RecordingDaemon final : public Daemon {
 public:
  explicit RecordingDaemon(absl::Status start = absl::OkStatus()) : start_(std::move(start)) {}
  absl::Status Start() override {
    calls.push_back("start");
    return start_;
  }
  int Stop() override {
    calls.push_back("stop");
    return 7;
  }
  std::vector<std::string> calls;

 private:
  absl::Status start_;
};

const DaemonNames kNames{"stolon-test", "stolon test"};

TEST(RunDaemon, StartWaitStopOnRequest) {
  StopRequest stop;
  RecordingDaemon d;
  std::thread requester([&] {
    std::this_thread::sleep_for(50ms);
    stop.Request();
  });
  EXPECT_EQ(RunDaemon(kNames, d, stop), 7) << "the exit code is Stop()'s";
  requester.join();
  EXPECT_EQ(d.calls, (std::vector<std::string>{"start", "stop"}));
}

TEST(RunDaemon, FailedStartIsNotStopped) {
  StopRequest stop;
  RecordingDaemon d(absl::FailedPreconditionError("cannot listen on 127.0.0.1:1"));
  testing::internal::CaptureStderr();
  EXPECT_EQ(RunDaemon(kNames, d, stop), 1);
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "stolon-test: cannot listen on 127.0.0.1:1\n");
  EXPECT_EQ(d.calls, std::vector<std::string>{"start"});
}

TEST(StopRequest, SigtermToAnotherThreadIsTakenByWait) {
  StopRequest stop;
  // Started after the StopRequest: the thread inherits the blocked mask, so a SIGTERM sent to it
  // stays pending for the process and Wait() takes it (no handler, no process kill).
  std::thread worker([] {
    std::this_thread::sleep_for(50ms);
    ::kill(::getpid(), SIGTERM);
  });
  EXPECT_EQ(stop.Wait(), SIGTERM);
  worker.join();
}

TEST(StopRequest, RequestBeforeWaitIsNotLost) {
  StopRequest stop;
  stop.Request();
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(stop.Wait(), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
}

TEST(StopRequest, RestoresTheMask) {
  sigset_t before, after;
  pthread_sigmask(SIG_SETMASK, nullptr, &before);
  { StopRequest stop; }
  pthread_sigmask(SIG_SETMASK, nullptr, &after);
  EXPECT_EQ(sigismember(&before, SIGTERM), sigismember(&after, SIGTERM));
  EXPECT_EQ(sigismember(&before, SIGINT), sigismember(&after, SIGINT));
}

}  // namespace
}  // namespace stolon
