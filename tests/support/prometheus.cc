#include "support/prometheus.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <set>
#include <sstream>
#include <vector>

namespace stolon::testing {

HttpResult HttpGet(int port, const std::string& path, std::chrono::milliseconds timeout) {
  HttpResult res;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto left_ms = [&] {
    auto l = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    return static_cast<int>(std::max<int64_t>(0, l.count()));
  };
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    res.error = std::strerror(errno);
    return res;
  }
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  auto wait = [&](short events) {
    pollfd p{fd, events, 0};
    return ::poll(&p, 1, left_ms()) == 1;
  };
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    int err = 0;
    socklen_t len = sizeof err;
    if (errno != EINPROGRESS || !wait(POLLOUT) ||
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
      res.error = "connect failed: " + std::string(std::strerror(err != 0 ? err : errno));
      ::close(fd);
      return res;
    }
  }
  const std::string req =
      "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  size_t sent = 0;
  while (sent < req.size()) {
    ssize_t n = ::send(fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
    } else if (n < 0 && errno == EAGAIN && wait(POLLOUT)) {
      continue;
    } else {
      res.error = "send failed";
      ::close(fd);
      return res;
    }
  }
  std::string resp;
  char buf[8192];
  while (true) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0) {
      resp.append(buf, static_cast<size_t>(n));
    } else if (n == 0) {
      break;
    } else if (errno == EAGAIN && wait(POLLIN)) {
      continue;
    } else {
      res.error = "no complete response in time";
      ::close(fd);
      return res;
    }
  }
  ::close(fd);
  const size_t head_end = resp.find("\r\n\r\n");
  if (resp.rfind("HTTP/1.1 ", 0) != 0 || head_end == std::string::npos) {
    res.error = "unparsable response: " + resp.substr(0, 200);
    return res;
  }
  res.status = std::atoi(resp.c_str() + 9);
  res.body = resp.substr(head_end + 4);
  return res;
}

namespace {

bool IsNameStart(char c, bool colon) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
}
bool IsNameChar(char c, bool colon) { return IsNameStart(c, colon) || (c >= '0' && c <= '9'); }

// Reads a metric (colon allowed) or label name at `p`; empty when there is none.
std::string ReadName(const std::string& s, size_t& p, bool colon) {
  size_t b = p;
  if (p >= s.size() || !IsNameStart(s[p], colon)) return "";
  while (p < s.size() && IsNameChar(s[p], colon)) ++p;
  return s.substr(b, p - b);
}

bool ParseValue(const std::string& v) {
  if (v == "NaN" || v == "+Inf" || v == "-Inf" || v == "Inf") return true;
  if (v.empty()) return false;
  char* end = nullptr;
  std::strtod(v.c_str(), &end);
  return end == v.c_str() + v.size() && v.find_first_of("xXpP") == std::string::npos;
}

bool ParseInt(const std::string& v) {
  if (v.empty()) return false;
  size_t i = (v[0] == '-') ? 1 : 0;
  if (i == v.size()) return false;
  for (; i < v.size(); ++i) {
    if (v[i] < '0' || v[i] > '9') return false;
  }
  return true;
}

}  // namespace

std::optional<PromSamples> ParsePrometheusText(const std::string& text, std::string* error) {
  PromSamples out;
  std::map<std::string, int> help, type;  // family -> line number
  std::set<std::string> finished;         // families whose samples ended
  std::string current;                    // family of the previous sample line
  auto fail = [&](int line, const std::string& why) -> std::optional<PromSamples> {
    *error = "line " + std::to_string(line) + ": " + why;
    return std::nullopt;
  };
  if (text.empty()) return fail(0, "empty exposition");
  if (text.back() != '\n') return fail(0, "does not end with a newline");
  std::istringstream in(text);
  std::string l;
  int n = 0;
  while (std::getline(in, l)) {
    ++n;
    if (l.empty()) return fail(n, "empty line");
    if (l[0] == '#') {
      if (l.rfind("# HELP ", 0) == 0 || l.rfind("# TYPE ", 0) == 0) {
        const bool is_help = l[2] == 'H';
        size_t p = 7;
        std::string name = ReadName(l, p, true);
        if (name.empty()) return fail(n, "bad metric name in: " + l);
        if (p < l.size() && l[p] != ' ') return fail(n, "bad metric name in: " + l);
        auto& seen = is_help ? help : type;
        if (seen.count(name)) return fail(n, "second " + l.substr(2, 4) + " for " + name);
        if (out.count(name) || finished.count(name) || current == name) {
          return fail(n, l.substr(2, 4) + " after the samples of " + name);
        }
        seen[name] = n;
        if (!is_help) {
          std::string t = p < l.size() ? l.substr(p + 1) : "";
          static const std::set<std::string> kTypes = {"counter", "gauge", "untyped", "summary",
                                                       "histogram"};
          if (!kTypes.count(t)) return fail(n, "unknown TYPE \"" + t + "\"");
        }
        continue;
      }
      if (l.size() > 1 && l[1] != ' ') return fail(n, "comment without a space after #");
      continue;
    }
    // A sample.
    size_t p = 0;
    const std::string name = ReadName(l, p, true);
    if (name.empty()) return fail(n, "bad metric name: " + l);
    std::string key = name;
    if (p < l.size() && l[p] == '{') {
      std::set<std::string> label_names;
      key += '{';
      ++p;
      bool first = true;
      while (true) {
        if (p < l.size() && l[p] == '}') break;
        if (!first) {
          if (p >= l.size() || l[p] != ',') return fail(n, "expected , or } in: " + l);
          key += ',';
          ++p;
          if (p < l.size() && l[p] == '}') break;  // a trailing comma is allowed
        }
        first = false;
        std::string label = ReadName(l, p, false);
        if (label.empty()) return fail(n, "bad label name in: " + l);
        if (label.rfind("__", 0) == 0) return fail(n, "reserved label name " + label);
        if (!label_names.insert(label).second) return fail(n, "repeated label " + label);
        if (p + 1 >= l.size() || l[p] != '=' || l[p + 1] != '"') {
          return fail(n, "expected =\" after label " + label + " in: " + l);
        }
        p += 2;
        key += label + "=\"";
        bool closed = false;
        while (p < l.size()) {
          char c = l[p++];
          if (c == '"') {
            closed = true;
            break;
          }
          if (c == '\\') {
            if (p >= l.size() || (l[p] != '\\' && l[p] != '"' && l[p] != 'n')) {
              return fail(n, "bad escape in label " + label);
            }
            key += c;
            key += l[p++];
            continue;
          }
          key += c;
        }
        if (!closed) return fail(n, "unterminated value of label " + label);
        key += '"';
      }
      ++p;  // '}'
      key += '}';
    }
    if (p >= l.size() || l[p] != ' ') return fail(n, "expected a space before the value: " + l);
    ++p;
    std::string rest = l.substr(p);
    std::string value = rest, ts;
    if (size_t sp = rest.find(' '); sp != std::string::npos) {
      value = rest.substr(0, sp);
      ts = rest.substr(sp + 1);
      if (!ParseInt(ts)) return fail(n, "bad timestamp \"" + ts + "\"");
    }
    if (!ParseValue(value)) return fail(n, "bad value \"" + value + "\"");
    if (!help.count(name)) return fail(n, "no # HELP before the samples of " + name);
    if (!type.count(name)) return fail(n, "no # TYPE before the samples of " + name);
    if (name != current) {
      if (finished.count(name)) return fail(n, "samples of " + name + " are not contiguous");
      if (!current.empty()) finished.insert(current);
      current = name;
    }
    if (out.count(key)) return fail(n, "repeated sample " + key);
    out[key] = value == "NaN" ? std::nan("") : std::strtod(value.c_str(), nullptr);
    if (value == "+Inf" || value == "Inf") out[key] = HUGE_VAL;
    if (value == "-Inf") out[key] = -HUGE_VAL;
  }
  return out;
}

}  // namespace stolon::testing
