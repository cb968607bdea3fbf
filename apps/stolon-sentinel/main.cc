// stolon-sentinel: elects a leader among the sentinels; the leader computes the cluster data
// (master election, failover, standbys, proxies) from what keepers and proxies publish.
#include "CLI/CLI.hpp"
#include "common/flags.h"
#include "sentinel/daemon.h"
#include "sentinel/daemon_config.h"
#include "spdlog/spdlog.h"

namespace {

int Main(int argc, char** argv) {
  stolon::sentinel::SentinelConfig config;
  CLI::App app{
      "stolon-sentinel: discovers and monitors the keepers and proxies, and computes the "
      "optimal cluster view",
      "stolon-sentinel"};
  stolon::sentinel::AddSentinelFlags(app, config);
  if (auto code =
          stolon::SetUpFromCommandLine(app, argc, argv, "stolon-sentinel",
                                       stolon::sentinel::kSentinelEnvPrefix, config.common)) {
    return *code;
  }
  return stolon::sentinel::RunSentinel(config);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Main(argc, argv);
  } catch (const std::exception& e) {
    // Reached only on a bug or on exhaustion (e.g. std::bad_alloc): exit non-zero, say why.
    spdlog::critical("stolon-sentinel failed: {}", e.what());
    return 1;
  } catch (...) {
    spdlog::critical("stolon-sentinel failed: unknown exception");
    return 1;
  }
}
