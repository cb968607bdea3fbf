#include "daemon/daemon.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <exception>

#include "common/log.h"
#include "spdlog/spdlog.h"

namespace stolon {

Env ProductionEnv() {
  Env env;
  env.open_store = [](const store::StoreConfig& c) { return store::NewKvStore(c); };
  env.clock = &RealClock::Instance();
  env.ids = std::make_shared<RandomIdGenerator>();
  env.metrics = std::make_shared<MetricsRegistry>();
  return env;
}

StopRequest::StopRequest() {
  sigemptyset(&stop_signals_);
  sigaddset(&stop_signals_, SIGINT);
  sigaddset(&stop_signals_, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals_, &previous_);
}

StopRequest::~StopRequest() { pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }

int StopRequest::Wait() {
  // A Request() is seen within one poll (100 ms); a signal at once.
  const timespec poll{0, 100'000'000};
  while (!requested_.load()) {
    const int sig = sigtimedwait(&stop_signals_, nullptr, &poll);
    if (sig > 0) return sig;
    if (errno != EAGAIN && errno != EINTR) {
      spdlog::error("waiting for a stop signal: {}", std::strerror(errno));
      return 0;
    }
  }
  return 0;
}

int StartFailure(const DaemonNames& names, const absl::Status& problem) {
  spdlog::default_logger()->flush();
  std::fprintf(stderr, "%s: %s\n", names.program.c_str(), std::string(problem.message()).c_str());
  return 1;
}

int RunDaemon(const DaemonNames& names, Daemon& daemon, StopRequest& stop) {
  if (absl::Status s = daemon.Start(); !s.ok()) return StartFailure(names, s);
  const int sig = stop.Wait();
  spdlog::info(
      "stopping {}{}", names.display,
      LogFields({{"signal", sig == 0 ? std::string("none (requested)") : strsignal(sig)}}));
  const int code = daemon.Stop();
  spdlog::info("{} stopped", names.display);
  return code;
}

int RunMain(const DaemonNames& names,
            const std::function<absl::StatusOr<std::unique_ptr<Daemon>>(Env&)>& make) {
  try {
    StopRequest stop;
    Env env = ProductionEnv();
    absl::StatusOr<std::unique_ptr<Daemon>> daemon = make(env);
    if (!daemon.ok()) return StartFailure(names, daemon.status());
    return RunDaemon(names, **daemon, stop);
  } catch (const std::exception& e) {
    // Reached only on a bug or on exhaustion (e.g. std::bad_alloc): exit non-zero, say why.
    spdlog::critical("{} failed: {}", names.program, e.what());
    return 1;
  } catch (...) {
    spdlog::critical("{} failed: unknown exception", names.program);
    return 1;
  }
}

}  // namespace stolon
