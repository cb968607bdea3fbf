#include <chrono>
#include <string>

#include "cluster/json.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stolon::cluster {
namespace {

using std::chrono::sys_days;
using namespace std::chrono_literals;
using ::testing::HasSubstr;

Time At(int y, unsigned mo, unsigned d, std::chrono::nanoseconds tod) {
  return Time(std::chrono::duration_cast<Time::duration>(
      (sys_days(std::chrono::year(y) / mo / d) + tod).time_since_epoch()));
}

TEST(TimeTest, FormatsRfc3339NanoInUtc) {
  EXPECT_EQ(FormatTime(At(2024, 5, 2, 9h + 15min + 42s + 512ms)), "2024-05-02T09:15:42.512Z");
  EXPECT_EQ(FormatTime(At(2024, 5, 2, 9h)), "2024-05-02T09:00:00Z");
  EXPECT_EQ(FormatTime(At(2024, 5, 2, 9h + 1ns)), "2024-05-02T09:00:00.000000001Z");
  EXPECT_EQ(FormatTime(At(1999, 12, 31, 23h + 59min + 59s + 123456789ns)),
            "1999-12-31T23:59:59.123456789Z");
}

TEST(TimeTest, ZeroTimeIsGoZeroTime) {
  EXPECT_EQ(FormatTime(ZeroTime()), "0001-01-01T00:00:00Z");
  auto t = ParseTime("0001-01-01T00:00:00Z");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(*t, ZeroTime());
}

TEST(TimeTest, ParsesAndRoundTrips) {
  for (const char* s : {"2024-05-02T09:15:42.512Z", "2024-05-02T09:15:42Z",
                        "2262-01-01T00:00:00.999999999Z", "1700-02-28T01:02:03.4Z"}) {
    auto t = ParseTime(s);
    ASSERT_TRUE(t.ok()) << s << ": " << t.status();
    EXPECT_EQ(FormatTime(*t), s);
  }
}

TEST(TimeTest, AcceptsOffsetsAndConvertsToUtc) {
  auto t = ParseTime("2024-05-02T11:15:42.5+02:00");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(FormatTime(*t), "2024-05-02T09:15:42.5Z");
  t = ParseTime("2024-05-01T23:30:00-10:00");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(FormatTime(*t), "2024-05-02T09:30:00Z");
  t = ParseTime("2024-05-02t09:00:00z");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(*t, At(2024, 5, 2, 9h));
}

TEST(TimeTest, RejectsMalformedTimes) {
  for (const char* s :
       {"", "2024-05-02", "2024-05-02T09:15:42", "2024-05-02 09:15:42Z", "2024-13-02T09:15:42Z",
        "2023-02-29T09:15:42Z", "2024-05-02T24:00:00Z", "2024-05-02T09:15:42.Z",
        "2024-05-02T09:15:42+0200", "2024-05-02T09:15:42Zjunk", "0500-01-01T00:00:00Z"}) {
    auto t = ParseTime(s);
    ASSERT_FALSE(t.ok()) << s;
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(t.status().message()), HasSubstr("invalid time"));
  }
}

}  // namespace
}  // namespace stolon::cluster
