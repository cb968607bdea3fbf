#include "sentinel/daemon_check.h"

#include <algorithm>
#include <chrono>

#include "common/log.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"

namespace stolon::sentinel {

using namespace std::chrono_literals;

namespace {

std::string Msg(const absl::Status& s) { return std::string(s.message()); }

std::string Secs(Duration d) {
  return FormatGoDuration(std::chrono::duration_cast<std::chrono::milliseconds>(d));
}

}  // namespace

std::chrono::seconds LeaderSessionTtl(std::optional<Duration> fail_interval) {
  constexpr std::chrono::seconds kMin{5};
  constexpr std::chrono::seconds kMax{20};
  if (!fail_interval) return kMax;
  auto half = std::chrono::duration_cast<std::chrono::seconds>(*fail_interval / 2);
  return std::clamp(half, kMin, kMax);
}

const char* CheckOutcomeName(CheckOutcome o) {
  switch (o) {
    case CheckOutcome::kStoreError:
      return "store-error";
    case CheckOutcome::kInvalidClusterData:
      return "invalid-cluster-data";
    case CheckOutcome::kWaitingForClusterData:
      return "waiting-for-cluster-data";
    case CheckOutcome::kCreatedClusterData:
      return "created-cluster-data";
    case CheckOutcome::kCreateLost:
      return "create-lost";
    case CheckOutcome::kNotLeader:
      return "not-leader";
    case CheckOutcome::kComputeFailed:
      return "compute-failed";
    case CheckOutcome::kUpdated:
      return "updated";
    case CheckOutcome::kPutConflict:
      return "put-conflict";
    case CheckOutcome::kPutFailed:
      return "put-failed";
  }
  return "unknown";
}

bool IsFailedCheck(CheckOutcome o) {
  switch (o) {
    case CheckOutcome::kStoreError:
    case CheckOutcome::kInvalidClusterData:
    case CheckOutcome::kComputeFailed:
    case CheckOutcome::kPutConflict:
    case CheckOutcome::kPutFailed:
      return true;
    case CheckOutcome::kWaitingForClusterData:
    case CheckOutcome::kCreatedClusterData:
    case CheckOutcome::kCreateLost:
    case CheckOutcome::kNotLeader:
    case CheckOutcome::kUpdated:
      return false;
  }
  return true;
}

SentinelChecker::SentinelChecker(store::Store& store, const Leadership& leadership,
                                 CheckerOptions options, const Clock& clock, IdGenerator& ids,
                                 std::mt19937_64& rng)
    : store_(store),
      leadership_(leadership),
      options_(std::move(options)),
      clock_(clock),
      ids_(ids),
      rng_(rng),
      sleep_interval_(cluster::kDefaultSleepInterval),
      request_timeout_(cluster::kDefaultRequestTimeout) {}

std::optional<WallTime> SentinelChecker::last_success() const {
  const int64_t ns = last_success_ns_.load();
  if (ns == 0) return std::nullopt;
  return WallTime(std::chrono::duration_cast<WallTime::duration>(std::chrono::nanoseconds(ns)));
}

CheckerStats SentinelChecker::stats() const {
  std::lock_guard l(stats_mu_);
  return stats_;
}

void SentinelChecker::NoteKeepers(const cluster::ClusterData& cd) {
  uint64_t healthy = 0;
  for (const auto& [uid, k] : cd.keepers) healthy += k.status.healthy ? 1 : 0;
  std::lock_guard l(stats_mu_);
  stats_.keepers_total = cd.keepers.size();
  stats_.keepers_healthy = healthy;
}

CheckOutcome SentinelChecker::StoreProblem(const std::string& step, const absl::Status& s) {
  NoteError(fmt::format("{}: {}", step, Msg(s)));
  if (store_problem_ != step) {
    spdlog::error("{}: {} (retrying every sleepInterval; logged again only when this changes)",
                  step, Msg(s));
    store_problem_ = step;
  }
  status_log_.Forget();
  return CheckOutcome::kStoreError;
}

void SentinelChecker::StoreOk() {
  if (store_problem_.empty()) return;
  spdlog::info("store reachable again{}", LogFields({{"after", store_problem_}}));
  store_problem_.clear();
}

void SentinelChecker::LogOnChange(const std::string& key, const std::string& line) {
  if (status_log_.Changed(key) && !line.empty()) spdlog::info("{}", line);
}

void SentinelChecker::LogDecisions(const std::vector<std::string>& decisions) {
  std::set<std::string> now(decisions.begin(), decisions.end());
  for (const std::string& line : decisions) {
    if (!last_decisions_.count(line)) spdlog::info("{}", line);
  }
  last_decisions_ = std::move(now);
}

CheckOutcome SentinelChecker::Check() {
  const SteadyTime start = clock_.Now();
  next_check_delay_.reset();
  check_error_.clear();
  const CheckOutcome out = CheckInternal();
  const Duration took = clock_.Now() - start;
  std::lock_guard l(stats_mu_);
  ++stats_.checks;
  stats_.last_check_duration = took;
  stats_.last_outcome = out;
  if (IsFailedCheck(out)) {
    ++stats_.failed_checks;
    stats_.last_error = check_error_.empty() ? CheckOutcomeName(out) : check_error_;
  } else {
    stats_.last_error.clear();
  }
  return out;
}

CheckOutcome SentinelChecker::CheckInternal() {
  const SteadyTime start = clock_.Now();
  // 1. Quorum read of the cluster data.
  auto read = store_.GetClusterData();
  if (!read.ok()) {
    if (absl::IsInvalidArgument(read.status()) || absl::IsFailedPrecondition(read.status())) {
      StoreOk();
      NoteError("cannot use the cluster data: " + Msg(read.status()));
      LogOnChange("invalid-cd:" + Msg(read.status()),
                  fmt::format("cannot use the cluster data: {} (fix it with stolonctl; nothing is "
                              "done until then)",
                              Msg(read.status())));
      return CheckOutcome::kInvalidClusterData;
    }
    return StoreProblem("cannot read the cluster data", read.status());
  }
  StoreOk();
  // 2. No cluster data yet.
  if (!read->has_value()) return CreateInitialClusterData();
  const store::Versioned<cluster::ClusterData>& cd = **read;
  NoteKeepers(cd.value);
  if (cd.value.format_version != cluster::kCurrentCDFormatVersion) {
    NoteError(fmt::format("unsupported clusterdata format version {}", cd.value.format_version));
    LogOnChange("format:" + std::to_string(cd.value.format_version),
                fmt::format("unsupported clusterdata format version {}: nothing is done",
                            cd.value.format_version));
    return CheckOutcome::kInvalidClusterData;
  }
  if (absl::Status s = cd.value.cluster.spec.Validate(); !s.ok()) {
    NoteError("invalid cluster spec in the cluster data: " + Msg(s));
    LogOnChange("invalid-spec:" + Msg(s),
                fmt::format("invalid cluster spec in the cluster data: {} (fix it with stolonctl "
                            "update; nothing is done until then)",
                            Msg(s)));
    return CheckOutcome::kInvalidClusterData;
  }
  const cluster::ClusterSpec spec = cd.value.cluster.spec.WithDefaults();
  if (spec.sleep_interval && *spec.sleep_interval != sleep_interval_) {
    spdlog::info("sleepInterval is now {}", Secs(*spec.sleep_interval));
    sleep_interval_ = *spec.sleep_interval;
  }
  if (spec.request_timeout) request_timeout_ = *spec.request_timeout;

  // 3. Publish this sentinel's info.
  const auto ttl = std::chrono::ceil<std::chrono::seconds>(2 * sleep_interval_);
  if (absl::Status s = store_.SetSentinelInfo(cluster::SentinelInfo{options_.uid}, ttl); !s.ok()) {
    return StoreProblem("cannot publish the sentinel info", s);
  }
  // 4. Every keeper and proxy info.
  auto keepers = store_.GetKeepersInfo();
  if (!keepers.ok()) return StoreProblem("cannot read the keepers info", keepers.status());
  auto proxies = store_.GetProxiesInfo();
  if (!proxies.ok()) return StoreProblem("cannot read the proxies info", proxies.status());

  // 5. Only the leader decides.
  if (!leadership_.IsLeader()) {
    LogOnChange("not-leader", "not the leader: watching only");
    return CheckOutcome::kNotLeader;
  }
  CheckOutcome out = Decide(cd, *keepers, *proxies);
  if (const Duration took = clock_.Now() - start; took > request_timeout_) {
    spdlog::warn("the check took {}, more than requestTimeout {}", Secs(took),
                 Secs(request_timeout_));
  }
  return out;
}

CheckOutcome SentinelChecker::CreateInitialClusterData() {
  if (!options_.initial_cluster_spec) {
    LogOnChange("no-cd", "no cluster data available, waiting for it to appear");
    return CheckOutcome::kWaitingForClusterData;
  }
  auto cd = cluster::NewClusterData(*options_.initial_cluster_spec, ids_, clock_);
  if (!cd.ok()) {  // validated at start-up: cannot happen unless the validation rules changed
    LogOnChange("bad-initial-spec",
                fmt::format("cannot build the initial cluster data: {}", Msg(cd.status())));
    return CheckOutcome::kInvalidClusterData;
  }
  spdlog::info("writing initial cluster data{}", LogFields({{"clusterUID", cd->cluster.uid}}));
  status_log_.Forget();
  auto rev = store_.AtomicPutClusterData(*cd, 0);
  if (absl::IsAborted(rev.status())) {
    spdlog::info("the cluster data was created by someone else meanwhile: using theirs");
    return CheckOutcome::kCreateLost;
  }
  if (!rev.ok()) {
    StoreProblem("cannot write the initial cluster data", rev.status());
    return CheckOutcome::kPutFailed;
  }
  return CheckOutcome::kCreatedClusterData;
}

CheckOutcome SentinelChecker::Decide(const store::Versioned<cluster::ClusterData>& read,
                                     const cluster::KeepersInfo& keepers,
                                     const cluster::ProxiesInfo& proxies) {
  // 6. Leadership (re)gained since the last decision: start from a clean state.
  const uint64_t count = leadership_.LeadershipCount();
  if (count != seen_leadership_count_) {
    spdlog::info("leadership acquired: starting with fresh timers and histories{}",
                 LogFields({{"leadershipCount", std::to_string(count)}}));
    seen_leadership_count_ = count;
    state_ = SentinelState{};
    state_.first_run = true;
    last_decisions_.clear();
  }
  // 7. The decision.
  auto view = ComputeClusterView(read.value, keepers, proxies, state_, Deps{clock_, ids_, rng_});
  if (!view.ok()) {
    state_ =
        StateAfterFailedCompute(read.value, keepers, proxies, state_, Deps{clock_, ids_, rng_});
    NoteError("cannot act on the cluster data: " + Msg(view.status()));
    LogOnChange("compute:" + Msg(view.status()),
                fmt::format("cannot act on the cluster data: {}", Msg(view.status())));
    return CheckOutcome::kComputeFailed;
  }
  status_log_.Forget();
  LogDecisions(view->decisions);
  // 8. Compare-and-swap on the revision read in step 1.
  auto rev = store_.AtomicPutClusterData(view->cd, read.revision);
  // 9. The state that matches what is stored now.
  if (rev.ok()) {
    const std::string& old_master = read.value.cluster.status.master;
    const std::string& new_master = view->cd.cluster.status.master;
    NoteKeepers(view->cd);
    if (!old_master.empty() && new_master != old_master) {
      std::lock_guard l(stats_mu_);
      ++stats_.failovers;
    }
    awaiting_proxies_ =
        view->cd.proxy.spec.master_db_uid.empty() && !view->cd.cluster.status.master.empty();
    sync_standbys_settling_ = SyncStandbysSettling(view->cd);
    state_ = std::move(view->state);
    next_check_delay_ = NextCheckDelay(view->cd, state_, clock_.Now());
    if (*next_check_delay_ < sleep_interval_) {
      spdlog::debug("next check in {}: a keeper or db reaches failInterval before sleepInterval",
                    Secs(*next_check_delay_));
    }
    last_success_ns_ =
        std::chrono::duration_cast<std::chrono::nanoseconds>(clock_.WallNow().time_since_epoch())
            .count();
    return CheckOutcome::kUpdated;
  }
  state_ = std::move(view->state_if_put_fails);
  if (absl::IsAborted(rev.status())) {
    NoteError("the cluster data changed since it was read (CAS lost)");
    spdlog::warn(
        "the cluster data changed since it was read (revision {}): not written, the "
        "next check starts from the new one",
        read.revision);
    // The decisions were not applied: log them again when they recur.
    last_decisions_.clear();
    return CheckOutcome::kPutConflict;
  }
  StoreProblem("cannot write the cluster data", rev.status());
  last_decisions_.clear();
  return CheckOutcome::kPutFailed;
}

}  // namespace stolon::sentinel
