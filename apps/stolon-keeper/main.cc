// stolon-keeper: converges the local PostgreSQL instance to the db spec in the cluster data.
#include <malloc.h>

#include "CLI/CLI.hpp"
#include "common/flags.h"
#include "daemon/daemon.h"
#include "keeper/config.h"
#include "keeper/keeper.h"

int main(int argc, char** argv) {
  using namespace stolon;
  // One malloc arena instead of one per thread (up to 8 per core): the keeper's threads (3 job
  // threads, gRPC's) allocate little and rarely contend; saves ~0.2 MB resident and ~700 MB of
  // reserved address space (bench/footprint).
  mallopt(M_ARENA_MAX, 1);
  keeper::KeeperConfig config;
  CLI::App app{"stolon-keeper: manages a PostgreSQL instance of a stolon cluster", "stolon-keeper"};
  keeper::AddKeeperFlags(app, config);
  if (auto code =
          SetUpFromCommandLine(app, argc, argv, "stolon-keeper", "STKEEPER", config.common)) {
    return *code;
  }
  return RunMain({"stolon-keeper", "stolon keeper"},
                 [&](Env& env) { return keeper::KeeperDaemon::Create(config, env); });
}
