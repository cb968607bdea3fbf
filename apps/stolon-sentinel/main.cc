// stolon-sentinel: elects a leader among the sentinels; the leader computes the cluster data
// (master election, failover, standbys, proxies) from what keepers and proxies publish.
#include "CLI/CLI.hpp"
#include "common/flags.h"
#include "daemon/daemon.h"
#include "sentinel/daemon.h"
#include "sentinel/daemon_config.h"

int main(int argc, char** argv) {
  using namespace stolon;
  sentinel::SentinelConfig config;
  CLI::App app{
      "stolon-sentinel: discovers and monitors the keepers and proxies, and computes the "
      "optimal cluster view",
      "stolon-sentinel"};
  sentinel::AddSentinelFlags(app, config);
  if (auto code = SetUpFromCommandLine(app, argc, argv, "stolon-sentinel",
                                       sentinel::kSentinelEnvPrefix, config.common)) {
    return *code;
  }
  return RunMain({"stolon-sentinel", "stolon sentinel"},
                 [&](Env& env) { return sentinel::SentinelDaemon::Create(config, env); });
}
