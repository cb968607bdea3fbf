// stolon-keeper: converges the local PostgreSQL instance to the db spec in the cluster data.
#include <malloc.h>

#include "CLI/CLI.hpp"
#include "common/flags.h"
#include "keeper/config.h"
#include "keeper/keeper.h"
#include "spdlog/spdlog.h"

namespace {

int Main(int argc, char** argv) {
  // One malloc arena instead of one per thread (up to 8 per core): the keeper's threads (3 job
  // threads, gRPC's) allocate little and rarely contend; saves ~0.2 MB resident and ~700 MB of
  // reserved address space (bench/footprint).
  mallopt(M_ARENA_MAX, 1);
  stolon::keeper::KeeperConfig config;
  CLI::App app{"stolon-keeper: manages a PostgreSQL instance of a stolon cluster", "stolon-keeper"};
  stolon::keeper::AddKeeperFlags(app, config);
  if (auto code = stolon::SetUpFromCommandLine(app, argc, argv, "stolon-keeper", "STKEEPER",
                                               config.common)) {
    return *code;
  }
  return stolon::keeper::RunKeeper(config);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Main(argc, argv);
  } catch (const std::exception& e) {
    // Reached only on a bug or on exhaustion (e.g. std::bad_alloc): exit non-zero, say why.
    spdlog::critical("stolon-keeper failed: {}", e.what());
    return 1;
  } catch (...) {
    spdlog::critical("stolon-keeper failed: unknown exception");
    return 1;
  }
}
