// The life cycle shared by stolon-keeper, stolon-sentinel and stolon-proxy, and what each reaches
// outside itself (Env).
//
// A daemon is a class built from its parsed flags and an Env. RunDaemon starts it, waits for a stop
// request (SIGINT, SIGTERM, or StopRequest::Request from any thread) and stops it. Each program's
// main() only parses its flags and calls RunMain with a factory for its daemon.
//
// Signals: StopRequest blocks SIGINT and SIGTERM in the thread that creates it, before any other
// thread exists, so every later thread inherits the mask and only StopRequest::Wait takes them
// (sigtimedwait: no handler runs in a random thread). Children are unaffected: SpawnChild resets
// the mask before exec, so postgres, pg_ctl and initdb still stop on SIGTERM and SIGINT.
#pragma once

#include <atomic>
#include <csignal>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/clock.h"
#include "common/ids.h"
#include "common/metrics.h"
#include "store/kv_store.h"
#include "store/store_config.h"

namespace stolon {

// What a daemon reaches outside its own code. The programs use ProductionEnv(); a test can open a
// MemKvStore, run on a FakeClock or use deterministic ids.
struct Env {
  // Opens the store that the flags configure (etcd v3 in the programs).
  std::function<absl::StatusOr<std::unique_ptr<store::KvStore>>(const store::StoreConfig&)>
      open_store;
  const Clock* clock = nullptr;
  std::shared_ptr<IdGenerator> ids;
  // What /metrics serves; the daemon declares its metrics on it.
  std::shared_ptr<MetricsRegistry> metrics;
};

// The real store client, the system clock, random ids and a new registry.
Env ProductionEnv();

class Daemon {
 public:
  virtual ~Daemon() = default;
  // Starts the daemon's threads. An error is one line naming the problem and the fix; nothing was
  // left running.
  virtual absl::Status Start() = 0;
  // Stops what Start() started, each part within a bound. Called once, after a successful
  // Start(). Returns the process exit code.
  virtual int Stop() = 0;
};

class StopRequest {
 public:
  StopRequest();   // blocks SIGINT and SIGTERM in the calling thread
  ~StopRequest();  // restores the previous mask
  StopRequest(const StopRequest&) = delete;
  StopRequest& operator=(const StopRequest&) = delete;

  // Blocks until SIGINT/SIGTERM arrives or Request() is called; returns the signal, or 0 for a
  // Request(). A request made before Wait() is not lost.
  int Wait();
  // Thread-safe.
  void Request() { requested_ = true; }

 private:
  sigset_t stop_signals_;
  sigset_t previous_;
  std::atomic<bool> requested_{false};
};

struct DaemonNames {
  std::string program;  // "stolon-keeper": prefixes a start-up error on stderr
  std::string display;  // "stolon keeper": in the logs ("stopping stolon keeper")
};

// A problem that stops the program before or while it starts: one line "<program>: <problem>" on
// stderr (as for a bad flag), after whatever was logged so far. Returns the exit code, 1.
int StartFailure(const DaemonNames& names, const absl::Status& problem);

// Starts `daemon`, waits on `stop`, stops the daemon. Returns StartFailure's 1 when Start()
// fails, else what Stop() returns.
int RunDaemon(const DaemonNames& names, Daemon& daemon, StopRequest& stop);

// The whole of a program's main() after flag parsing: blocks the stop signals, builds the daemon
// with `make` from ProductionEnv() (an error: StartFailure), runs it. An exception escaping the
// daemon (a bug or std::bad_alloc) is logged as "<program> failed: ..." with exit code 1.
int RunMain(const DaemonNames& names,
            const std::function<absl::StatusOr<std::unique_ptr<Daemon>>(Env&)>& make);

}  // namespace stolon
