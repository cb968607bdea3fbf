#include "postgresql/util.h"

#include <cctype>
#include <sstream>

#include "fmt/format.h"

namespace stolon::postgresql {
namespace {

bool ParseUint(const std::string& s, int base, uint64_t max, uint64_t* out) {
  if (s.empty()) return false;
  uint64_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (base == 16 && c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (base == 16 && c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    else
      return false;
    if (v > (max - static_cast<uint64_t>(d)) / static_cast<uint64_t>(base)) return false;
    v = v * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
  }
  *out = v;
  return true;
}

}  // namespace

absl::StatusOr<PGVersion> ParseVersion(const std::string& v) {
  std::string s = v;
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  auto dot = s.find('.');
  std::string maj = s.substr(0, dot);
  std::string min = dot == std::string::npos ? "0" : s.substr(dot + 1);
  if (auto dot2 = min.find('.'); dot2 != std::string::npos) min = min.substr(0, dot2);
  uint64_t a = 0, b = 0;
  if (!ParseUint(maj, 10, 1000000, &a) || !ParseUint(min, 10, 1000000, &b)) {
    return absl::InvalidArgumentError(fmt::format("bad postgres version: \"{}\"", v));
  }
  return PGVersion{static_cast<int>(a), static_cast<int>(b)};
}

absl::StatusOr<PGVersion> ParseBinaryVersion(const std::string& v) {
  // stolon's `.* \(PostgreSQL\) ([0-9.]+)`, by hand: std::regex trips GCC 12 warnings under
  // the sanitizers.
  std::string line = v.substr(0, v.find('\n'));
  static const std::string kMarker = " (PostgreSQL) ";
  auto at = line.find(kMarker);
  std::string num;
  if (at != std::string::npos) {
    for (size_t i = at + kMarker.size(); i < line.size(); ++i) {
      char c = line[i];
      if (!std::isdigit(static_cast<unsigned char>(c)) && c != '.') break;
      num += c;
    }
  }
  if (num.empty()) {
    return absl::InvalidArgumentError(
        fmt::format("failed to parse postgres binary version: \"{}\"", line));
  }
  return ParseVersion(num);
}

absl::StatusOr<uint64_t> ParseLsn(const std::string& lsn) {
  auto slash = lsn.find('/');
  uint64_t hi = 0, lo = 0;
  if (slash == std::string::npos || !ParseUint(lsn.substr(0, slash), 16, 0xffffffffULL, &hi) ||
      !ParseUint(lsn.substr(slash + 1), 16, 0xffffffffULL, &lo)) {
    return absl::InvalidArgumentError(fmt::format("bad pg_lsn: \"{}\"", lsn));
  }
  return hi << 32 | lo;
}

std::string FormatLsn(uint64_t pos) {
  return fmt::format("{:X}/{:X}", pos >> 32, pos & 0xffffffffULL);
}

bool IsWalFileName(const std::string& name) {
  if (name.size() != 24) return false;
  for (char c : name) {
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'))) return false;
  }
  return true;
}

std::string XlogPosToWalFileNameNoTimeline(uint64_t xlog_pos) {
  uint64_t id = xlog_pos >> 32;
  uint64_t seg = (xlog_pos & 0xffffffffULL) / kWalSegSize;
  return fmt::format("{:08X}{:08X}", id, seg);
}

absl::StatusOr<std::string> WalFileNameNoTimeline(const std::string& name) {
  if (!IsWalFileName(name)) {
    return absl::InvalidArgumentError(fmt::format("bad wal file name: \"{}\"", name));
  }
  return name.substr(8);
}

absl::StatusOr<cluster::TimelinesHistory> ParseTimelinesHistory(const std::string& content) {
  cluster::TimelinesHistory out;
  std::istringstream in(content);
  std::string line;
  auto is_space = [](char c) { return c == ' ' || c == '\t'; };
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    // "<tli> <lsn> <reason...>", whitespace separated; the reason may hold spaces.
    size_t i = 0;
    auto token = [&]() {
      while (i < line.size() && is_space(line[i])) ++i;
      size_t start = i;
      while (i < line.size() && !is_space(line[i])) ++i;
      return line.substr(start, i - start);
    };
    std::string tli = token();
    if (tli.empty() || tli[0] == '#') continue;
    std::string lsn = token();
    if (lsn.empty() || i >= line.size()) continue;  // no reason column: not a history line
    while (i < line.size() && is_space(line[i])) ++i;
    cluster::TimelineHistoryEntry e;
    if (!ParseUint(tli, 10, UINT64_MAX, &e.timeline_id)) {
      return absl::InvalidArgumentError(
          fmt::format("cannot parse timelineID in timeline history line \"{}\"", line));
    }
    auto sp = ParseLsn(lsn);
    if (!sp.ok()) {
      return absl::InvalidArgumentError(
          fmt::format("cannot parse start lsn in timeline history line \"{}\"", line));
    }
    e.switch_point = *sp;
    e.reason = line.substr(i);
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace stolon::postgresql
