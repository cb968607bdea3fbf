#include "postgresql/util.h"

#include <gtest/gtest.h>

namespace stolon::postgresql {
namespace {

TEST(VersionTest, Parse) {
  EXPECT_EQ(*ParseVersion("15"), (PGVersion{15, 0}));
  EXPECT_EQ(*ParseVersion("9.6\n"), (PGVersion{9, 6}));
  EXPECT_EQ(*ParseBinaryVersion("postgres (PostgreSQL) 15.4 (Debian 15.4-1.pgdg120+1)\n"),
            (PGVersion{15, 4}));
  EXPECT_EQ(*ParseBinaryVersion("postgres (PostgreSQL) 10beta1"), (PGVersion{10, 0}));
  EXPECT_FALSE(ParseBinaryVersion("garbage").ok());
  EXPECT_FALSE(ParseVersion("x.1").ok());
  EXPECT_TRUE((PGVersion{15, 0}).AtLeast(12));
  EXPECT_TRUE((PGVersion{9, 6}).AtLeast(9, 6));
  EXPECT_FALSE((PGVersion{9, 5}).AtLeast(9, 6));
}

TEST(LsnTest, ParseAndFormat) {
  EXPECT_EQ(*ParseLsn("0/3000060"), 0x3000060u);
  EXPECT_EQ(*ParseLsn("1A/FF"), (uint64_t{0x1A} << 32) | 0xFF);
  EXPECT_EQ(FormatLsn((uint64_t{0x1A} << 32) | 0xFF), "1A/FF");
  EXPECT_FALSE(ParseLsn("3000060").ok());
  EXPECT_FALSE(ParseLsn("1/2/3").ok());
  EXPECT_FALSE(ParseLsn("100000000/0").ok());
}

TEST(WalTest, FileNames) {
  EXPECT_TRUE(IsWalFileName("000000010000000000000003"));
  EXPECT_FALSE(IsWalFileName("000000010000000000000003.partial"));
  EXPECT_FALSE(IsWalFileName("00000001000000000000000a"));
  EXPECT_FALSE(IsWalFileName("00000002.history"));
  EXPECT_EQ(XlogPosToWalFileNameNoTimeline(0x3000060), "0000000000000003");
  EXPECT_EQ(XlogPosToWalFileNameNoTimeline((uint64_t{2} << 32) | 0x05000000), "0000000200000005");
  EXPECT_EQ(*WalFileNameNoTimeline("000000020000000100000004"), "0000000100000004");
  EXPECT_FALSE(WalFileNameNoTimeline("bad").ok());
}

TEST(TimelineHistoryTest, Parse) {
  auto h = ParseTimelinesHistory(
      "1\t0/3000060\tno recovery target specified\n\n"
      "2\t0/5000000\tat restore point \"x\"\n");
  ASSERT_TRUE(h.ok()) << h.status();
  ASSERT_EQ(h->size(), 2u);
  EXPECT_EQ((*h)[0].timeline_id, 1u);
  EXPECT_EQ((*h)[0].switch_point, 0x3000060u);
  EXPECT_EQ((*h)[0].reason, "no recovery target specified");
  EXPECT_EQ((*h)[1].timeline_id, 2u);
  EXPECT_EQ((*h)[1].switch_point, 0x5000000u);
  EXPECT_EQ((*h)[1].reason, "at restore point \"x\"");
  EXPECT_TRUE(ParseTimelinesHistory("")->empty());
  EXPECT_FALSE(ParseTimelinesHistory("x\t0/1\treason\n").ok());
  EXPECT_FALSE(ParseTimelinesHistory("1\tzz\treason\n").ok());
}

}  // namespace
}  // namespace stolon::postgresql
