#include "sentinel/daemon.h"

#include <pthread.h>
#include <signal.h>

#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/ids.h"
#include "common/log.h"
#include "fmt/format.h"
#include "proxy/metrics.h"
#include "sentinel/daemon_check.h"
#include "spdlog/spdlog.h"
#include "store/change_notifier.h"
#include "store/store.h"
#include "store/store_config.h"

namespace stolon::sentinel {
namespace {

using namespace std::chrono_literals;

int Fatal(const std::string& msg) {
  spdlog::critical("{}", msg);
  return 1;
}

// The check loop: Check(), then sleep the current sleepInterval, on one strand, until stopped.
// Checks never overlap (style rule 15); Stop() cuts the sleep short from any thread.
class CheckLoop {
 public:
  CheckLoop(asio::io_context& io, SentinelChecker& checker)
      : strand_(asio::make_strand(io)), timer_(strand_), checker_(checker) {}

  void Start() { asio::co_spawn(strand_, Run(), asio::detached); }
  void Stop() {
    stopping_ = true;
    asio::post(strand_, [this] { timer_.cancel(); });
  }
  // Starts the next check now (or right after the running one), from any thread.
  void Wake() {
    asio::post(strand_, [this] { timer_.cancel(); });
  }

 private:
  asio::awaitable<void> Run() {
    while (!stopping_.load()) {
      CheckOutcome out = checker_.Check();
      spdlog::debug("check done{}", LogFields({{"outcome", CheckOutcomeName(out)}}));
      if (stopping_.load()) break;
      timer_.expires_after(checker_.sleep_interval());
      co_await timer_.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    }
  }

  asio::strand<asio::io_context::executor_type> strand_;
  asio::steady_timer timer_;
  SentinelChecker& checker_;
  std::atomic<bool> stopping_{false};
};

}  // namespace

std::string RenderSentinelMetrics(const std::string& cluster_name, bool leader,
                                  uint64_t leader_count, std::optional<WallTime> last_success) {
  std::string out = fmt::format(
      "# HELP stolon_cluster_identifier Set to 1, labelled with the cluster name and component\n"
      "# TYPE stolon_cluster_identifier gauge\n"
      "stolon_cluster_identifier{{cluster_name=\"{}\",component=\"sentinel\"}} 1\n"
      "# HELP stolon_sentinel_is_leader Set to 1 if the sentinel is the leader\n"
      "# TYPE stolon_sentinel_is_leader gauge\n"
      "stolon_sentinel_is_leader {}\n"
      "# HELP stolon_sentinel_leader_count How many times this sentinel became leader\n"
      "# TYPE stolon_sentinel_leader_count counter\n"
      "stolon_sentinel_leader_count {}\n",
      cluster_name, leader ? 1 : 0, leader_count);
  if (last_success) {
    const double secs =
        std::chrono::duration<double>(last_success->time_since_epoch()).count();
    out += fmt::format(
        "# HELP stolon_sentinel_last_cluster_check_success_seconds Last time a cluster check "
        "wrote the cluster data (unix seconds)\n"
        "# TYPE stolon_sentinel_last_cluster_check_success_seconds gauge\n"
        "stolon_sentinel_last_cluster_check_success_seconds {:.3f}\n",
        secs);
  }
  return out;
}

int RunSentinel(SentinelConfig& config) {
  if (absl::Status s = FinalizeSentinelConfig(config); !s.ok()) {
    return Fatal(std::string(s.message()));
  }
  // Signals are taken by sigwait in this thread: block them before any thread starts (the
  // store client's included), so that every thread inherits the mask.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  auto store_config = store::StoreConfigFromFlags(config.common);
  if (!store_config.ok()) return Fatal(std::string(store_config.status().message()));
  auto kv = store::NewKvStore(*store_config);
  if (!kv.ok()) return Fatal(std::string(kv.status().message()));
  store::Store store(**kv, store_config->BasePath());

  RandomIdGenerator ids;
  const std::string uid = ids.NewUid();
  spdlog::info("sentinel uid{}", LogFields({{"uid", uid}}));
  if (config.initial_cluster_spec) {
    spdlog::info("initial cluster spec loaded: used only if the store has no cluster data{}",
                 LogFields({{"file", config.initial_cluster_spec_file}}));
  }

  // The election (its own thread), logging each change of leadership.
  store::ElectionOptions eo;
  eo.on_change = [uid](bool leader) {
    spdlog::info("{}{}", leader ? "sentinel leadership acquired" : "sentinel leadership lost",
                 LogFields({{"uid", uid}}));
  };
  std::unique_ptr<store::Election> election = store.NewElection(eo);
  election->RunForElection(uid);
  ElectionLeadership leadership(*election);

  std::mt19937_64 rng{std::random_device{}()};
  SentinelChecker checker(store, leadership, CheckerOptions{uid, config.initial_cluster_spec},
                          RealClock::Instance(), ids, rng);
  asio::io_context io;
  proxy::MetricsServer metrics(io, [&] {
    return RenderSentinelMetrics(config.common.cluster_name, election->IsLeader(),
                                 election->leadership_count(), checker.last_success());
  });
  if (!config.common.metrics_listen_address.empty()) {
    if (absl::Status s = metrics.Start(config.common.metrics_listen_address); !s.ok()) {
      election->Stop();
      return Fatal(std::string(s.message()));
    }
    spdlog::info("serving metrics{}", LogFields({{"address", config.common.metrics_listen_address},
                                                 {"port", std::to_string(metrics.port())}}));
  }
  CheckLoop loop(io, checker);
  loop.Start();
  // During a master change the new master is published to the proxies only once every proxy has
  // acknowledged the "no master" generation: check again as soon as a proxy info changes instead
  // of a sleepInterval later.
  std::optional<store::ChangeNotifier> proxies_notifier;
  proxies_notifier.emplace(**kv, store.ProxiesInfoDir(), [&](const auto&) {
    if (checker.awaiting_proxies()) loop.Wake();
  });
  // Two threads: a check blocks on the store (on its strand) while /metrics keeps answering.
  std::mutex done_mu;
  std::condition_variable done_cv;
  int running = 2;
  std::vector<std::thread> workers;
  for (int i = 0; i < 2; ++i) {
    workers.emplace_back([&] {
      io.run();
      std::lock_guard l(done_mu);
      --running;
      done_cv.notify_all();
    });
  }

  int sig = 0;
  sigwait(&sigs, &sig);
  spdlog::info("stopping stolon sentinel{}", LogFields({{"signal", strsignal(sig)}}));
  // Give up leadership first so that another sentinel takes over without waiting for the TTL.
  election->Stop();
  proxies_notifier.reset();
  loop.Stop();
  asio::post(io, [&] { metrics.Stop(); });
  bool finished;
  {
    std::unique_lock l(done_mu);
    // A check is bounded by a few store timeouts.
    finished = done_cv.wait_for(l, 4 * store_config->timeout + 5s, [&] { return running == 0; });
  }
  if (!finished) {
    spdlog::warn("a check is still running: exiting without waiting for it");
    spdlog::default_logger()->flush();
    std::_Exit(0);
  }
  for (auto& w : workers) w.join();
  spdlog::info("stolon sentinel stopped");
  return 0;
}

}  // namespace stolon::sentinel
