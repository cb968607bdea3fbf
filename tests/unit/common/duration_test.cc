#include "common/duration.h"

#include <gtest/gtest.h>

namespace stolon {
namespace {

using namespace std::chrono_literals;

TEST(GoDuration, FormatsLikeGo) {
  struct Case {
    Duration in;
    const char* want;
  } cases[] = {
      {0ns, "0s"},       {1ns, "1ns"},
      {1500ns, "1.5µs"}, {300ms, "300ms"},
      {1500ms, "1.5s"},  {5s, "5s"},
      {90s, "1m30s"},    {60s, "1m0s"},
      {48h, "48h0m0s"},  {3600s + 500ms, "1h0m0.5s"},
      {-5s, "-5s"},      {10s, "10s"},
      {5min, "5m0s"},    {20s, "20s"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.want);
    EXPECT_EQ(FormatGoDuration(c.in), c.want);
  }
}

TEST(GoDuration, ParsesGoSyntax) {
  struct Case {
    const char* in;
    Duration want;
  } cases[] = {
      {"0", 0ns},       {"0s", 0ns},      {"5s", 5s},       {"1m30s", 90s}, {"48h0m0s", 48h},
      {"300ms", 300ms}, {"1.5s", 1500ms}, {"1h30m", 90min}, {"10us", 10us}, {"10µs", 10us},
      {"7ns", 7ns},     {"-1s", -1s},     {"+2m", 2min},    {".5s", 500ms},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.in);
    auto got = ParseGoDuration(c.in);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, c.want);
  }
}

TEST(GoDuration, RejectsMalformed) {
  for (const char* in :
       {"5", "5 s", "", "s", "1x", "1.s5", "abc", "1h 30m", "--1s", "99999999999999999999h"}) {
    SCOPED_TRACE(in);
    auto got = ParseGoDuration(in);
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(got.status().message().find("invalid duration"), std::string_view::npos);
  }
}

TEST(GoDuration, RoundTrips) {
  for (Duration d : {Duration(1), Duration(999), Duration(1234567), Duration(5'000'000'000),
                     Duration(172'800'000'000'000), Duration(61'500'000'000)}) {
    auto back = ParseGoDuration(FormatGoDuration(d));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, d) << FormatGoDuration(d);
  }
}

}  // namespace
}  // namespace stolon
