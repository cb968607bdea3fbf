// Test helpers for the --metrics-listen-address endpoints: a blocking HTTP GET on loopback and a
// strict checker of the Prometheus text exposition format (version 0.0.4).
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>

namespace stolon::testing {

struct HttpResult {
  int status = 0;  // 0 when the request failed (connect, timeout, unparsable response)
  std::string body;
  std::string error;  // why it failed
};

// GET http://127.0.0.1:<port><path> with one connection, bounded by `timeout`.
HttpResult HttpGet(int port, const std::string& path,
                   std::chrono::milliseconds timeout = std::chrono::seconds(5));

// Samples of a parsed exposition, keyed by `name{labels}` exactly as written ("name" alone
// without labels), e.g. samples["stolon_proxy_health"] or
// samples["stolon_keeper_local_role{role=\"master\"}"].
using PromSamples = std::map<std::string, double>;

// Checks `text` strictly and returns its samples, or nullopt with `*error` set to the first
// problem (with its line number). Rules: every line is "# HELP <name> <text>",
// "# TYPE <name> counter|gauge|untyped|summary|histogram", another "# " comment, or a sample
// `name{label="value",...} value [timestamp]` with valid metric and label names, properly
// escaped label values and a float value; every sample's family has both a HELP and a TYPE line
// that come before its samples; a family's samples are contiguous; no sample repeats; the text
// ends with a newline.
std::optional<PromSamples> ParsePrometheusText(const std::string& text, std::string* error);

}  // namespace stolon::testing
