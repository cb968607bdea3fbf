#include "sentinel/daemon.h"

#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <atomic>
#include <chrono>
#include <condition_variable>
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
#include "common/status.h"
#include "fmt/format.h"
#include "sentinel/daemon_check.h"
#include "spdlog/spdlog.h"
#include "store/change_notifier.h"
#include "store/store.h"
#include "store/store_config.h"

namespace stolon::sentinel {
namespace {

using namespace std::chrono_literals;

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

// Everything the sentinel runs, in the order it is built; destroyed in reverse.
struct SentinelDaemon::Parts {
  Parts(SentinelConfig c, Env& e, store::StoreConfig sc, std::unique_ptr<store::KvStore> k)
      : config(std::move(c)),
        env(e),
        store_config(std::move(sc)),
        kv(std::move(k)),
        store(*kv, store_config.BasePath()) {}

  SentinelConfig config;
  Env& env;
  store::StoreConfig store_config;
  std::unique_ptr<store::KvStore> kv;
  store::Store store;
  std::string uid;
  std::unique_ptr<store::Election> election;
  std::optional<ElectionLeadership> leadership;
  std::mt19937_64 rng{std::random_device{}()};
  std::optional<SentinelChecker> checker;
  asio::io_context io;
  MetricsEndpoint metrics;
  std::optional<CheckLoop> loop;
  std::optional<store::ChangeNotifier> proxies_notifier;
  std::optional<store::ChangeNotifier> keepers_notifier;
  std::optional<IoThreads> check_thread;
};

absl::StatusOr<std::unique_ptr<Daemon>> SentinelDaemon::Create(SentinelConfig config, Env& env) {
  RETURN_IF_ERROR(FinalizeSentinelConfig(config));
  ASSIGN_OR_RETURN(store::StoreConfig store_config, store::StoreConfigFromFlags(config.common));
  ASSIGN_OR_RETURN(std::unique_ptr<store::KvStore> kv, env.open_store(store_config));
  return std::unique_ptr<Daemon>(new SentinelDaemon(
      std::make_unique<Parts>(std::move(config), env, std::move(store_config), std::move(kv))));
}

SentinelDaemon::SentinelDaemon(std::unique_ptr<Parts> parts) : p_(std::move(parts)) {}
SentinelDaemon::~SentinelDaemon() = default;

absl::Status SentinelDaemon::Start() {
  Parts& p = *p_;
  p.uid = p.env.ids->NewUid();
  spdlog::info("sentinel uid{}", LogFields({{"uid", p.uid}}));
  if (p.config.initial_cluster_spec) {
    spdlog::info("initial cluster spec loaded: used only if the store has no cluster data{}",
                 LogFields({{"file", p.config.initial_cluster_spec_file}}));
  }
  p.election = StartElection(p.store, p.uid);
  p.leadership.emplace(*p.election);
  p.checker.emplace(p.store, *p.leadership, CheckerOptions{p.uid, p.config.initial_cluster_spec},
                    *p.env.clock, *p.env.ids, p.rng);
  // /metrics and /health on their own thread: a check blocks on the store meanwhile.
  MetricsRegistry& registry = *p.env.metrics;
  RegisterSentinelMetrics(registry, p.config.common.cluster_name, *p.leadership, *p.checker);
  p.metrics.Handle("/metrics", [&registry] { return MetricsResponse(registry); });
  p.metrics.Handle("/health", [&p] { return HealthResponse(SentinelHealth(*p.checker)); });
  if (absl::Status s = p.metrics.StartIfConfigured(p.config.common.metrics_listen_address);
      !s.ok()) {
    p.election->Stop();
    return s;
  }
  p.loop.emplace(p.io, *p.checker);
  p.loop->Start();
  WakeOnInfoChanges();
  // One thread for the checks: /metrics and /health are served by MetricsEndpoint's own thread.
  p.check_thread.emplace(p.io, 1);
  return absl::OkStatus();
}

void SentinelDaemon::WakeOnInfoChanges() {
  Parts& p = *p_;
  // During a master change the new master is published to the proxies only once every proxy has
  // acknowledged the "no master" generation: check again as soon as a proxy info changes instead
  // of a sleepInterval later.
  p.proxies_notifier.emplace(*p.kv, p.store.ProxiesInfoDir(), [&p](const auto&) {
    if (p.checker->awaiting_proxies()) p.loop->Wake();
  });
  // After a failover the new master's synchronous standby set moves in steps (old master, then
  // the fake standby or old + new, then the new ones), each waiting for a keeper to report; and
  // the new master is published to the proxies only once its keeper reported the promotion done.
  // While either waits, check again as soon as a keeper info changes.
  p.keepers_notifier.emplace(*p.kv, p.store.KeepersInfoDir(), [&p](const auto&) {
    if (p.checker->sync_standbys_settling() || p.checker->awaiting_proxies()) p.loop->Wake();
  });
}

int SentinelDaemon::Stop() {
  Parts& p = *p_;
  // Give up leadership first so that another sentinel takes over without waiting for the TTL.
  p.election->Stop();
  p.proxies_notifier.reset();
  p.keepers_notifier.reset();
  p.loop->Stop();
  p.metrics.Stop();
  // A check is bounded by a few store timeouts.
  if (!p.check_thread->Join(
          std::chrono::duration_cast<std::chrono::milliseconds>(4 * p.store_config.timeout + 5s))) {
    spdlog::warn("a check is still running: exiting without waiting for it");
    spdlog::default_logger()->flush();
    std::_Exit(0);
  }
  return 0;
}

}  // namespace stolon::sentinel
