// The steps of the sentinel check loop (stolon v0.17's clusterSentinelCheck) on an in-memory store
// with a fake clock and a leadership the test controls: creation from the initial spec, waiting
// without one, no writes by a non-leader, a lost CAS, first-run resets when leadership is regained,
// store outages.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>

#include "cluster/json.h"
#include "sentinel/daemon.h"
#include "sentinel/daemon_check.h"
#include "spdlog/sinks/ringbuffer_sink.h"
#include "spdlog/spdlog.h"
#include "store/kv_store_wrapper.h"
#include "store/mem_kv_store.h"
#include "store/store.h"
#include "support/prometheus.h"

namespace stolon::sentinel {

// gtest prints outcomes by name.
void PrintTo(CheckOutcome o, std::ostream* os) { *os << CheckOutcomeName(o); }

namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

class FakeLeadership final : public Leadership {
 public:
  bool IsLeader() const override { return leader; }
  uint64_t LeadershipCount() const override { return count; }
  // Becomes leader (counting a new win) or stops leading.
  void Set(bool l) {
    if (l && !leader) ++count;
    leader = l;
  }
  bool leader = false;
  uint64_t count = 0;
};

// Runs `before_cas` once before the next compare-and-swap: a concurrent writer.
class InterposingKvStore final : public store::KvStoreWrapper {
 public:
  using KvStoreWrapper::KvStoreWrapper;
  absl::StatusOr<int64_t> CompareAndSwap(const std::string& key, const std::string& value,
                                         int64_t expected, store::LeaseId lease) override {
    if (before_cas) {
      auto f = std::move(before_cas);
      before_cas = nullptr;
      f();
    }
    return KvStoreWrapper::CompareAndSwap(key, value, expected, lease);
  }
  std::function<void()> before_cas;
};

cluster::ClusterSpec TestSpec() {
  cluster::ClusterSpec spec;
  spec.init_mode = cluster::kInitModeNew;
  spec.sleep_interval = 1s;
  spec.fail_interval = 3s;
  spec.synchronous_replication = true;
  return spec;
}

class CheckTest : public ::testing::Test {
 protected:
  CheckTest()
      : mem_(clock_),
        faulty_(mem_),
        kv_(faulty_),
        store_(kv_, "stolon/cluster/t"),
        ids_("id"),
        rng_(7) {}

  std::unique_ptr<SentinelChecker> Checker(std::optional<cluster::ClusterSpec> initial = {}) {
    return std::make_unique<SentinelChecker>(
        store_, leadership_, CheckerOptions{"sent0001", std::move(initial)}, clock_, ids_, rng_);
  }

  std::optional<store::Versioned<cluster::ClusterData>> Cd() {
    auto cd = store_.GetClusterData();
    EXPECT_TRUE(cd.ok()) << cd.status();
    return cd.ok() ? *cd : std::nullopt;
  }

  // A cd in phase initializing with one keeper info published, as after `stolonctl init`.
  void InitClusterWithKeeper() {
    cluster::ClusterData cd;
    cd.cluster.uid = "c1";
    cd.cluster.generation = 1;
    cd.cluster.spec = TestSpec();
    cd.cluster.status.phase = cluster::kPhaseInitializing;
    ASSERT_TRUE(store_.PutClusterData(cd).ok());
    PublishKeeper("keeper0");
  }

  void PublishKeeper(const std::string& uid) {
    cluster::KeeperInfo ki;
    ki.info_uid = ids_.NewUid();
    ki.uid = uid;
    ki.cluster_uid = "c1";
    ki.boot_uuid = "boot-" + uid;
    ASSERT_TRUE(store_.SetKeeperInfo(uid, ki, 20s).ok());
  }

  FakeClock clock_;
  store::MemKvStore mem_;
  store::FaultyKvStore faulty_;
  InterposingKvStore kv_;
  store::Store store_;
  FakeLeadership leadership_;
  SequentialIdGenerator ids_;
  std::mt19937_64 rng_;
};

TEST_F(CheckTest, NoClusterDataWithoutInitialSpecWaits) {
  auto c = Checker();
  leadership_.Set(true);
  EXPECT_EQ(c->Check(), CheckOutcome::kWaitingForClusterData);
  EXPECT_EQ(c->Check(), CheckOutcome::kWaitingForClusterData);
  EXPECT_FALSE(Cd().has_value());
}

TEST_F(CheckTest, NoClusterDataWithInitialSpecCreatesItEvenWhenNotLeader) {
  auto c = Checker(TestSpec());
  ASSERT_FALSE(leadership_.IsLeader());
  EXPECT_EQ(c->Check(), CheckOutcome::kCreatedClusterData);
  auto cd = Cd();
  ASSERT_TRUE(cd.has_value());
  EXPECT_EQ(cd->value.cluster.status.phase, cluster::kPhaseInitializing);
  EXPECT_EQ(cd->value.cluster.spec.synchronous_replication, true);
  EXPECT_EQ(cd->value.cluster.spec.sleep_interval, 1s);
  EXPECT_FALSE(cd->value.cluster.uid.empty());
  EXPECT_EQ(cd->value.format_version, 1u);
  // Once it exists, the non-leader only watches.
  EXPECT_EQ(c->Check(), CheckOutcome::kNotLeader);
  EXPECT_EQ(Cd()->revision, cd->revision);
  EXPECT_EQ(c->sleep_interval(), 1s) << "refreshed from the cd";
}

TEST_F(CheckTest, InitialSpecCreationLosesToAConcurrentCreator) {
  auto c = Checker(TestSpec());
  kv_.before_cas = [&] {
    cluster::ClusterData other;
    other.cluster.uid = "theirs";
    other.cluster.spec = TestSpec();
    other.cluster.status.phase = cluster::kPhaseInitializing;
    ASSERT_TRUE(store_.PutClusterData(other).ok());
  };
  EXPECT_EQ(c->Check(), CheckOutcome::kCreateLost);
  EXPECT_EQ(Cd()->value.cluster.uid, "theirs") << "create-if-absent never overwrites";
}

TEST_F(CheckTest, NotLeaderPublishesInfoButNeverWrites) {
  InitClusterWithKeeper();
  auto c = Checker();
  const int64_t rev = Cd()->revision;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(c->Check(), CheckOutcome::kNotLeader);
    clock_.Advance(1s);
  }
  EXPECT_EQ(Cd()->revision, rev);
  auto sentinels = store_.GetSentinelsInfo();
  ASSERT_TRUE(sentinels.ok());
  ASSERT_EQ(sentinels->size(), 1u);
  EXPECT_EQ((*sentinels)[0].uid, "sent0001");
}

TEST_F(CheckTest, LeaderWritesAndInitializesTheCluster) {
  InitClusterWithKeeper();
  auto c = Checker();
  leadership_.Set(true);
  // First check after gaining leadership: infos recorded, no judgement, so no keeper is known
  // yet and an initializing cluster cannot choose a master: nothing written, as stolon.
  EXPECT_EQ(c->Check(), CheckOutcome::kComputeFailed);
  EXPECT_FALSE(c->state().first_run) << "the first run is consumed even though it failed";
  EXPECT_EQ(c->state().keeper_info_histories.count("keeper0"), 1u);
  clock_.Advance(1s);
  PublishKeeper("keeper0");
  EXPECT_EQ(c->Check(), CheckOutcome::kUpdated);
  auto cd = Cd();
  ASSERT_TRUE(cd.has_value());
  ASSERT_EQ(cd->value.keepers.count("keeper0"), 1u);
  ASSERT_EQ(cd->value.dbs.size(), 1u) << "a master db was chosen on the only keeper";
  EXPECT_EQ(cd->value.dbs.begin()->second.spec.keeper_uid, "keeper0");
  EXPECT_EQ(cd->value.cluster.status.master, cd->value.dbs.begin()->first);
}

TEST_F(CheckTest, LostCasIsLoggedAndTheNextCheckStartsOver) {
  InitClusterWithKeeper();
  auto c = Checker();
  leadership_.Set(true);
  ASSERT_EQ(c->Check(), CheckOutcome::kComputeFailed);  // first run, no keeper known yet
  clock_.Advance(1s);
  PublishKeeper("keeper0");
  // Someone (stolonctl, another sentinel) writes between our read and our CAS.
  kv_.before_cas = [&] {
    auto cd = Cd();
    cd->value.cluster.spec.fail_interval = 4s;
    ASSERT_TRUE(store_.PutClusterData(cd->value).ok());
  };
  EXPECT_EQ(c->Check(), CheckOutcome::kPutConflict);
  auto cd = Cd();
  EXPECT_TRUE(cd->value.dbs.empty()) << "our computation was not written";
  EXPECT_EQ(cd->value.cluster.spec.fail_interval, 4s) << "their write survives";
  clock_.Advance(1s);
  PublishKeeper("keeper0");
  EXPECT_EQ(c->Check(), CheckOutcome::kUpdated);
  cd = Cd();
  EXPECT_EQ(cd->value.cluster.spec.fail_interval, 4s);
  EXPECT_EQ(cd->value.dbs.size(), 1u) << "recomputed from the new cd";
}

TEST_F(CheckTest, RegainedLeadershipResetsTimersAndMakesNoJudgement) {
  InitClusterWithKeeper();
  auto c = Checker();
  leadership_.Set(true);
  ASSERT_EQ(c->Check(), CheckOutcome::kComputeFailed);  // first run, no keeper known yet
  clock_.Advance(1s);
  PublishKeeper("keeper0");
  ASSERT_EQ(c->Check(), CheckOutcome::kUpdated);
  ASSERT_FALSE(c->state().keeper_info_histories.empty());
  // The keeper goes silent long enough to be judged failed... while we are not the leader.
  leadership_.Set(false);
  for (int i = 0; i < 6; ++i) {
    clock_.Advance(1s);
    EXPECT_EQ(c->Check(), CheckOutcome::kNotLeader);
  }
  // Leadership regained: the first check starts over with fresh timers (no judgement).
  leadership_.Set(true);
  ASSERT_EQ(c->Check(), CheckOutcome::kUpdated);
  EXPECT_TRUE(Cd()->value.keepers.at("keeper0").status.healthy)
      << "no health judgement on the first check after regaining leadership";
  EXPECT_TRUE(c->state().keeper_error_timers.empty());
  // Without new infos it is judged failed only after failInterval from now.
  clock_.Advance(2s);
  ASSERT_EQ(c->Check(), CheckOutcome::kUpdated);
  EXPECT_TRUE(Cd()->value.keepers.at("keeper0").status.healthy);
  clock_.Advance(4s);
  ASSERT_EQ(c->Check(), CheckOutcome::kUpdated);
  EXPECT_FALSE(Cd()->value.keepers.at("keeper0").status.healthy);
}

TEST_F(CheckTest, StoreOutageStopsTheCheckAndRecovers) {
  InitClusterWithKeeper();
  auto c = Checker();
  leadership_.Set(true);
  ASSERT_EQ(c->Check(), CheckOutcome::kComputeFailed);  // first run, no keeper known yet
  clock_.Advance(1s);
  PublishKeeper("keeper0");
  faulty_.SetFailing(store::KvOp::kGet, true);
  EXPECT_EQ(c->Check(), CheckOutcome::kStoreError);
  EXPECT_EQ(c->Check(), CheckOutcome::kStoreError);
  faulty_.SetFailing(store::KvOp::kGet, false);
  faulty_.SetFailing(store::KvOp::kList, true);  // the infos cannot be read
  const int64_t rev = Cd()->revision;
  EXPECT_EQ(c->Check(), CheckOutcome::kStoreError);
  EXPECT_EQ(Cd()->revision, rev) << "no write without the infos";
  faulty_.SetFailing(store::KvOp::kList, false);
  faulty_.SetFailing(store::KvOp::kCompareAndSwap, true);
  EXPECT_EQ(c->Check(), CheckOutcome::kPutFailed);
  faulty_.SetFailing(store::KvOp::kCompareAndSwap, false);
  EXPECT_EQ(c->Check(), CheckOutcome::kUpdated);
}

TEST_F(CheckTest, SentinelInfoPublishFailureStopsTheCheck) {
  InitClusterWithKeeper();
  auto c = Checker();
  leadership_.Set(true);
  faulty_.SetFailing(store::KvOp::kPut, true);
  const int64_t rev = Cd()->revision;
  EXPECT_EQ(c->Check(), CheckOutcome::kStoreError);
  EXPECT_EQ(Cd()->revision, rev);
}

TEST_F(CheckTest, InvalidClusterDataIsNeverActedOn) {
  auto c = Checker(TestSpec());
  leadership_.Set(true);
  // A spec that does not validate.
  cluster::ClusterData cd;
  cd.cluster.uid = "c1";
  cd.cluster.spec = TestSpec();
  cd.cluster.spec.min_synchronous_standbys = 3;
  cd.cluster.spec.max_synchronous_standbys = 1;
  cd.cluster.status.phase = cluster::kPhaseInitializing;
  ASSERT_TRUE(store_.PutClusterData(cd).ok());
  int64_t rev = Cd()->revision;
  EXPECT_EQ(c->Check(), CheckOutcome::kInvalidClusterData);
  EXPECT_EQ(Cd()->revision, rev);
  // A document of another format version: not overwritten, not re-created.
  ASSERT_TRUE(kv_.Put("stolon/cluster/t/clusterdata", R"({"formatVersion": 2})").ok());
  auto raw = kv_.Get("stolon/cluster/t/clusterdata");
  EXPECT_EQ(c->Check(), CheckOutcome::kInvalidClusterData);
  auto after = kv_.Get("stolon/cluster/t/clusterdata");
  ASSERT_TRUE(raw.ok() && after.ok());
  EXPECT_EQ((*after)->mod_revision, (*raw)->mod_revision);
}

TEST_F(CheckTest, ComputeErrorWritesNothing) {
  // Phase normal with a master that does not exist: ComputeClusterView refuses it.
  cluster::ClusterData cd;
  cd.cluster.uid = "c1";
  cd.cluster.spec = TestSpec();
  cd.cluster.status.phase = cluster::kPhaseNormal;
  cd.cluster.status.master = "dbX";
  ASSERT_TRUE(store_.PutClusterData(cd).ok());
  auto c = Checker();
  leadership_.Set(true);
  int64_t rev = Cd()->revision;
  EXPECT_EQ(c->Check(), CheckOutcome::kComputeFailed);
  EXPECT_EQ(Cd()->revision, rev);
}

// Regression: a first check after gaining leadership that ComputeClusterView refuses (here:
// initializing, and the first run registers no keeper) must still consume the first run, or
// every later check is a first run again and the cluster never initializes.
TEST(StateAfterFailedCompute, FirstRunBookkeepingSurvivesAnError) {
  FakeClock clock;
  SequentialIdGenerator ids("x");
  std::mt19937_64 rng(1);
  Deps deps{clock, ids, rng};
  cluster::ClusterData cd;
  cd.cluster.uid = "c1";
  cd.cluster.spec = TestSpec();
  cd.cluster.status.phase = cluster::kPhaseInitializing;
  cluster::KeepersInfo infos;
  infos["keeper0"] = cluster::KeeperInfo{"info1", "keeper0", "c1", "boot0", {}, {}, {}, {}};
  SentinelState first;
  first.first_run = true;
  auto view = ComputeClusterView(cd, infos, {}, first, deps);
  ASSERT_FALSE(view.ok());
  EXPECT_THAT(std::string(view.status().message()), HasSubstr("no keepers registered"));
  SentinelState next = StateAfterFailedCompute(cd, infos, {}, first, deps);
  EXPECT_FALSE(next.first_run);
  ASSERT_EQ(next.keeper_info_histories.count("keeper0"), 1u);
  EXPECT_FALSE(next.keeper_info_histories.at("keeper0").seen) << "recorded as not seen";
  // The next check judges: the keeper published a new info, it is added and chosen.
  clock.Advance(1s);
  infos["keeper0"].info_uid = "info2";
  auto second = ComputeClusterView(cd, infos, {}, next, deps);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->cd.keepers.count("keeper0"), 1u);
  EXPECT_EQ(second->cd.dbs.size(), 1u);
  // Not a first run: the state is kept as is.
  SentinelState later = second->state;
  EXPECT_EQ(StateAfterFailedCompute(second->cd, infos, {}, later, deps).keeper_info_histories,
            later.keeper_info_histories);
}

// Captures what the default logger prints while alive.
class LogCapture {
 public:
  LogCapture() : sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(1000)) {
    previous_ = spdlog::default_logger();
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", sink_));
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  int Count(const std::string& needle) const {
    int n = 0;
    for (const auto& line : sink_->last_formatted()) n += line.find(needle) != std::string::npos;
    return n;
  }

 private:
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
  std::shared_ptr<spdlog::logger> previous_;
};

TEST_F(CheckTest, RepeatedConditionsAreLoggedOncePerChange) {
  LogCapture log;
  auto c = Checker();
  leadership_.Set(true);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(c->Check(), CheckOutcome::kWaitingForClusterData);
  EXPECT_EQ(log.Count("no cluster data available, waiting for it to appear"), 1);
  // A compute error that repeats (phase initializing, no keeper ever published).
  cluster::ClusterData cd;
  cd.cluster.uid = "c1";
  cd.cluster.spec = TestSpec();
  cd.cluster.status.phase = cluster::kPhaseInitializing;
  ASSERT_TRUE(store_.PutClusterData(cd).ok());
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(c->Check(), CheckOutcome::kComputeFailed);
    clock_.Advance(1s);
  }
  EXPECT_EQ(log.Count("cannot choose initial master"), 1);
  // A store outage: logged when it starts and when it ends.
  faulty_.SetFailing(store::KvOp::kGet, true);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(c->Check(), CheckOutcome::kStoreError);
  faulty_.SetFailing(store::KvOp::kGet, false);
  EXPECT_EQ(c->Check(), CheckOutcome::kComputeFailed);
  EXPECT_EQ(log.Count("cannot read the cluster data: "), 1);
  EXPECT_EQ(log.Count("store reachable again"), 1);
  // Decisions: logged when they appear, not again while they repeat.
  PublishKeeper("keeper0");
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(c->Check(), CheckOutcome::kUpdated);
    clock_.Advance(1s);
  }
  EXPECT_EQ(log.Count("initializing cluster: new db"), 1);
  EXPECT_EQ(log.Count("waiting for db"), 1);
}

TEST_F(CheckTest, LastSuccessIsTheLastWrite) {
  InitClusterWithKeeper();
  auto c = Checker();
  EXPECT_FALSE(c->last_success().has_value());
  leadership_.Set(true);
  ASSERT_EQ(c->Check(), CheckOutcome::kComputeFailed);
  EXPECT_FALSE(c->last_success().has_value());
  clock_.Advance(1s);
  PublishKeeper("keeper0");
  ASSERT_EQ(c->Check(), CheckOutcome::kUpdated);
  ASSERT_TRUE(c->last_success().has_value());
  EXPECT_EQ(*c->last_success(), clock_.WallNow());
}

TEST_F(CheckTest, MetricsAndHealthFollowTheChecks) {
  InitClusterWithKeeper();
  auto c = Checker();
  MetricsRegistry registry;
  RegisterSentinelMetrics(registry, "c1", leadership_, *c);
  auto scrape = [&] {
    std::string err;
    auto samples = stolon::testing::ParsePrometheusText(registry.Render(), &err);
    EXPECT_TRUE(samples.has_value()) << err;
    return samples.value_or(stolon::testing::PromSamples{});
  };
  auto m = scrape();
  EXPECT_EQ(m["stolon_cluster_identifier{cluster_name=\"c1\",component=\"sentinel\"}"], 1);
  EXPECT_EQ(m["stolon_sentinel_is_leader"], 0);
  EXPECT_EQ(m["stolon_sentinel_checks_total"], 0);
  EXPECT_EQ(m["stolon_sentinel_last_cluster_check_success_seconds"], 0);
  EXPECT_THAT(std::string(SentinelHealth(*c).message()), HasSubstr("no cluster check completed"));

  leadership_.Set(true);
  ASSERT_EQ(c->Check(), CheckOutcome::kComputeFailed);  // first run: no keeper known yet
  EXPECT_THAT(std::string(SentinelHealth(*c).message()),
              HasSubstr("the last cluster check failed (compute-failed): cannot act on"));
  clock_.Advance(1s);
  PublishKeeper("keeper0");
  ASSERT_EQ(c->Check(), CheckOutcome::kUpdated);
  EXPECT_TRUE(SentinelHealth(*c).ok());
  m = scrape();
  EXPECT_EQ(m["stolon_sentinel_is_leader"], 1);
  EXPECT_EQ(m["stolon_sentinel_leader_count"], 1);
  EXPECT_EQ(m["stolon_sentinel_checks_total"], 2);
  EXPECT_EQ(m["stolon_sentinel_check_failures_total"], 1);
  EXPECT_EQ(m["stolon_sentinel_keepers"], 1);
  EXPECT_EQ(m["stolon_sentinel_failovers_total"], 0);
  EXPECT_EQ(m["stolon_sentinel_last_cluster_check_success_seconds"],
            std::chrono::duration<double>(clock_.WallNow().time_since_epoch()).count());

  faulty_.SetFailing(store::KvOp::kGet, true);
  EXPECT_EQ(c->Check(), CheckOutcome::kStoreError);
  EXPECT_THAT(std::string(SentinelHealth(*c).message()),
              HasSubstr("(store-error): cannot read the cluster data"));
  faulty_.SetFailing(store::KvOp::kGet, false);
  EXPECT_EQ(scrape()["stolon_sentinel_check_failures_total"], 2);
}

TEST(CheckOutcomeName, Names) {
  EXPECT_STREQ(CheckOutcomeName(CheckOutcome::kPutConflict), "put-conflict");
  EXPECT_STREQ(CheckOutcomeName(CheckOutcome::kCreatedClusterData), "created-cluster-data");
}

}  // namespace
}  // namespace stolon::sentinel

namespace stolon::sentinel {
namespace {

TEST(LeaderSessionTtlTest, HalfOfFailIntervalBetweenFiveAndTwentySeconds) {
  using std::chrono::seconds;
  struct Case {
    const char* name;
    std::optional<Duration> fail_interval;
    seconds want;
  };
  const std::vector<Case> cases = {
      {"no cluster data yet: stolon's 20s", std::nullopt, seconds(20)},
      {"default failInterval 20s", seconds(20), seconds(10)},
      {"short failInterval floors at 5s", seconds(3), seconds(5)},
      {"long failInterval caps at 20s", seconds(120), seconds(20)},
      {"30s", seconds(30), seconds(15)},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(LeaderSessionTtl(c.fail_interval).count(), c.want.count());
  }
}

}  // namespace
}  // namespace stolon::sentinel
