#include "common/change_log.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "spdlog/sinks/ostream_sink.h"
#include "spdlog/spdlog.h"

namespace stolon {
namespace {

TEST(ChangeLog, TrueOnlyWhenTheKeyChanges) {
  ChangeLog log;
  EXPECT_TRUE(log.Changed("a"));
  EXPECT_FALSE(log.Changed("a"));
  EXPECT_TRUE(log.Changed("b"));
  log.Forget();
  EXPECT_TRUE(log.Changed("b"));
}

// Captures what FailureLog writes at info level and above.
class FailureLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    previous_ = spdlog::default_logger();
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    sink->set_pattern("%l %v");
    auto logger = std::make_shared<spdlog::logger>("test", sink);
    logger->set_level(spdlog::level::info);
    spdlog::set_default_logger(logger);
  }
  void TearDown() override { spdlog::set_default_logger(previous_); }
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> previous_;
};

TEST_F(FailureLogTest, FirstFailureAndRecoveryOnly) {
  FailureLog log("cannot read: {} (retrying)", "still cannot read: {}", "reading again");
  log.Note(absl::OkStatus());
  log.Note(absl::UnavailableError("etcd down"));
  log.Note(absl::UnavailableError("etcd down"));
  log.Note(absl::UnavailableError("etcd still down"));
  log.Note(absl::OkStatus());
  log.Note(absl::OkStatus());
  EXPECT_EQ(out_.str(), "error cannot read: etcd down (retrying)\ninfo reading again\n");
}

}  // namespace
}  // namespace stolon
