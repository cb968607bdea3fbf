#include "common/duration.h"

#include <cstdint>
#include <limits>

#include "fmt/format.h"

namespace stolon {
namespace {

// Appends `v` / 10^prec with trailing fractional zeros removed, like Go's fmtFrac+fmtInt.
void AppendFrac(std::string& out, uint64_t v, int prec) {
  uint64_t scale = 1;
  for (int i = 0; i < prec; ++i) scale *= 10;
  uint64_t whole = v / scale, frac = v % scale;
  out += std::to_string(whole);
  if (frac == 0) return;
  std::string digits(static_cast<size_t>(prec), '0');
  for (int i = prec - 1; i >= 0; --i) {
    digits[static_cast<size_t>(i)] = static_cast<char>('0' + frac % 10);
    frac /= 10;
  }
  while (!digits.empty() && digits.back() == '0') digits.pop_back();
  out += '.';
  out += digits;
}

}  // namespace

std::string FormatGoDuration(Duration d) {
  int64_t n = d.count();
  if (n == 0) return "0s";
  std::string out;
  uint64_t u = n < 0 ? uint64_t(0) - static_cast<uint64_t>(n) : static_cast<uint64_t>(n);
  if (n < 0) out += '-';
  if (u < 1000000000ULL) {
    if (u < 1000ULL) {
      out += std::to_string(u) + "ns";
    } else if (u < 1000000ULL) {
      AppendFrac(out, u, 3);
      out += "µs";
    } else {
      AppendFrac(out, u, 6);
      out += "ms";
    }
    return out;
  }
  uint64_t secs = u / 1000000000ULL, nanos = u % 1000000000ULL;
  uint64_t h = secs / 3600, m = (secs / 60) % 60, s = secs % 60;
  if (h > 0) out += std::to_string(h) + "h";
  if (h > 0 || m > 0) out += std::to_string(m) + "m";
  AppendFrac(out, s * 1000000000ULL + nanos, 9);
  out += "s";
  return out;
}

absl::StatusOr<Duration> ParseGoDuration(std::string_view in) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        fmt::format("invalid duration \"{}\": {} (use Go syntax such as \"300ms\", \"5s\", "
                    "\"1m30s\")",
                    in, why));
  };
  std::string_view s = in;
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return Duration(0);
  if (s.empty()) return bad("empty");
  // Accumulate in long double nanoseconds; then range-check.
  long double total = 0;
  while (!s.empty()) {
    size_t i = 0;
    uint64_t whole = 0;
    bool any = false;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (whole > (std::numeric_limits<uint64_t>::max() - 9) / 10) return bad("number too large");
      whole = whole * 10 + static_cast<uint64_t>(s[i] - '0');
      ++i;
      any = true;
    }
    long double frac = 0, scale = 1;
    if (i < s.size() && s[i] == '.') {
      ++i;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
        scale /= 10;
        frac += static_cast<long double>(s[i] - '0') * scale;
        ++i;
        any = true;
      }
    }
    if (!any) return bad("expected a number");
    size_t j = i;
    while (j < s.size() && !(s[j] >= '0' && s[j] <= '9') && s[j] != '.') ++j;
    std::string_view unit = s.substr(i, j - i);
    long double mult;
    if (unit.empty()) return bad("missing unit");
    if (unit == "ns")
      mult = 1;
    else if (unit == "us" || unit == "µs" || unit == "μs")
      mult = 1e3L;
    else if (unit == "ms")
      mult = 1e6L;
    else if (unit == "s")
      mult = 1e9L;
    else if (unit == "m")
      mult = 60e9L;
    else if (unit == "h")
      mult = 3600e9L;
    else
      return bad(fmt::format("unknown unit \"{}\"", unit));
    total += (static_cast<long double>(whole) + frac) * mult;
    s.remove_prefix(j);
  }
  if (total > static_cast<long double>(std::numeric_limits<int64_t>::max())) {
    return bad("out of range");
  }
  auto ns = static_cast<int64_t>(total + 0.5L);
  return Duration(neg ? -ns : ns);
}

}  // namespace stolon
