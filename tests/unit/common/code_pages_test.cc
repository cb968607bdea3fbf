#include "common/code_pages.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

namespace stolon {
namespace {

// Relocated constant data (a pointer table: RELRO in a PIE, or plain .data.rel.ro) and writable
// data: neither may change when code pages are released.
const char* const kTable[] = {"alpha", "beta", "gamma"};
int g_counter = 41;

size_t RssKib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoul(line.substr(6));
  }
  return 0;
}

int Work(int n) {  // some code to run again after the release
  std::string s;
  for (int i = 0; i < n; ++i) s += kTable[i % 3];
  return static_cast<int>(s.size());
}

TEST(CodePages, ReleasesCleanCodeAndKeepsData) {
  ASSERT_EQ(Work(30), 140);
  ++g_counter;
  const size_t before = RssKib();
  auto r = ReleaseIdleCodePages();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_GT(r->mappings, 0u);  // at least this test binary's code and libc's
  EXPECT_GT(r->resident_kib, 0u);
  const size_t after = RssKib();
  EXPECT_LT(after, before) << "before " << before << " KiB, after " << after << " KiB";
  // Code runs again (faulting its pages back in) and data is what it was.
  EXPECT_EQ(Work(30), 140);
  EXPECT_STREQ(kTable[1], "beta");
  EXPECT_EQ(g_counter, 42);
  // Idempotent: a second call finds little left to release and does no harm.
  auto again = ReleaseIdleCodePages();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(Work(3), 14);
}

}  // namespace
}  // namespace stolon
