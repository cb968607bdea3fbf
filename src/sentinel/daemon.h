// The stolon-sentinel daemon (composition root): validates the config, opens the store, picks a
// random 8-hex uid, then runs two loops until SIGINT/SIGTERM (facts 2.4, 4.1):
//   - the election: store::Election campaigns on <base>/sentinel-leader in the background. It
//     reports leader=false when it loses the session or cannot confirm leadership, retries after
//     store errors by itself, and counts every win (the leadership count);
//   - the check loop: SentinelChecker::Check() once at start, then each next check
//     sleepInterval (from the cluster data) after the previous one ended.
// On a signal the election is stopped first (its lease is revoked so another sentinel takes
// over at once), then the check loop; the process exits 0.
#pragma once

#include "sentinel/daemon_config.h"

namespace stolon::sentinel {

// Runs the sentinel with a parsed config (FinalizeSentinelConfig is called here). Returns the
// process exit code: 0 after a signal-initiated shutdown, 1 on a fatal start-up error (logged).
int RunSentinel(SentinelConfig& config);

}  // namespace stolon::sentinel
