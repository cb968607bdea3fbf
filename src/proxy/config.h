// stolon-proxy's command line (stolon v0.17 cmd/proxy/cmd/proxy.go): the common flags plus the
// listener and keepalive flags, each also settable as STPROXY_<FLAG> when not given on the
// command line.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/flags.h"

namespace stolon::proxy {

struct ProxyConfig {
  CommonConfig common;
  std::string listen_address = "127.0.0.1";
  int port = 5432;
  bool stop_listening = true;
  int keepalive_idle = 0;      // seconds, 0 = OS default
  int keepalive_count = 0;     // probes, 0 = OS default
  int keepalive_interval = 0;  // seconds, 0 = OS default
  // Not in stolon: relay threads, 0 = one per CPU (what HAProxy does by default).
  int relay_threads = 0;
};

// Outcome of parsing: either a config to run, or an exit (help/version text, or an error line).
struct ParsedFlags {
  ProxyConfig config;
  bool exit = false;  // do not run; print `message` and exit with `exit_code`
  int exit_code = 0;
  std::string message;  // help/version text (exit 0) or "stolon-proxy: <problem>" (exit 1)
};

// Parses argv (argv[0] is the program name) and the STPROXY_* environment (`getenv` is the
// process environment unless a test passes its own). Validates the proxy flags (negative
// keepalive values, port range) and the common flags.
ParsedFlags ParseProxyFlags(const std::vector<std::string>& argv,
                            const char* (*getenv_fn)(const char*) = nullptr);

}  // namespace stolon::proxy
