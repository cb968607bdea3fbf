#include "sentinel/daemon.h"

#include <pthread.h>
#include <signal.h>

#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/http_server.h"
#include "common/ids.h"
#include "common/io_threads.h"
#include "common/log.h"
#include "fmt/format.h"
#include "sentinel/daemon_check.h"
#include "spdlog/spdlog.h"
#include "store/change_notifier.h"
#include "store/store.h"
#include "store/store_config.h"

namespace stolon::sentinel {
namespace {

using namespace std::chrono_literals;

// A problem that stops the program before or while it starts: one line "stolon-sentinel: <problem>"
// on stderr (as for a bad flag), after whatever was logged so far.
int Fatal(const std::string& msg) {
  spdlog::default_logger()->flush();
  std::fprintf(stderr, "stolon-sentinel: %s\n", msg.c_str());
  return 1;
}

// The check loop: Check(), then sleep the checker's next delay (sleepInterval, or less when a
// keeper is about to pass failInterval), on one strand, until stopped. Checks never overlap
// (style rule 15); Stop() and Wake() cut the sleep short from any thread.
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
      timer_.expires_after(checker_.next_check_delay());
      co_await timer_.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    }
  }

  asio::strand<asio::io_context::executor_type> strand_;
  asio::steady_timer timer_;
  SentinelChecker& checker_;
  std::atomic<bool> stopping_{false};
};

}  // namespace

void RegisterSentinelMetrics(MetricsRegistry& registry, const std::string& cluster_name,
                             const Leadership& leadership, const SentinelChecker& checker) {
  AddClusterIdentifier(registry, cluster_name, "sentinel");
  MetricFamily* is_leader = &registry.Gauge("stolon_sentinel_is_leader",
                                            "Set to 1 if the sentinel is currently a leader");
  MetricFamily* leader_count = &registry.Gauge(
      "stolon_sentinel_leader_count", "Number of times this sentinel has been elected as leader");
  MetricFamily* last_success = &registry.Gauge(
      "stolon_sentinel_last_cluster_check_success_seconds",
      "Last time we successfully performed a cluster check as seconds since unix epoch");
  MetricFamily* checks = &registry.Counter("stolon_sentinel_checks_total", "Cluster checks run");
  MetricFamily* failed = &registry.Counter(
      "stolon_sentinel_check_failures_total",
      "Cluster checks that failed (store error, unusable cluster data, refused computation, "
      "lost or failed write)");
  MetricFamily* duration = &registry.Gauge("stolon_sentinel_last_check_duration_seconds",
                                           "How long the last cluster check took");
  MetricFamily* failovers = &registry.Counter(
      "stolon_sentinel_failovers_total",
      "Cluster data writes by this sentinel that replaced the master with another db");
  MetricFamily* keepers_healthy = &registry.Gauge("stolon_sentinel_keepers_healthy",
                                                  "Keepers healthy in the last cluster data seen");
  MetricFamily* keepers_total =
      &registry.Gauge("stolon_sentinel_keepers", "Keepers in the last cluster data seen");
  const Leadership* lead = &leadership;
  const SentinelChecker* check = &checker;
  registry.OnCollect([=] {
    is_leader->Set(lead->IsLeader() ? 1 : 0);
    leader_count->Set(static_cast<double>(lead->LeadershipCount()));
    if (auto t = check->last_success()) {
      last_success->Set(std::chrono::duration<double>(t->time_since_epoch()).count());
    }
    const CheckerStats s = check->stats();
    checks->Set(static_cast<double>(s.checks));
    failed->Set(static_cast<double>(s.failed_checks));
    duration->Set(std::chrono::duration<double>(s.last_check_duration).count());
    failovers->Set(static_cast<double>(s.failovers));
    keepers_healthy->Set(static_cast<double>(s.keepers_healthy));
    keepers_total->Set(static_cast<double>(s.keepers_total));
  });
}

absl::Status SentinelHealth(const SentinelChecker& checker) {
  const CheckerStats s = checker.stats();
  if (!s.last_outcome) return absl::UnavailableError("starting: no cluster check completed yet");
  if (IsFailedCheck(*s.last_outcome)) {
    return absl::UnavailableError(fmt::format("the last cluster check failed ({}): {}",
                                              CheckOutcomeName(*s.last_outcome), s.last_error));
  }
  return absl::OkStatus();
}

namespace {

// Blocks SIGINT and SIGTERM in the calling thread, before any other thread starts (the store
// client's included) so that every thread inherits the mask; WaitForStopSignal then takes them.
sigset_t BlockStopSignals() {
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  return sigs;
}

int WaitForStopSignal(const sigset_t& sigs) {
  int sig = 0;
  sigwait(&sigs, &sig);
  return sig;
}

// The election on its own thread, logging each change of leadership. The session TTL follows
// the cluster's failInterval as stored at start (stolon's 20s until a cluster data exists).
std::unique_ptr<store::Election> StartElection(store::Store& store, const std::string& uid) {
  std::optional<Duration> fail_interval;
  if (auto cd = store.GetClusterData(); cd.ok() && cd->has_value()) {
    fail_interval = (*cd)->value.cluster.spec.WithDefaults().fail_interval;
  }
  store::ElectionOptions eo;
  eo.session_ttl = LeaderSessionTtl(fail_interval);
  spdlog::info("running for sentinel leader{}",
               LogFields({{"sessionTTL", FormatGoDuration(eo.session_ttl)}}));
  eo.on_change = [uid](bool leader) {
    spdlog::info("{}{}", leader ? "sentinel leadership acquired" : "sentinel leadership lost",
                 LogFields({{"uid", uid}}));
  };
  std::unique_ptr<store::Election> election = store.NewElection(eo);
  election->RunForElection(uid);
  return election;
}

}  // namespace

int RunSentinel(SentinelConfig& config) {
  if (absl::Status s = FinalizeSentinelConfig(config); !s.ok()) {
    return Fatal(std::string(s.message()));
  }
  const sigset_t sigs = BlockStopSignals();
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
  std::unique_ptr<store::Election> election = StartElection(store, uid);
  ElectionLeadership leadership(*election);

  std::mt19937_64 rng{std::random_device{}()};
  SentinelChecker checker(store, leadership, CheckerOptions{uid, config.initial_cluster_spec},
                          RealClock::Instance(), ids, rng);
  asio::io_context io;
  // /metrics and /health on their own thread: a check blocks on the store meanwhile.
  MetricsRegistry registry;
  RegisterSentinelMetrics(registry, config.common.cluster_name, leadership, checker);
  MetricsEndpoint metrics;
  metrics.Handle("/metrics", [&] { return MetricsResponse(registry); });
  metrics.Handle("/health", [&] { return HealthResponse(SentinelHealth(checker)); });
  if (absl::Status s = metrics.StartIfConfigured(config.common.metrics_listen_address); !s.ok()) {
    election->Stop();
    return Fatal(std::string(s.message()));
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
  // After a failover the new master's synchronous standby set moves in steps (old master, then
  // the fake standby or old + new, then the new ones), each waiting for a keeper to report; and
  // the new master is published to the proxies only once its keeper reported the promotion done.
  // While either waits, check again as soon as a keeper info changes.
  std::optional<store::ChangeNotifier> keepers_notifier;
  keepers_notifier.emplace(**kv, store.KeepersInfoDir(), [&](const auto&) {
    if (checker.sync_standbys_settling() || checker.awaiting_proxies()) loop.Wake();
  });
  // One thread for the checks: /metrics and /health are served by MetricsEndpoint's own thread.
  IoThreads check_thread(io, 1);

  const int sig = WaitForStopSignal(sigs);
  spdlog::info("stopping stolon sentinel{}", LogFields({{"signal", strsignal(sig)}}));
  // Give up leadership first so that another sentinel takes over without waiting for the TTL.
  election->Stop();
  proxies_notifier.reset();
  keepers_notifier.reset();
  loop.Stop();
  metrics.Stop();
  // A check is bounded by a few store timeouts.
  if (!check_thread.Join(
          std::chrono::duration_cast<std::chrono::milliseconds>(4 * store_config->timeout + 5s))) {
    spdlog::warn("a check is still running: exiting without waiting for it");
    spdlog::default_logger()->flush();
    std::_Exit(0);
  }
  spdlog::info("stolon sentinel stopped");
  return 0;
}

}  // namespace stolon::sentinel
