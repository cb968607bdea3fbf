// Go-compatible timestamps: RFC 3339 with nanoseconds (time.RFC3339Nano), always written in UTC.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "cluster/json.h"
#include "fmt/format.h"

namespace stolon::cluster {
namespace {

using std::chrono::days;
using std::chrono::nanoseconds;
using std::chrono::seconds;

constexpr const char* kGoZeroTime = "0001-01-01T00:00:00Z";
// Seconds from 0001-01-01T00:00:00Z to the Unix epoch, negated: Go's zero time in Unix seconds.
constexpr int64_t kGoZeroUnixSeconds = -62135596800;

// Reads exactly `n` decimal digits at `pos`; false when they are not all digits.
bool ReadDigits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

bool Expect(std::string_view s, size_t pos, char c1, char c2 = '\0') {
  return pos < s.size() && (s[pos] == c1 || (c2 != '\0' && s[pos] == c2));
}

}  // namespace

Time ZeroTime() { return Time{}; }

std::string FormatTime(Time t) {
  if (t == ZeroTime()) return kGoZeroTime;
  auto ns = std::chrono::time_point_cast<nanoseconds>(t);
  auto day = std::chrono::floor<days>(ns);
  std::chrono::year_month_day ymd{day};
  std::chrono::hh_mm_ss<nanoseconds> hms{ns - day};
  std::string out = fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}", int(ymd.year()),
                                unsigned(ymd.month()), unsigned(ymd.day()), hms.hours().count(),
                                hms.minutes().count(), hms.seconds().count());
  int64_t frac = hms.subseconds().count();
  if (frac != 0) {
    std::string digits = fmt::format("{:09d}", frac);
    while (digits.back() == '0') digits.pop_back();
    out += '.';
    out += digits;
  }
  out += 'Z';
  return out;
}

absl::StatusOr<Time> ParseTime(std::string_view s) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(fmt::format(
        "invalid time \"{}\": {} (use RFC 3339 such as \"2024-05-02T09:15:42.512Z\")", s, why));
  };
  int year, month, day, hour, minute, second;
  if (!ReadDigits(s, 0, 4, &year) || !Expect(s, 4, '-') || !ReadDigits(s, 5, 2, &month) ||
      !Expect(s, 7, '-') || !ReadDigits(s, 8, 2, &day) || !Expect(s, 10, 'T', 't') ||
      !ReadDigits(s, 11, 2, &hour) || !Expect(s, 13, ':') || !ReadDigits(s, 14, 2, &minute) ||
      !Expect(s, 16, ':') || !ReadDigits(s, 17, 2, &second)) {
    return bad("expected YYYY-MM-DDTHH:MM:SS");
  }
  std::chrono::year_month_day ymd{std::chrono::year(year), std::chrono::month(unsigned(month)),
                                  std::chrono::day(unsigned(day))};
  if (!ymd.ok()) return bad("no such date");
  if (hour > 23 || minute > 59 || second > 59) return bad("time of day out of range");
  size_t pos = 19;
  int64_t nanos = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    size_t start = pos;
    int64_t scale = 100000000;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      // Digits past nanosecond precision are dropped, as Go does.
      nanos += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return bad("expected digits after '.'");
  }
  int64_t offset = 0;
  if (Expect(s, pos, 'Z', 'z')) {
    ++pos;
  } else if (Expect(s, pos, '+', '-')) {
    int oh, om;
    bool neg = s[pos] == '-';
    if (!ReadDigits(s, pos + 1, 2, &oh) || !Expect(s, pos + 3, ':') ||
        !ReadDigits(s, pos + 4, 2, &om) || oh > 23 || om > 59) {
      return bad("bad zone offset, expected Z or +HH:MM");
    }
    offset = (oh * 3600 + om * 60) * (neg ? -1 : 1);
    pos += 6;
  } else {
    return bad("missing zone, expected Z or +HH:MM");
  }
  if (pos != s.size()) return bad("trailing characters");
  int64_t secs = int64_t(std::chrono::sys_days(ymd).time_since_epoch().count()) * 86400 +
                 hour * 3600 + minute * 60 + second - offset;
  if (secs == kGoZeroUnixSeconds && nanos == 0) return ZeroTime();
  // system_clock counts int64 nanoseconds: about years 1678 to 2262.
  constexpr int64_t kMaxSecs = INT64_MAX / 1000000000 - 1;
  if (secs > kMaxSecs || secs < -kMaxSecs) return bad("out of the supported range (1678 to 2262)");
  nanoseconds since_epoch = seconds(secs) + nanoseconds(nanos);
  return Time(std::chrono::duration_cast<Time::duration>(since_epoch));
}

}  // namespace stolon::cluster
