#include "postgresql/conninfo.h"

#include <algorithm>
#include <cctype>
#include <vector>

#include "absl/strings/str_join.h"
#include "fmt/format.h"

namespace stolon::postgresql {

std::string ConnString(const ConnParams& params) {
  std::vector<std::string> kvs;
  for (const auto& [k, v] : params) {
    if (v.empty()) continue;
    std::string kv = k + "=";
    for (char c : v) {
      if (c == ' ' || c == '\'' || c == '\\') kv += '\\';
      kv += c;
    }
    kvs.push_back(std::move(kv));
  }
  // Sorting the rendered pairs (not only the keys) mirrors stolon, so strings compare equal.
  std::sort(kvs.begin(), kvs.end());
  return absl::StrJoin(kvs, " ");
}

absl::StatusOr<ConnParams> ParseConnString(const std::string& s) {
  ConnParams out;
  size_t i = 0;
  const size_t n = s.size();
  auto is_space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  while (true) {
    while (i < n && is_space(s[i])) ++i;
    if (i >= n) break;
    std::string key;
    while (i < n && !is_space(s[i]) && s[i] != '=') key += s[i++];
    while (i < n && is_space(s[i])) ++i;
    if (i >= n || s[i] != '=') {
      return absl::InvalidArgumentError(
          fmt::format("missing \"=\" after \"{}\" in connection info string", key));
    }
    ++i;  // '='
    while (i < n && is_space(s[i])) ++i;
    std::string val;
    if (i < n && s[i] == '\'') {
      ++i;
      bool closed = false;
      while (i < n) {
        char c = s[i++];
        if (c == '\'') {
          closed = true;
          break;
        }
        if (c == '\\' && i < n) c = s[i++];
        val += c;
      }
      if (!closed) {
        return absl::InvalidArgumentError("unterminated quoted string in connection info string");
      }
    } else {
      while (i < n && !is_space(s[i])) {
        char c = s[i++];
        if (c == '\\') {
          if (i >= n) {
            return absl::InvalidArgumentError(
                "missing character after backslash in connection info string");
          }
          c = s[i++];
        }
        val += c;
      }
    }
    out[key] = val;
  }
  return out;
}

}  // namespace stolon::postgresql
