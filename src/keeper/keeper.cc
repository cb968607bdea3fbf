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
#include "common/code_pages.h"
#include "common/http_server.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/status.h"
#include "fmt/format.h"
#include "keeper/local_state.h"
#include "keeper/metrics.h"
#include "keeper/pg_instance.h"
#include "keeper/probe.h"
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

// Logs the store's reachability only when it changes.
class ReachabilityLog {
 public:
  explicit ReachabilityLog(std::string what) : what_(std::move(what)) {}
  void Note(const absl::Status& s) {
    bool ok = s.ok();
    if (last_ == ok) return;
    if (!ok) {
      spdlog::error("{}: {} (will retry, logging again only when this changes)", what_,
                    std::string(s.message()));
    } else if (last_.has_value()) {
      spdlog::info("{}: working again", what_);
    }
    last_ = ok;
  }

 private:
  std::string what_;
  std::optional<bool> last_;
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

// A problem that stops the program before or while it starts: one line "stolon-keeper: <problem>"
// on stderr (as for a bad flag), after whatever was logged so far.
int Fatal(const std::string& msg) {
  spdlog::default_logger()->flush();
  std::fprintf(stderr, "stolon-keeper: %s\n", msg.c_str());
  return 1;
}

}  // namespace

int RunKeeper(KeeperConfig& config) {
  if (::geteuid() == 0) return Fatal(kRootRefusal);
  if (absl::Status s = FinalizeConfig(config); !s.ok()) return Fatal(std::string(s.message()));
  if (absl::Status s = CreateDataDir(config.data_dir); !s.ok()) {
    return Fatal(std::string(s.message()));
  }
  // PostgreSQL's programs (initdb, pg_ctl, postgres) fail with "could not change directory to
  // ...: Permission denied" when started from a directory their user cannot enter, as after
  // `sudo -u postgres stolon-keeper` from /root: work from the data dir then.
  if (::access(".", R_OK | X_OK) != 0) {
    if (::chdir(config.data_dir.c_str()) != 0) {
      return Fatal(
          fmt::format("cannot enter the data dir {}: {}", config.data_dir, std::strerror(errno)));
    }
    spdlog::info(
        "the working directory is not accessible to this user: working from the data "
        "dir{}",
        LogFields({{"dataDir", config.data_dir}}));
  }
  std::optional<DataDirLock> lock;
  if (!config.disable_data_dir_locking) {
    auto l = DataDirLock::Acquire(config.data_dir);
    if (!l.ok()) return Fatal(std::string(l.status().message()));
    lock.emplace(std::move(*l));
    spdlog::info("exclusive lock on data dir taken");
  }
  auto keeper_state = ResolveKeeperUid(config.data_dir, config.uid, NewUid());
  if (!keeper_state.ok()) return Fatal(std::string(keeper_state.status().message()));
  const std::string uid = keeper_state->uid;
  const std::string boot_uuid = NewUuid();
  spdlog::info("keeper uid{}", LogFields({{"uid", uid}, {"bootUUID", boot_uuid}}));

  auto store_config = store::StoreConfigFromFlags(config.common);
  if (!store_config.ok()) return Fatal(std::string(store_config.status().message()));
  auto kv = store::NewKvStore(*store_config);
  if (!kv.ok()) return Fatal(std::string(kv.status().message()));
  DomainKeeperStore store(std::move(*kv), store_config->BasePath());

  // The request timeout is fixed for the life of the process (as stolon does): read it once.
  SharedState shared;
  Duration request_timeout = 10s;
  Duration fail_interval = 20s;
  if (auto cd = store.GetClusterData(); cd.ok() && cd->has_value()) {
    auto spec = (*cd)->cluster.spec.WithDefaults();
    if (spec.request_timeout) request_timeout = *spec.request_timeout;
    if (spec.fail_interval) fail_interval = *spec.fail_interval;
    if (spec.sleep_interval) shared.set_sleep_interval(*spec.sleep_interval);
  } else if (!cd.ok()) {
    spdlog::warn("cannot read the cluster data at start ({}): using the default request timeout",
                 std::string(cd.status().message()));
  }

  // /metrics and /health on their own thread: the loops below block on postgres and the store.
  MetricsRegistry registry;
  KeeperMetrics metrics(registry, config.common.cluster_name, shared);
  MetricsEndpoint endpoint;
  endpoint.Handle("/metrics", [&] { return MetricsResponse(registry); });
  endpoint.Handle("/health", [&] { return HealthResponse(KeeperHealth(shared.pass_report())); });
  const bool serve_metrics = !config.common.metrics_listen_address.empty();
  if (serve_metrics) {
    if (absl::Status s = endpoint.Start(config.common.metrics_listen_address); !s.ok()) {
      return Fatal(std::string(s.message()));
    }
    spdlog::info("serving /metrics and /health{}",
                 LogFields({{"address", config.common.metrics_listen_address},
                            {"port", std::to_string(endpoint.port())}}));
  }

  std::atomic<bool> stopping{false};
  postgresql::ManagerConfig mc = MakeManagerConfig(config, request_timeout, fail_interval);
  ManagerInstance sm_pg(mc, MakeRoles(config), &stopping);
  ManagerInstance probe_pg(mc, MakeRoles(config));

  // A postgres left running by a previous keeper is not ours to trust: stop it.
  if (absl::Status s = sm_pg.StopIfStarted(true); !s.ok()) {
    spdlog::error("failed to stop a running postgres instance: {}", std::string(s.message()));
  }

  FileLocalStateStore local_state(config.data_dir);
  StateMachine sm(config, *keeper_state, boot_uuid, store, sm_pg, shared, local_state,
                  RealClock::Instance());
  if (absl::Status s = sm.LoadDBState(); !s.ok()) return Fatal(std::string(s.message()));

  asio::io_context io;
  // Signals go through asio's handler (not a blocked mask, which the children we fork for
  // initdb, pg_ctl, pg_basebackup... would inherit). The handler only wakes this thread.
  std::mutex sig_mu;
  std::condition_variable sig_cv;
  int received = 0;
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const std::error_code& ec, int sig) {
    if (ec) return;
    std::lock_guard l(sig_mu);
    received = sig;
    sig_cv.notify_all();
  });
  // A pass woken by a db spec change (see cd_notifier below) is followed at once by a probe and an
  // info publish, so the sentinel sees the new role (a promotion) without waiting for their
  // intervals: pass -> probe -> info, each job waking the next. What follows such a pass often
  // shows a moment later (a standby told to follow a new master switches to its timeline once it
  // streams from it), so for kFastProbeFor after it the probe runs every kFastProbeInterval, and
  // any probe that sees the timeline, health, db or generation change publishes at once.
  constexpr auto kFastProbeFor = std::chrono::seconds(3);
  constexpr auto kFastProbeInterval = std::chrono::milliseconds(200);
  std::atomic<bool> woken_pass{false};
  std::atomic<bool> woken_probe{false};
  std::atomic<std::chrono::steady_clock::rep> fast_probe_until{0};
  PeriodicJob* probe_job_ptr = nullptr;
  PeriodicJob* info_job_ptr = nullptr;
  PeriodicJob sm_job(
      io,
      [&] {
        const bool woken = woken_pass.exchange(false);
        (void)sm.Pass();
        if (woken && probe_job_ptr != nullptr) {
          fast_probe_until =
              (std::chrono::steady_clock::now() + kFastProbeFor).time_since_epoch().count();
          woken_probe = true;
          probe_job_ptr->Cancel();
        }
      },
      [&] { return shared.sleep_interval(); }, stopping);
  PeriodicJob probe_job(
      io,
      [&] {
        const bool woken = woken_probe.exchange(false);
        if (!shared.binary_version()) {
          if (auto v = probe_pg.BinaryVersion(); v.ok()) shared.set_binary_version(*v);
        }
        const std::optional<cluster::PostgresState> before = shared.pg_state();
        cluster::PostgresState now = ProbePGState(probe_pg, shared.db_state(), config);
        const bool changed =
            !before || before->uid != now.uid || before->generation != now.generation ||
            before->healthy != now.healthy || before->timeline_id != now.timeline_id;
        shared.set_pg_state(std::move(now));
        // Wake the info publish first: the lag query below must not delay a woken chain.
        if ((woken || changed) && info_job_ptr != nullptr) info_job_ptr->Cancel();
        if (serve_metrics) {
          // Only a master answers (a standby's pg_current_wal_lsn() fails): empty otherwise.
          auto lag = probe_pg.GetStandbyReplicationLag();
          metrics.SetStandbyLag(lag.ok() ? std::move(*lag) : std::map<std::string, int64_t>{});
        }
      },
      [&]() -> Duration {
        if (std::chrono::steady_clock::now().time_since_epoch().count() < fast_probe_until.load()) {
          return kFastProbeInterval;
        }
        return shared.sleep_interval() / 2;
      },
      stopping);
  probe_job_ptr = &probe_job;
  ReachabilityLog info_log("cannot publish keeper info");
  PeriodicJob info_job(
      io,
      [&] {
        std::string cluster_uid = shared.cluster_uid();
        if (cluster_uid.empty()) return;  // nothing is published before the cluster is known
        cluster::KeeperInfo ki;
        ki.info_uid = NewUid();
        ki.uid = uid;
        ki.cluster_uid = cluster_uid;
        ki.boot_uuid = boot_uuid;
        if (auto v = shared.binary_version()) ki.postgres_binary_version = {v->maj, v->min};
        ki.postgres_state = shared.pg_state();
        ki.can_be_master = config.can_be_master;
        ki.can_be_synchronous_replica = config.can_be_synchronous_replica;
        info_log.Note(store.SetKeeperInfo(uid, ki, shared.sleep_interval()));
      },
      [&] { return shared.sleep_interval(); }, stopping);
  info_job_ptr = &info_job;
  // Start-up (dynamic linking, gRPC's plugin registration, the first passes) leaves code pages
  // mapped that the idle loops never run again: release them once the keeper settled, then every
  // 10 minutes (see common/code_pages.h; ~8 MB of the idle keeper's RSS).
  int code_calls = 0;
  PeriodicJob code_job(
      io,
      [&] {
        if (code_calls++ == 0) return;  // the first call comes at start
        auto r = ReleaseIdleCodePages();
        if (!r.ok()) {
          spdlog::debug("cannot release idle code pages: {}", std::string(r.status().message()));
          return;
        }
        spdlog::debug("released {} KiB of idle code pages from {} mappings", r->resident_kib,
                      r->mappings);
      },
      [&]() -> Duration { return code_calls <= 1 ? Duration(30s) : Duration(10min); }, stopping);
  sm_job.Start();
  probe_job.Start();
  info_job.Start();
  code_job.Start();
  // Wake the convergence pass as soon as the sentinel changes this keeper's db spec (a promotion,
  // a new master to follow) instead of at the next sleepInterval; the sentinel rewrites the
  // cluster data on every check, so other changes do not wake it.
  std::string wake_key;  // "<db uid>/<generation>" of this keeper's db in the last event seen
  std::optional<store::ChangeNotifier> cd_notifier;
  cd_notifier.emplace(store.kv(), store.ClusterDataKey(), [&](const auto& events) {
    const store::KvEvent& last = events.back();
    if (last.type != store::KvEvent::Type::kPut) return;
    auto cd = cluster::ParseClusterDataOrNull(last.kv.value);
    if (!cd.ok() || !cd->has_value()) return;
    std::string key;
    for (const auto& [db_uid, db] : (*cd)->dbs) {
      if (db.spec.keeper_uid == uid) key = fmt::format("{}/{}", db_uid, db.generation);
    }
    if (key == wake_key) return;
    wake_key = key;
    spdlog::debug("cluster data changed this keeper's db spec ({}): starting a pass now", key);
    woken_pass = true;
    sm_job.Cancel();
  });

  // One thread per job: the jobs block (postgres commands, store calls) and must not wait for
  // each other; a long resync must not stop the heartbeat.
  std::mutex done_mu;
  std::condition_variable done_cv;
  int running = 3;
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&] {
      io.run();
      std::lock_guard l(done_mu);
      --running;
      done_cv.notify_all();
    });
  }

  int sig = 0;
  {
    std::unique_lock l(sig_mu);
    sig_cv.wait(l, [&] { return received != 0; });
    sig = received;
  }
  spdlog::info("stopping stolon keeper{}", LogFields({{"signal", strsignal(sig)}}));
  metrics.SetShutdown(std::chrono::system_clock::now());
  stopping = true;
  cd_notifier.reset();
  sm_job.Cancel();
  probe_job.Cancel();
  info_job.Cancel();
  code_job.Cancel();

  // Stop postgres now, even while a pass is still running (a separate Manager: pg_ctl needs no
  // state of ours). Starts are refused from now on, and we stop again once the loops ended.
  ManagerInstance stopper(mc, MakeRoles(config));
  if (absl::Status s = stopper.StopIfStarted(true); !s.ok()) {
    spdlog::error("failed to stop postgres: {}", std::string(s.message()));
  }
  bool finished;
  {
    std::unique_lock l(done_mu);
    finished = done_cv.wait_for(l, 15s, [&] { return running == 0; });
  }
  if (!finished) {
    spdlog::warn("a keeper pass is still running: exiting without waiting for it");
    (void)stopper.StopIfStarted(true);
    spdlog::default_logger()->flush();
    std::_Exit(0);
  }
  for (auto& t : threads) t.join();
  (void)stopper.StopIfStarted(true);
  endpoint.Stop();
  spdlog::info("stolon keeper stopped");
  return 0;
}

}  // namespace stolon::keeper
