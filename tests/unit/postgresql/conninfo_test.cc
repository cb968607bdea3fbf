#include "postgresql/conninfo.h"

#include <gtest/gtest.h>

namespace stolon::postgresql {
namespace {

TEST(ConnStringTest, SortedAndEmptyValuesDropped) {
  ConnParams p = {{"user", "repl"}, {"host", "10.0.0.1"},  {"port", "5432"},
                  {"password", ""}, {"sslmode", "prefer"}, {"application_name", "stolon_abc"}};
  EXPECT_EQ(ConnString(p),
            "application_name=stolon_abc host=10.0.0.1 port=5432 sslmode=prefer user=repl");
}

TEST(ConnStringTest, EscapesSpaceQuoteAndBackslash) {
  ConnParams p = {{"password", "a b'c\\d"}, {"options", "-c synchronous_commit=off"}};
  EXPECT_EQ(ConnString(p), R"(options=-c\ synchronous_commit=off password=a\ b\'c\\d)");
}

TEST(ConnStringTest, EmptyParams) { EXPECT_EQ(ConnString({}), ""); }

TEST(ParseConnStringTest, RoundTrip) {
  ConnParams p = {{"password", "a b'c\\d"}, {"host", "/tmp"}, {"user", "su"}};
  auto parsed = ParseConnString(ConnString(p));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, p);
}

TEST(ParseConnStringTest, QuotedValuesAndSpaces) {
  auto parsed = ParseConnString("  host = 'my host'  port=5433 password='it\\'s' ");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ((*parsed)["host"], "my host");
  EXPECT_EQ((*parsed)["port"], "5433");
  EXPECT_EQ((*parsed)["password"], "it's");
}

TEST(ParseConnStringTest, Errors) {
  EXPECT_EQ(ParseConnString("host").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseConnString("host='x").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseConnString("host=x\\").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace stolon::postgresql
