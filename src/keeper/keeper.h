// The stolon-keeper daemon (composition root): validates the config, takes the data dir lock,
// resolves the keeper uid, then runs three loops until SIGINT/SIGTERM, as stolon v0.17's keeper
// does:
//   - the convergence pass (StateMachine) every sleepInterval after the previous one ends,
//   - the PostgresState probe every sleepInterval/2,
//   - the KeeperInfo publication every sleepInterval (TTL sleepInterval, floored by the store).
// On a signal postgres is stopped (fast) and the keeper exits 0.
#pragma once

#include "keeper/config.h"

namespace stolon::keeper {

// The message logged when started as root.
inline constexpr const char* kRootRefusal =
    "must not run as root: PostgreSQL refuses to; run it as an unprivileged user "
    "(e.g. su -s /bin/sh stolon -c ...)";

// Runs the keeper with a parsed (not yet finalized) config. Returns the process exit code:
// 0 after a signal-initiated shutdown, 1 on a fatal start-up error (already logged).
int RunKeeper(KeeperConfig& config);

}  // namespace stolon::keeper
