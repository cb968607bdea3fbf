// ComputeClusterView: one sentinel check as a pure function.
#include <cmath>

#include "sentinel/cluster_view.h"
#include "sentinel/internal.h"
#include "spdlog/spdlog.h"

namespace stolon::sentinel {
namespace internal {

void DecisionLog::Push(std::string line) {
  // At debug level: the daemon logs each line at info once, when it was not in the previous
  // check's lines (a failover is explained once, not repeated every sleepInterval).
  spdlog::debug("{}", line);
  lines_.push_back(std::move(line));
}

}  // namespace internal

using internal::Ctx;
using internal::DecisionLog;

std::string FormatLsn(uint64_t lsn) {
  return fmt::format("{:X}/{:X}", lsn >> 32, lsn & 0xffffffffu);
}

std::string FormatBytes(int64_t bytes) {
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
  if (bytes < 1024 && bytes > -1024) return fmt::format("{} bytes", bytes);
  double v = static_cast<double>(bytes);
  int unit = -1;
  while ((v >= 1024 || v <= -1024) && unit < 3) {
    v /= 1024;
    ++unit;
  }
  std::string n = fmt::format("{:.1f}", v);
  if (n.size() > 2 && n.substr(n.size() - 2) == ".0") n.resize(n.size() - 2);
  return n + " " + kUnits[unit];
}

namespace {

SentinelState StartState(const cluster::ClusterData& prev, const SentinelState& state,
                         SteadyTime now) {
  if (!state.first_run) return state;
  // Leadership (re)gained: forget every timer and history, and start convergence clocks now.
  SentinelState fresh;
  fresh.first_run = true;
  internal::UpdateDbConvergenceInfos(prev, now, fresh);
  return fresh;
}

// The context of one computation over `prev`, working on `st` and logging into `log`.
Ctx MakeCtx(const cluster::ClusterData& prev, SentinelState& st, SteadyTime now, DecisionLog& log,
            const Deps& deps) {
  return Ctx{
      prev.cluster.spec.WithDefaults(), st, now, deps.clock.WallNow(), log, deps.ids, deps.rng};
}

absl::Status UpdateCluster(const cluster::ClusterData& cd, const cluster::ProxiesInfo& active,
                           cluster::ClusterData& next, Ctx& ctx) {
  const std::string& phase = cd.cluster.status.phase;
  if (phase == cluster::kPhaseInitializing) {
    RETURN_IF_ERROR(internal::UpdateInitializing(cd, next, ctx));
  } else if (phase == cluster::kPhaseNormal) {
    RETURN_IF_ERROR(internal::UpdateNormal(cd, active, next, ctx));
  } else {
    return absl::FailedPreconditionError(fmt::format("unknown cluster phase {:?}", phase));
  }
  internal::SetDBSpecFromClusterSpec(next);
  internal::BumpChangedGenerations(cd, next, ctx);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ClusterView> ComputeClusterView(const cluster::ClusterData& prev,
                                               const cluster::KeepersInfo& keepers,
                                               const cluster::ProxiesInfo& proxies,
                                               const SentinelState& state, const Deps& deps) {
  const SteadyTime now = deps.clock.Now();
  SentinelState st = StartState(prev, state, now);
  DecisionLog log;
  Ctx ctx = MakeCtx(prev, st, now, log, deps);

  cluster::ClusterData cd = internal::UpdateKeepersStatus(prev, keepers, ctx);
  cluster::ProxiesInfo active = internal::ActiveProxiesInfos(proxies, ctx);
  cluster::ClusterData next = cd;
  RETURN_IF_ERROR(UpdateCluster(cd, active, next, ctx));
  internal::UpdateChangeTimes(prev, next, ctx.wall_now);

  ClusterView view;
  st.first_run = false;
  view.state_if_put_fails = st;
  internal::UpdateDbConvergenceInfos(next, now, st);
  view.state = std::move(st);
  view.cd = std::move(next);
  view.active_proxies = std::move(active);
  view.decisions = log.Take();
  return view;
}

SentinelState StateAfterFailedCompute(const cluster::ClusterData& prev,
                                      const cluster::KeepersInfo& keepers,
                                      const cluster::ProxiesInfo& proxies,
                                      const SentinelState& state, const Deps& deps) {
  const SteadyTime now = deps.clock.Now();
  SentinelState st = StartState(prev, state, now);
  DecisionLog log;
  Ctx ctx = MakeCtx(prev, st, now, log, deps);
  (void)internal::UpdateKeepersStatus(prev, keepers, ctx);
  (void)internal::ActiveProxiesInfos(proxies, ctx);
  st.first_run = false;
  return st;
}

}  // namespace stolon::sentinel
