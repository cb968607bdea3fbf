// stolon-sentinel: elects a leader among the sentinels; the leader computes the cluster data
// (master election, failover, standbys, proxies) from what keepers and proxies publish.
#include <cstdio>

#include "CLI/CLI.hpp"
#include "common/flags.h"
#include "sentinel/daemon.h"
#include "sentinel/daemon_config.h"

int main(int argc, char** argv) {
  stolon::sentinel::SentinelConfig config;
  CLI::App app{"stolon-sentinel: discovers and monitors the keepers and proxies, and computes the "
               "optimal cluster view",
               "stolon-sentinel"};
  app.set_version_flag("--version", std::string("stolon-sentinel version ") + STOLON_VERSION);
  stolon::sentinel::AddSentinelFlags(app, config);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (absl::Status s = stolon::InitLoggingFromFlags(config.common); !s.ok()) {
    std::fprintf(stderr, "%s\n", std::string(s.message()).c_str());
    return 1;
  }
  return stolon::sentinel::RunSentinel(config);
}
