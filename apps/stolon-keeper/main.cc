// stolon-keeper: converges the local PostgreSQL instance to the db spec in the cluster data.
#include <malloc.h>

#include <cstdio>

#include "CLI/CLI.hpp"
#include "common/flags.h"
#include "keeper/config.h"
#include "keeper/keeper.h"
#include "spdlog/spdlog.h"

int main(int argc, char** argv) {
  // One malloc arena instead of one per thread (up to 8 per core): the keeper's threads (3 job
  // threads, gRPC's) allocate little and rarely contend; saves ~0.2 MB resident and ~700 MB of
  // reserved address space (bench/footprint).
  mallopt(M_ARENA_MAX, 1);
  stolon::keeper::KeeperConfig config;
  CLI::App app{"stolon-keeper: manages a PostgreSQL instance of a stolon cluster", "stolon-keeper"};
  app.set_version_flag("--version", std::string("stolon-keeper version ") + STOLON_VERSION);
  stolon::keeper::AddKeeperFlags(app, config);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (absl::Status s = stolon::InitLoggingFromFlags(config.common); !s.ok()) {
    std::fprintf(stderr, "%s\n", std::string(s.message()).c_str());
    return 1;
  }
  return stolon::keeper::RunKeeper(config);
}
