#include "ctl/tabwriter.h"

#include <gtest/gtest.h>

namespace stolon::ctl {
namespace {

// Expected outputs are what Go's tabwriter.NewWriter(w, 0, 8, 1, '\t', 0) prints.
TEST(TabWriter, PadsColumnsToTabStops) {
  TabWriter tw;
  tw.Write("ID\tLEADER\nabcdef12\ttrue\n");
  EXPECT_EQ(tw.Flush(), "ID\t\tLEADER\nabcdef12\ttrue\n");
}

TEST(TabWriter, LinesWithoutTabsEndABlock) {
  TabWriter tw;
  tw.Write("a\tb\n=== title ===\nlonger-cell-here\tc\n");
  EXPECT_EQ(tw.Flush(), "a\tb\n=== title ===\nlonger-cell-here\tc\n");
}

TEST(TabWriter, TrailingTabTerminatesEveryCell) {
  TabWriter tw;
  tw.Write("UID\tHEALTHY\tLAST\nkeeper0\ttrue\t1\t\nk1\tfalse\t\t\n");
  EXPECT_EQ(tw.Flush(),
            "UID\tHEALTHY\tLAST\n"
            "keeper0\ttrue\t1\t\n"
            "k1\tfalse\t\t\n");
}

TEST(TabWriter, CountsUtf8CodePoints) {
  TabWriter tw;
  tw.Write("├─abcd\tx\nab\ty\n");
  EXPECT_EQ(tw.Flush(), "├─abcd\tx\nab\ty\n");
}

}  // namespace
}  // namespace stolon::ctl
