#include "keeper/keeper.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "cluster/cluster.h"
#include "cluster/json.h"
#include "common/change_log.h"
#include "common/code_pages.h"
#include "common/http_server.h"
#include "common/ids.h"
#include "common/io_threads.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/status.h"
#include "fmt/format.h"
#include "keeper/local_state.h"
#include "keeper/metrics.h"
#include "keeper/pg_instance.h"
#include "keeper/probe.h"
#include "keeper/report.h"
#include "keeper/state_machine.h"
#include "keeper/store_adapter.h"
#include "spdlog/spdlog.h"
#include "store/change_notifier.h"
#include "store/store.h"
#include "store/store_config.h"

namespace stolon::keeper {
namespace {

using namespace std::chrono_literals;

// One periodic job: run `work` (blocking), then sleep `interval()`, on its own strand, until the
// keeper stops. The timer is reachable from outside so a shutdown can cut the sleep short.
class PeriodicJob {
 public:
  PeriodicJob(asio::io_context& io, std::function<void()> work, std::function<Duration()> interval,
              const std::atomic<bool>& stopping)
      : strand_(asio::make_strand(io)),
        timer_(strand_),
        work_(std::move(work)),
        interval_(std::move(interval)),
        stopping_(stopping) {}

  void Start() { asio::co_spawn(strand_, Run(), asio::detached); }
  // Cancels the pending sleep (from any thread).
  void Cancel() {
    asio::post(strand_, [this] { timer_.cancel(); });
  }

 private:
  asio::awaitable<void> Run() {
    while (!stopping_.load()) {
      work_();
      if (stopping_.load()) break;
      timer_.expires_after(interval_());
      co_await timer_.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    }
  }

  asio::strand<asio::io_context::executor_type> strand_;
  asio::steady_timer timer_;
  std::function<void()> work_;
  std::function<Duration()> interval_;
  const std::atomic<bool>& stopping_;
};

// How long a stop of postgres may take before it escalates (see postgresql::StopPlan): a clean
// shutdown gets failInterval (at least 10s: a shutdown checkpoint of a busy instance), after which
// the sentinel would treat a silent keeper as failed anyway.
postgresql::StopTimeouts MakeStopTimeouts(Duration fail_interval) {
  postgresql::StopTimeouts t;
  t.clean = std::max(std::chrono::milliseconds(10000),
                     std::chrono::duration_cast<std::chrono::milliseconds>(fail_interval));
  t.immediate = std::chrono::milliseconds(10000);
  t.kill = std::chrono::milliseconds(5000);
  return t;
}

postgresql::ManagerConfig MakeManagerConfig(const KeeperConfig& c, Duration request_timeout,
                                            Duration fail_interval) {
  postgresql::ManagerConfig mc;
  mc.bin_dir = c.pg_bin_path;
  mc.data_dir = c.PgDataDir();
  mc.listen_address = c.pg_listen_address;
  mc.port = c.pg_port;
  mc.socket_dir = "/tmp";
  mc.su_user = c.pg_su_username;
  mc.su_password = c.pg_su_password;
  mc.su_auth_method = c.pg_su_auth_method;
  mc.repl_user = c.pg_repl_username;
  mc.repl_password = c.pg_repl_password;
  mc.repl_auth_method = c.pg_repl_auth_method;
  mc.request_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(request_timeout);
  mc.stop_timeouts = MakeStopTimeouts(fail_interval);
  return mc;
}

postgresql::Roles MakeRoles(const KeeperConfig& c) {
  return postgresql::Roles{c.pg_su_username,   c.pg_su_password,   c.pg_su_auth_method,
                           c.pg_repl_username, c.pg_repl_password, c.pg_repl_auth_method};
}

// The checks before anything runs, then the data dir: created if missing, entered when the
// working directory is closed to this user, and locked unless locking is disabled.
absl::Status PrepareDataDir(KeeperConfig& config, std::optional<DataDirLock>& lock) {
  if (::geteuid() == 0) return absl::FailedPreconditionError(kRootRefusal);
  RETURN_IF_ERROR(FinalizeConfig(config));
  RETURN_IF_ERROR(CreateDataDir(config.data_dir));
  // PostgreSQL's programs (initdb, pg_ctl, postgres) fail with "could not change directory to
  // ...: Permission denied" when started from a directory their user cannot enter, as after
  // `sudo -u postgres stolon-keeper` from /root: work from the data dir then.
  if (::access(".", R_OK | X_OK) != 0) {
    if (::chdir(config.data_dir.c_str()) != 0) {
      return absl::FailedPreconditionError(
          fmt::format("cannot enter the data dir {}: {}", config.data_dir, std::strerror(errno)));
    }
    spdlog::info(
        "the working directory is not accessible to this user: working from the data "
        "dir{}",
        LogFields({{"dataDir", config.data_dir}}));
  }
  if (!config.disable_data_dir_locking) {
    auto l = DataDirLock::Acquire(config.data_dir);
    if (!l.ok()) return l.status();
    lock.emplace(std::move(*l));
    spdlog::info("exclusive lock on data dir taken");
  }
  return absl::OkStatus();
}

// The request timeout and failInterval are fixed for the life of the process (as stolon does):
// read once from the cluster data at start, with stolon's defaults when there is none yet.
struct StartSettings {
  Duration request_timeout = cluster::kDefaultRequestTimeout;
  Duration fail_interval = cluster::kDefaultFailInterval;
};

StartSettings ReadStartSettings(DomainKeeperStore& store, SharedState& shared) {
  StartSettings st;
  if (auto cd = store.GetClusterData(); cd.ok() && cd->has_value()) {
    auto spec = (*cd)->cluster.spec.WithDefaults();
    if (spec.request_timeout) st.request_timeout = *spec.request_timeout;
    if (spec.fail_interval) st.fail_interval = *spec.fail_interval;
    if (spec.sleep_interval) shared.set_sleep_interval(*spec.sleep_interval);
  } else if (!cd.ok()) {
    spdlog::warn("cannot read the cluster data at start ({}): using the default request timeout",
                 std::string(cd.status().message()));
  }
  return st;
}

// The keeper's periodic jobs (convergence pass, postgres probe, info publish, release of idle
// code pages) and what wakes them early.
//
// A pass woken by a db spec change (OnClusterDataEvents) is followed at once by a probe and an
// info publish, so the sentinel sees the new role (a promotion) without waiting for their
// intervals: pass -> probe -> info, each job waking the next. What follows such a pass often shows
// a moment later (a standby told to follow a new master switches to its timeline once it streams
// from it), so for kFastProbeFor after it the probe runs every kFastProbeInterval, and any probe
// that sees the timeline, health, db or generation change publishes at once.
class KeeperJobs {
 public:
  struct Parts {
    const KeeperConfig& config;
    KeeperIdentity id;
    StateMachine& sm;
    ManagerInstance& probe_pg;
    DomainKeeperStore& store;
    SharedState& shared;
    KeeperMetrics& metrics;
    bool serve_metrics;
    const Clock& clock;
    IdGenerator& ids;
  };
  KeeperJobs(asio::io_context& io, Parts parts, const std::atomic<bool>& stopping)
      : p_(std::move(parts)),
        sm_job_(
            io, [this] { Pass(); }, [this] { return p_.shared.sleep_interval(); }, stopping),
        probe_job_(
            io, [this] { Probe(); }, [this] { return ProbeInterval(); }, stopping),
        info_job_(
            io, [this] { PublishInfo(); }, [this] { return p_.shared.sleep_interval(); }, stopping),
        code_job_(
            io, [this] { ReleaseCode(); }, [this] { return CodeInterval(); }, stopping) {}

  void Start() {
    sm_job_.Start();
    probe_job_.Start();
    info_job_.Start();
    code_job_.Start();
    cd_notifier_.emplace(p_.store.kv(), p_.store.ClusterDataKey(),
                         [this](const auto& events) { OnClusterDataEvents(events); });
  }
  // No more wake-ups; every pending sleep is cut short (the jobs see `stopping` and end).
  void Stop() {
    cd_notifier_.reset();
    sm_job_.Cancel();
    probe_job_.Cancel();
    info_job_.Cancel();
    code_job_.Cancel();
  }

 private:
  static constexpr auto kFastProbeFor = std::chrono::seconds(3);
  static constexpr auto kFastProbeInterval = std::chrono::milliseconds(200);

  void Pass() {
    const bool woken = woken_pass_.exchange(false);
    (void)p_.sm.Pass();
    if (woken) {
      fast_probe_until_ = (p_.clock.Now() + kFastProbeFor).time_since_epoch().count();
      woken_probe_ = true;
      probe_job_.Cancel();
    }
  }

  void Probe() {
    const bool woken = woken_probe_.exchange(false);
    if (!p_.shared.binary_version()) {
      if (auto v = p_.probe_pg.BinaryVersion(); v.ok()) p_.shared.set_binary_version(*v);
    }
    const std::optional<cluster::PostgresState> before = p_.shared.pg_state();
    cluster::PostgresState now = ProbePGState(p_.probe_pg, p_.shared.db_state(), p_.config);
    const bool changed = PgStateChanged(before, now);
    p_.shared.set_pg_state(std::move(now));
    // Wake the info publish first: the lag query below must not delay a woken chain.
    if (woken || changed) info_job_.Cancel();
    if (p_.serve_metrics) {
      // Only a master answers (a standby's pg_current_wal_lsn() fails): empty otherwise.
      auto lag = p_.probe_pg.GetStandbyReplicationLag();
      p_.metrics.SetStandbyLag(lag.ok() ? std::move(*lag) : std::map<std::string, int64_t>{});
    }
  }

  Duration ProbeInterval() const {
    if (p_.clock.Now().time_since_epoch().count() < fast_probe_until_.load()) {
      return kFastProbeInterval;
    }
    return p_.shared.sleep_interval() / 2;
  }

  void PublishInfo() {
    auto ki = MakeKeeperInfo(p_.id, p_.ids.NewUid(), p_.shared.cluster_uid(),
                             p_.shared.binary_version(), p_.shared.pg_state());
    if (!ki) return;  // nothing is published before the cluster is known
    info_log_.Note(p_.store.SetKeeperInfo(p_.id.uid, *ki, p_.shared.sleep_interval()));
  }

  // Start-up (dynamic linking, gRPC's plugin registration, the first passes) leaves code pages
  // mapped that the idle loops never run again: release them once the keeper settled, then every
  // 10 minutes (see common/code_pages.h; ~8 MB of the idle keeper's RSS).
  void ReleaseCode() {
    if (code_calls_++ == 0) return;  // the first call comes at start
    auto r = ReleaseIdleCodePages();
    if (!r.ok()) {
      spdlog::debug("cannot release idle code pages: {}", std::string(r.status().message()));
      return;
    }
    spdlog::debug("released {} KiB of idle code pages from {} mappings", r->resident_kib,
                  r->mappings);
  }
  Duration CodeInterval() const { return code_calls_ <= 1 ? Duration(30s) : Duration(10min); }

  // Wakes the convergence pass as soon as the sentinel changes this keeper's db spec (a
  // promotion, a new master to follow) instead of at the next sleepInterval; the sentinel
  // rewrites the cluster data on every check, so other changes do not wake it.
  void OnClusterDataEvents(const std::vector<store::KvEvent>& events) {
    const store::KvEvent& last = events.back();
    if (last.type != store::KvEvent::Type::kPut) return;
    auto cd = cluster::ParseClusterDataOrNull(last.kv.value);
    if (!cd.ok() || !cd->has_value()) return;
    std::string key = DbWakeKey(**cd, p_.id.uid);
    if (key == wake_key_) return;
    wake_key_ = key;
    spdlog::debug("cluster data changed this keeper's db spec ({}): starting a pass now", key);
    woken_pass_ = true;
    sm_job_.Cancel();
  }

  Parts p_;
  std::atomic<bool> woken_pass_{false};
  std::atomic<bool> woken_probe_{false};
  std::atomic<SteadyTime::rep> fast_probe_until_{0};
  std::atomic<int> code_calls_{0};
  FailureLog info_log_{
      "cannot publish keeper info: {} (will retry, logging again only when this changes)",
      "still cannot publish keeper info: {}", "cannot publish keeper info: working again"};
  std::string wake_key_;  // DbWakeKey of the last cluster data event seen
  PeriodicJob sm_job_;
  PeriodicJob probe_job_;
  PeriodicJob info_job_;
  PeriodicJob code_job_;
  std::optional<store::ChangeNotifier> cd_notifier_;
};

}  // namespace

// Everything the keeper runs, in the order it is built; destroyed in reverse.
struct KeeperDaemon::Parts {
  Parts(KeeperConfig c, Env& e, std::optional<DataDirLock> l, KeeperLocalState ks,
        store::StoreConfig sc, std::unique_ptr<store::KvStore> kv)
      : config(std::move(c)),
        env(e),
        lock(std::move(l)),
        keeper_state(std::move(ks)),
        store_config(std::move(sc)),
        store(std::move(kv), store_config.BasePath()),
        local_state(config.data_dir) {}

  KeeperConfig config;
  Env& env;
  std::optional<DataDirLock> lock;
  KeeperLocalState keeper_state;
  std::string boot_uuid;
  store::StoreConfig store_config;
  DomainKeeperStore store;
  SharedState shared;
  std::optional<KeeperMetrics> metrics;
  MetricsEndpoint endpoint;
  std::atomic<bool> stopping{false};
  std::optional<postgresql::ManagerConfig> manager_config;
  std::optional<ManagerInstance> sm_pg;
  std::optional<ManagerInstance> probe_pg;
  FileLocalStateStore local_state;
  std::optional<StateMachine> sm;
  asio::io_context io;
  std::optional<KeeperJobs> jobs;
  std::optional<IoThreads> threads;
};

absl::StatusOr<std::unique_ptr<Daemon>> KeeperDaemon::Create(KeeperConfig config, Env& env) {
  std::optional<DataDirLock> lock;
  RETURN_IF_ERROR(PrepareDataDir(config, lock));
  ASSIGN_OR_RETURN(KeeperLocalState keeper_state,
                   ResolveKeeperUid(config.data_dir, config.uid, env.ids->NewUid()));
  ASSIGN_OR_RETURN(store::StoreConfig store_config, store::StoreConfigFromFlags(config.common));
  ASSIGN_OR_RETURN(std::unique_ptr<store::KvStore> kv, env.open_store(store_config));
  return std::unique_ptr<Daemon>(new KeeperDaemon(
      std::make_unique<Parts>(std::move(config), env, std::move(lock), std::move(keeper_state),
                              std::move(store_config), std::move(kv))));
}

KeeperDaemon::KeeperDaemon(std::unique_ptr<Parts> parts) : p_(std::move(parts)) {}
KeeperDaemon::~KeeperDaemon() = default;

absl::Status KeeperDaemon::Start() {
  Parts& p = *p_;
  p.boot_uuid = p.env.ids->NewUuid();
  spdlog::info("keeper uid{}", LogFields({{"uid", p.keeper_state.uid}, {"bootUUID", p.boot_uuid}}));
  const StartSettings start = ReadStartSettings(p.store, p.shared);
  RETURN_IF_ERROR(StartEndpoint());
  p.manager_config = MakeManagerConfig(p.config, start.request_timeout, start.fail_interval);
  p.sm_pg.emplace(*p.manager_config, MakeRoles(p.config), &p.stopping);
  p.probe_pg.emplace(*p.manager_config, MakeRoles(p.config));
  // A postgres left running by a previous keeper is not ours to trust: stop it.
  if (absl::Status s = p.sm_pg->StopIfStarted(true); !s.ok()) {
    spdlog::error("failed to stop a running postgres instance: {}", std::string(s.message()));
  }
  p.sm.emplace(p.config, p.keeper_state, p.boot_uuid, p.store, *p.sm_pg, p.shared, p.local_state,
               *p.env.clock);
  if (absl::Status s = p.sm->LoadDBState(); !s.ok()) {
    p.endpoint.Stop();
    return s;
  }
  const KeeperIdentity id{p.keeper_state.uid, p.boot_uuid, p.config.can_be_master,
                          p.config.can_be_synchronous_replica};
  p.jobs.emplace(
      p.io,
      KeeperJobs::Parts{p.config, id, *p.sm, *p.probe_pg, p.store, p.shared, *p.metrics,
                        !p.config.common.metrics_listen_address.empty(), *p.env.clock, *p.env.ids},
      p.stopping);
  p.jobs->Start();
  // One thread per job: the jobs block (postgres commands, store calls) and must not wait for
  // each other; a long resync must not stop the heartbeat.
  p.threads.emplace(p.io, 3);
  return absl::OkStatus();
}

absl::Status KeeperDaemon::StartEndpoint() {
  Parts& p = *p_;
  // /metrics and /health on their own thread: the jobs block on postgres and the store.
  MetricsRegistry& registry = *p.env.metrics;
  p.metrics.emplace(registry, p.config.common.cluster_name, p.shared);
  p.endpoint.Handle("/metrics", [&registry] { return MetricsResponse(registry); });
  p.endpoint.Handle("/health",
                    [&p] { return HealthResponse(KeeperHealth(p.shared.pass_report())); });
  return p.endpoint.StartIfConfigured(p.config.common.metrics_listen_address);
}

int KeeperDaemon::Stop() {
  Parts& p = *p_;
  p.metrics->SetShutdown(p.env.clock->WallNow());
  p.stopping = true;
  p.jobs->Stop();
  // Stop postgres now, even while a pass is still running (a separate Manager: pg_ctl needs no
  // state of ours). Starts are refused from now on, and we stop again once the jobs ended.
  ManagerInstance stopper(*p.manager_config, MakeRoles(p.config));
  if (absl::Status s = stopper.StopIfStarted(true); !s.ok()) {
    spdlog::error("failed to stop postgres: {}", std::string(s.message()));
  }
  if (!p.threads->Join(15s)) {
    spdlog::warn("a keeper pass is still running: exiting without waiting for it");
    (void)stopper.StopIfStarted(true);
    spdlog::default_logger()->flush();
    std::_Exit(0);
  }
  (void)stopper.StopIfStarted(true);
  p.endpoint.Stop();
  return 0;
}

}  // namespace stolon::keeper
