// stolon-keeper: converges the local PostgreSQL instance to the db spec in the cluster data.
#include "CLI/CLI.hpp"
#include "common/flags.h"
#include "keeper/config.h"
#include "keeper/keeper.h"

int main(int argc, char** argv) {
  stolon::keeper::KeeperConfig config;
  CLI::App app{"stolon-keeper: manages a PostgreSQL instance of a stolon cluster", "stolon-keeper"};
  stolon::keeper::AddKeeperFlags(app, config);
  if (auto code = stolon::SetUpFromCommandLine(app, argc, argv, "stolon-keeper", "STKEEPER",
                                               config.common)) {
    return *code;
  }
  return stolon::keeper::RunKeeper(config);
}
