#include "common/code_pages.h"

#include <sys/mman.h>

#include <cctype>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "fmt/format.h"

namespace stolon {

namespace {

struct Mapping {
  uintptr_t start = 0, end = 0;
  bool candidate = false;  // private, read-only, file-backed
  size_t rss_kib = 0;
  size_t anonymous_kib = 0;
  bool anonymous_seen = false;
};

// Parses "start-end perms offset dev inode [path]" (a mapping's header line in smaps).
bool ParseHeader(const std::string& line, Mapping& m) {
  char perms[8] = {0};
  unsigned long long start = 0, end = 0, offset = 0, inode = 0;
  char dev[32] = {0};
  if (std::sscanf(line.c_str(), "%llx-%llx %7s %llx %31s %llu", &start, &end, perms, &offset, dev,
                  &inode) != 6) {
    return false;
  }
  m = Mapping{};
  m.start = static_cast<uintptr_t>(start);
  m.end = static_cast<uintptr_t>(end);
  m.candidate = perms[0] == 'r' && perms[1] == '-' && perms[3] == 'p' && inode != 0;
  return true;
}

// "Rss:   123 kB" -> 123 when `line` starts with `key`.
bool Field(const std::string& line, const char* key, size_t& out) {
  const size_t n = std::strlen(key);
  if (line.compare(0, n, key) != 0) return false;
  out = static_cast<size_t>(std::strtoull(line.c_str() + n, nullptr, 10));
  return true;
}

}  // namespace

absl::StatusOr<CodePagesReport> ReleaseIdleCodePages() {
  std::ifstream in("/proc/self/smaps");
  if (!in) {
    return absl::UnavailableError(
        fmt::format("cannot read /proc/self/smaps: {}", std::strerror(errno)));
  }
  std::vector<Mapping> maps;
  Mapping cur;
  bool have = false;
  std::string line;
  while (std::getline(in, line)) {
    Mapping next;
    if (!line.empty() && std::isxdigit(static_cast<unsigned char>(line[0])) &&
        line.find('-') != std::string::npos && ParseHeader(line, next)) {
      if (have) maps.push_back(cur);
      cur = next;
      have = true;
      continue;
    }
    if (!have) continue;
    size_t v = 0;
    if (Field(line, "Rss:", v)) {
      cur.rss_kib = v;
    } else if (Field(line, "Anonymous:", v)) {
      cur.anonymous_kib = v;
      cur.anonymous_seen = true;
    }
  }
  if (have) maps.push_back(cur);

  CodePagesReport report;
  for (const Mapping& m : maps) {
    // No Anonymous line means an old kernel: do not guess.
    if (!m.candidate || !m.anonymous_seen || m.anonymous_kib != 0) continue;
    // An address read from /proc/self/smaps: an integer by nature.
    void* addr = reinterpret_cast<void*>(m.start);  // NOLINT(performance-no-int-to-ptr)
    const size_t len = m.end - m.start;
    if (m.rss_kib == 0) continue;
    if (madvise(addr, len, MADV_DONTNEED) != 0) continue;
    ++report.mappings;
    report.resident_kib += m.rss_kib;
  }
  return report;
}

}  // namespace stolon
