// Fault storm: a synchronous-replication cluster (3 keepers, 2 sentinels, 2 proxies, sleepInterval
// 1s, failInterval 3s) under a continuous writer through EACH proxy (one table per proxy) and a
// sampler that opens a fresh connection through each proxy every 200 ms and asks
// `pg_is_in_recovery(), inet_server_port()`, while a seeded schedule of mixed, sometimes
// overlapping faults hits it:
//   - freeze-etcd:       SIGSTOP of etcd, SIGCONT a few seconds later;
//   - freeze-postmaster: SIGSTOP of the master's postmaster only (its keeper and backends keep
//                        running) for longer than failInterval, then SIGCONT (a "zombie master");
//   - kill-sentinel:     SIGKILL of the leader sentinel, restarted a few seconds later;
//   - kill-keeper:       SIGKILL of the master keeper, then of its postmaster, which this test
//                        DELIBERATELY DOES NOT REAP: the test process is a child subreaper
//                        (PR_SET_CHILD_SUBREAPER), the postmaster orphaned by its keeper is
//                        reparented to it and stays a zombie (its pid alive for kill(pid, 0)) until
//                        the storm is over; the keeper is restarted on the same data dir.
// Then everything is healed (SIGCONT what is stopped, restart what was killed) and within 90 s
// every keeper must be healthy, both standbys streaming from the master and writes acknowledged
// through every proxy. Checked over the whole run: no acknowledged write lost (sync replication),
// never two writable primaries reachable through the proxies (by the ack order across both
// writers, by the samples, and by overlapping writable samples of two ports), and no client
// error "read-only transaction" through a proxy.
//
// Short form (ctest, default): seed 1 with 7 faults, about 3-4 minutes.
// Full form: STOLON_STORM_SEEDS="1 2 3" runs one storm of 12 faults per seed, each on a fresh
// cluster (run the binary directly, the ctest TIMEOUT fits only the short form):
//   cd build && STOLON_STORM_SEEDS="1 2 3" bin/e2e_storm_test
// STOLON_STORM_FAULTS=N overrides the number of faults. The schedule depends only on the seed and
// the number of faults (std::mt19937), so STOLON_STORM_SEEDS=<seed> STOLON_STORM_FAULTS=<n>
// replays a storm; each fault is printed with its time from the storm's start, and the targets
// (the master, the leader sentinel of the moment) are printed as they are picked.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "integration/e2e/scenario.h"
#include "store/store_config.h"

namespace stolon::e2e {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using stolon::testing::WriteRecord;
using stolon::testing::WriterOptions;

constexpr int kKeepers = 3;
constexpr auto kHealBound = 90s;

// ---- /proc helpers

struct ProcStat {
  char state = '?';
  pid_t ppid = 0;
};

std::optional<ProcStat> ReadProcStat(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return std::nullopt;
  const size_t paren = line.rfind(')');
  if (paren == std::string::npos || paren + 2 >= line.size()) return std::nullopt;
  std::istringstream rest(line.substr(paren + 2));
  ProcStat s;
  rest >> s.state >> s.ppid;
  return s;
}

std::string ProcComm(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/comm");
  std::string comm;
  std::getline(in, comm);
  return comm;
}

// A running (not zombie) postgres process.
bool LivePostgres(pid_t pid) {
  auto s = ReadProcStat(pid);
  return s && s->state != 'Z' && ProcComm(pid) == "postgres";
}

// ---- The schedule

enum class FaultKind { kFreezeEtcd, kFreezePostmaster, kKillSentinel, kKillKeeper };
constexpr int kFaultKinds = 4;

const char* KindName(FaultKind k) {
  switch (k) {
    case FaultKind::kFreezeEtcd:
      return "freeze-etcd";
    case FaultKind::kFreezePostmaster:
      return "freeze-postmaster";
    case FaultKind::kKillSentinel:
      return "kill-sentinel";
    case FaultKind::kKillKeeper:
      return "kill-keeper";
  }
  return "?";
}

struct Fault {
  FaultKind kind;
  milliseconds at;        // from the storm's start
  milliseconds duration;  // until the SIGCONT / the restart
};

int Uniform(std::mt19937& rng, int lo, int hi) {
  return std::uniform_int_distribution<int>(lo, hi)(rng);
}

milliseconds FaultDuration(std::mt19937& rng, FaultKind k) {
  switch (k) {
    case FaultKind::kFreezeEtcd:
      return milliseconds(Uniform(rng, 3000, 6000));
    case FaultKind::kFreezePostmaster:  // longer than failInterval (3s)
      return milliseconds(Uniform(rng, 5000, 9000));
    case FaultKind::kKillSentinel:
      return milliseconds(Uniform(rng, 2000, 6000));
    case FaultKind::kKillKeeper:
      return milliseconds(Uniform(rng, 4000, 10000));
  }
  return 1s;
}

// `n` faults from `seed`: every kind at least once (when n >= 4), in a shuffled order, 6-12 s
// apart or, three times in ten, 1-2.5 s apart (overlapping the previous one's recovery). A fault
// never starts while the previous one of its kind is still in effect.
std::vector<Fault> MakeSchedule(uint32_t seed, int n) {
  std::mt19937 rng(seed);
  std::vector<FaultKind> kinds;
  for (int k = 0; k < kFaultKinds && k < n; ++k) kinds.push_back(static_cast<FaultKind>(k));
  while (static_cast<int>(kinds.size()) < n) {
    kinds.push_back(static_cast<FaultKind>(Uniform(rng, 0, kFaultKinds - 1)));
  }
  std::shuffle(kinds.begin(), kinds.end(), rng);
  std::map<FaultKind, milliseconds> busy_until;
  milliseconds t{0};
  std::vector<Fault> out;
  for (FaultKind k : kinds) {
    const bool overlap = Uniform(rng, 0, 9) < 3;
    const milliseconds gap(overlap ? Uniform(rng, 1000, 2500) : Uniform(rng, 6000, 12000));
    t = out.empty() ? milliseconds(1000) : t + gap;
    if (auto b = busy_until.find(k); b != busy_until.end()) t = std::max(t, b->second + 1s);
    const milliseconds d = FaultDuration(rng, k);
    busy_until[k] = t + d;
    out.push_back({k, t, d});
  }
  return out;
}

std::string Secs(milliseconds d) { return fmt::format("{:.1f}s", d.count() / 1000.0); }

std::string Plus(SteadyTime t0, SteadyTime t) {
  return fmt::format("+{:.3f}s", std::chrono::duration<double>(t - t0).count());
}

// ---- What the store says, watched from a thread with its own store client

struct Transition {
  SteadyTime at;       // when this monitor first saw it
  std::string keeper;  // the cd master db's keeper ("" when none)
};

class CdMonitor {
 public:
  CdMonitor(SentinelTestCluster& c, SteadyTime t0) : t0_(t0) {
    store::StoreConfig sc;
    sc.endpoints = c.etcd().endpoints();
    sc.timeout = 2s;
    sc.cluster_name = c.name();
    auto kv = store::NewKvStore(sc);
    if (!kv.ok()) throw std::runtime_error(kv.status().ToString());
    kv_ = std::move(*kv);
    store_ = std::make_unique<store::Store>(*kv_, sc.BasePath());
  }
  ~CdMonitor() { Stop(); }

  void Start() {
    Poll();
    thread_ = std::thread([this] {
      while (!stop_) {
        Poll();
        std::this_thread::sleep_for(100ms);
      }
    });
  }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::string Master() const {
    std::lock_guard l(mu_);
    return transitions_.empty() ? "" : transitions_.back().keeper;
  }
  std::string Leader() const {
    std::lock_guard l(mu_);
    return leader_;
  }
  std::vector<Transition> Transitions() const {
    std::lock_guard l(mu_);
    return transitions_;
  }

 private:
  void Poll() {
    auto cd = store_->GetClusterData();
    if (cd.ok() && cd->has_value()) {
      const auto& v = (*cd)->value;
      auto m = v.dbs.find(v.cluster.status.master);
      const std::string keeper = m == v.dbs.end() ? "" : m->second.spec.keeper_uid;
      std::lock_guard l(mu_);
      if (transitions_.empty() || transitions_.back().keeper != keeper) {
        transitions_.push_back({Clock::now(), keeper});
        std::printf("[%s] cluster data: master %s\n", Plus(t0_, Clock::now()).c_str(),
                    keeper.empty() ? "(none)" : keeper.c_str());
        std::fflush(stdout);
      }
    }
    auto leader = store_->GetSentinelLeader();
    if (leader.ok()) {
      std::lock_guard l(mu_);
      leader_ = *leader;
    }
  }

  SteadyTime t0_;
  std::unique_ptr<store::KvStore> kv_;
  std::unique_ptr<store::Store> store_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  mutable std::mutex mu_;
  std::vector<Transition> transitions_;  // guarded by mu_
  std::string leader_;                   // guarded by mu_
};

// ---- A fresh connection through a proxy every 200 ms

struct Sample {
  SteadyTime start, end;
  int proxy = 0;
  int port = 0;  // 0: no answer
  bool writable = false;
  std::string error;
};

// Sends `sql` and waits (bounded by `deadline`) for its one-value result.
std::optional<std::string> QueryValue(PGconn* c, const char* sql, SteadyTime deadline,
                                      std::string* err) {
  if (!PQsendQuery(c, sql)) {
    *err = PQerrorMessage(c);
    return std::nullopt;
  }
  while (true) {
    if (!PQconsumeInput(c)) {
      *err = PQerrorMessage(c);
      return std::nullopt;
    }
    if (!PQisBusy(c)) break;
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    if (left <= 0ms) {
      *err = "client-side deadline passed";
      return std::nullopt;
    }
    pollfd pfd{PQsocket(c), POLLIN, 0};
    ::poll(&pfd, 1, static_cast<int>(std::min<int64_t>(left.count(), 100)));
  }
  std::optional<std::string> value;
  while (PGresult* r = PQgetResult(c)) {
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
      value = PQgetvalue(r, 0, 0);
    } else if (err->empty()) {
      *err = PQresultErrorMessage(r);
    }
    PQclear(r);
  }
  if (!err->empty()) return std::nullopt;
  return value;
}

Sample Probe(const std::string& conninfo, int proxy) {
  Sample s;
  s.proxy = proxy;
  s.start = Clock::now();
  PGconn* c = PQconnectdb((conninfo + " connect_timeout=2 sslmode=disable").c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    s.error = PQerrorMessage(c);
  } else {
    auto v = QueryValue(c, "select pg_is_in_recovery()::text || ',' || inet_server_port()::text",
                        s.start + 3s, &s.error);
    const size_t comma = v ? v->find(',') : std::string::npos;
    if (comma != std::string::npos) {
      s.writable = v->substr(0, comma) == "false";
      s.port = std::stoi(v->substr(comma + 1));
    }
  }
  PQfinish(c);
  s.end = Clock::now();
  return s;
}

class ProxySampler {
 public:
  ProxySampler(int proxy, std::string conninfo) : proxy_(proxy), conninfo_(std::move(conninfo)) {}
  ~ProxySampler() { Stop(); }
  void Start() {
    thread_ = std::thread([this] {
      while (!stop_) {
        Sample s = Probe(conninfo_, proxy_);
        {
          std::lock_guard l(mu_);
          samples_.push_back(std::move(s));
        }
        std::this_thread::sleep_for(200ms);
      }
    });
  }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::vector<Sample> Samples() const {
    std::lock_guard l(mu_);
    return samples_;
  }

 private:
  int proxy_;
  std::string conninfo_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  mutable std::mutex mu_;
  std::vector<Sample> samples_;  // guarded by mu_
};

// What a new connection through proxy `i` reaches: "<in recovery>,<port>" ("" when none).
std::string ThroughProxyN(SentinelTestCluster& c, size_t i) {
  Sample s = Probe(c.proxies().at(i)->Conninfo(), static_cast<int>(i));
  if (s.port == 0) return "";
  return fmt::format("{},{}", s.writable ? "false" : "true", s.port);
}

// ---- The faults

class Storm {
 public:
  // The schedule's times count from `start`; printed times from `t0`.
  Storm(SentinelTestCluster& c, CdMonitor& m, std::vector<Fault> faults, SteadyTime t0,
        SteadyTime start)
      : c_(c), monitor_(m), faults_(std::move(faults)), t0_(t0), start_(start) {}
  // Whatever a failed assertion left stopped is resumed; the zombies are reaped.
  ~Storm() {
    ResumeStopped();
    ReapZombies();
  }

  // Runs the schedule (Begin and End of every fault at its time), then heals whatever is still
  // in effect. Returns when the heal is done.
  void Run();
  // SIGCONT of anything stopped, restart of anything killed.
  void Heal();
  // Reaps the killed postmasters this test left as zombies.
  void ReapZombies();
  int injected() const { return injected_; }
  const std::vector<pid_t>& zombies() const { return zombies_; }

 private:
  struct Active {
    std::string keeper;   // the keeper hit (kill-keeper, freeze-postmaster)
    pid_t pid = 0;        // the stopped postmaster (freeze-postmaster)
    size_t sentinel = 0;  // the killed sentinel (kill-sentinel)
  };
  void Begin(size_t i);
  void End(size_t i);
  void ResumeStopped();
  void FreezePostmaster(size_t i);
  void KillSentinel(size_t i);
  void KillKeeper(size_t i);
  void Note(size_t i, const std::string& what);

  SentinelTestCluster& c_;
  CdMonitor& monitor_;
  std::vector<Fault> faults_;
  SteadyTime t0_, start_;
  std::map<size_t, Active> active_;
  std::vector<pid_t> zombies_;
  int injected_ = 0;
};

void Storm::Note(size_t i, const std::string& what) {
  std::printf("[%s] fault %zu/%zu %s: %s\n", Plus(t0_, Clock::now()).c_str(), i + 1, faults_.size(),
              KindName(faults_[i].kind), what.c_str());
  std::fflush(stdout);
}

void Storm::Run() {
  struct Action {
    milliseconds at;
    size_t fault;
    bool end;
  };
  std::vector<Action> actions;
  for (size_t i = 0; i < faults_.size(); ++i) {
    actions.push_back({faults_[i].at, i, false});
    actions.push_back({faults_[i].at + faults_[i].duration, i, true});
  }
  std::stable_sort(actions.begin(), actions.end(),
                   [](const Action& a, const Action& b) { return a.at < b.at; });
  for (const Action& a : actions) {
    std::this_thread::sleep_until(start_ + a.at);
    a.end ? End(a.fault) : Begin(a.fault);
  }
  Heal();
}

void Storm::Begin(size_t i) {
  switch (faults_[i].kind) {
    case FaultKind::kFreezeEtcd:
      c_.etcd().Freeze(0);
      active_[i] = {};
      ++injected_;
      Note(i, "SIGSTOP etcd for " + Secs(faults_[i].duration));
      return;
    case FaultKind::kFreezePostmaster:
      return FreezePostmaster(i);
    case FaultKind::kKillSentinel:
      return KillSentinel(i);
    case FaultKind::kKillKeeper:
      return KillKeeper(i);
  }
}

void Storm::FreezePostmaster(size_t i) {
  const std::string uid = monitor_.Master();
  if (uid.empty() || !c_.keeper(uid).Running()) {
    return Note(i, fmt::format("skipped: master '{}' has no running keeper", uid));
  }
  const pid_t pm = c_.keeper(uid).PostmasterPid();
  if (!LivePostgres(pm)) {
    return Note(i, fmt::format("skipped: master {} has no live postmaster", uid));
  }
  ::kill(pm, SIGSTOP);
  active_[i] = {uid, pm, 0};
  ++injected_;
  Note(i, fmt::format("SIGSTOP postmaster {} of master {} (its keeper keeps running) for {}", pm,
                      uid, Secs(faults_[i].duration)));
}

void Storm::KillSentinel(size_t i) {
  const std::string leader = monitor_.Leader();
  auto& ss = c_.sentinels();
  std::optional<size_t> pick;
  for (size_t s = 0; s < ss.size(); ++s) {
    if (ss[s]->Running() && ss[s]->Uid() == leader) pick = s;
  }
  std::string how = "the leader";
  for (size_t s = 0; !pick && s < ss.size(); ++s) {
    if (ss[s]->Running()) pick = s;
    how = "leader '" + leader + "' not running: the first running one";
  }
  if (!pick) return Note(i, "skipped: no sentinel runs");
  const std::string uid = ss[*pick]->Uid();
  ss[*pick]->Kill();
  active_[i] = {"", 0, *pick};
  ++injected_;
  Note(i, fmt::format("SIGKILL sentinel {} (uid {}, {}); restart in {}", ss[*pick]->name(), uid,
                      how, Secs(faults_[i].duration)));
}

// SIGKILL of the master keeper (reaped by its Process), then of its postmaster, which is now
// this process' child (the subreaper) and stays a zombie: nothing here reaps it before the end.
void Storm::KillKeeper(size_t i) {
  const std::string uid = monitor_.Master();
  if (uid.empty() || !c_.keeper(uid).Running()) {
    return Note(i, fmt::format("skipped: master '{}' has no running keeper", uid));
  }
  TestKeeper& k = c_.keeper(uid);
  const pid_t pm = k.PostmasterPid();
  const bool live = LivePostgres(pm);
  k.Kill();
  active_[i] = {uid, 0, 0};
  ++injected_;
  if (!live) {
    return Note(i, fmt::format("SIGKILL keeper {} (no live postmaster); restart in {}", uid,
                               Secs(faults_[i].duration)));
  }
  const bool adopted = WaitFor(
      [&] {
        auto s = ReadProcStat(pm);
        return s && s->ppid == ::getpid();
      },
      3s, 5ms);
  ::kill(pm, SIGKILL);
  const bool zombie = WaitFor(
      [&] {
        auto s = ReadProcStat(pm);
        return s && s->state == 'Z';
      },
      5s, 5ms);
  zombies_.push_back(pm);
  EXPECT_TRUE(adopted && zombie) << "postmaster " << pm << " of " << uid
                                 << ": reparented to the test process " << adopted << ", zombie "
                                 << zombie;
  Note(i, fmt::format("SIGKILL keeper {} and its postmaster {} (left unreaped: zombie {}, child "
                      "of the test process {}); restart in {}",
                      uid, pm, zombie, adopted, Secs(faults_[i].duration)));
}

void Storm::End(size_t i) {
  auto it = active_.find(i);
  if (it == active_.end()) return;
  const Active a = it->second;
  active_.erase(it);
  switch (faults_[i].kind) {
    case FaultKind::kFreezeEtcd:
      c_.etcd().Thaw(0);
      return Note(i, "SIGCONT etcd");
    case FaultKind::kFreezePostmaster:
      if (ProcComm(a.pid) == "postgres") ::kill(a.pid, SIGCONT);
      return Note(i, fmt::format("SIGCONT postmaster {} of {}", a.pid, a.keeper));
    case FaultKind::kKillSentinel:
      c_.sentinels().at(a.sentinel)->Start();
      return Note(i, "restarted sentinel " + c_.sentinels().at(a.sentinel)->name());
    case FaultKind::kKillKeeper:
      c_.keeper(a.keeper).Start();
      return Note(i, "restarted keeper " + a.keeper + " (same data dir)");
  }
}

void Storm::Heal() {
  // Store first, then postgres, then the daemons.
  for (FaultKind k : {FaultKind::kFreezeEtcd, FaultKind::kFreezePostmaster,
                      FaultKind::kKillSentinel, FaultKind::kKillKeeper}) {
    std::vector<size_t> ids;
    for (const auto& [i, a] : active_) {
      if (faults_[i].kind == k) ids.push_back(i);
    }
    for (size_t i : ids) End(i);
  }
}

void Storm::ResumeStopped() {
  for (const auto& [i, a] : active_) {
    if (faults_[i].kind == FaultKind::kFreezeEtcd) c_.etcd().Thaw(0);
    if (faults_[i].kind == FaultKind::kFreezePostmaster && ProcComm(a.pid) == "postgres") {
      ::kill(a.pid, SIGCONT);
    }
  }
  active_.clear();
}

void Storm::ReapZombies() {
  for (pid_t pid : zombies_) {
    int st = 0;
    ::waitpid(pid, &st, WNOHANG);
  }
  zombies_.clear();
}

// ---- The checks

// Why the cluster is not recovered yet ("" once it is): every keeper healthy in the cluster
// data, one healthy converged db per keeper, the standbys following the master's db, the master
// out of recovery and streaming to both standbys.
std::string NotRecoveredBecause(SentinelTestCluster& c) {
  auto cd = c.Cd();
  if (!cd) return "cluster data unreadable";
  if (cd->cluster.status.phase != cluster::kPhaseNormal) return "phase " + cd->cluster.status.phase;
  auto m = cd->dbs.find(cd->cluster.status.master);
  if (m == cd->dbs.end()) return "no master db";
  if (cd->dbs.size() != kKeepers) return fmt::format("{} dbs", cd->dbs.size());
  for (int i = 0; i < kKeepers; ++i) {
    const std::string uid = "keeper" + std::to_string(i);
    auto k = cd->keepers.find(uid);
    if (k == cd->keepers.end() || !k->second.status.healthy) return uid + " not healthy";
    auto db = std::find_if(cd->dbs.begin(), cd->dbs.end(),
                           [&](const auto& d) { return d.second.spec.keeper_uid == uid; });
    if (db == cd->dbs.end()) return uid + " has no db";
    const cluster::DB& d = db->second;
    if (!d.status.healthy || d.status.current_generation != d.generation) {
      return uid + "'s db not healthy and converged";
    }
    if (db != m && (d.spec.role != cluster::kRoleStandby || !d.spec.follow_config ||
                    d.spec.follow_config->db_uid != m->first)) {
      return uid + " does not follow the master's db";
    }
  }
  const TestKeeper& master = c.keeper(m->second.spec.keeper_uid);
  auto rec = master.QueryOne("select pg_is_in_recovery()::text");
  if (!rec.ok() || *rec != "false") return "the master is not out of recovery";
  auto n = master.QueryOne("select count(*) from pg_stat_replication where state = 'streaming'");
  if (!n.ok() || *n != "2") {
    return "the master streams to " + (n.ok() ? *n : std::string(n.status().message()));
  }
  return "";
}

bool AckedSince(const ContinuousWriter& w, SteadyTime t) {
  for (const WriteRecord& r : w.Records()) {
    if (r.acked && r.done >= t) return true;
  }
  return false;
}

// One writable answer seen through a proxy: an acknowledged write or a writable sample.
struct Event {
  SteadyTime at;
  int port;
  std::string what;
};

// Ordered by time, once another port answered writable no earlier port does again, unless the
// cluster data made its keeper the master again in between (a keeper can legitimately become
// master twice in one storm). The monitor sees a cluster data change no earlier than it happens,
// and a re-elected master answers only after its keeper promoted it and a proxy switched to it,
// so this needs no clock slack.
std::vector<std::string> ReturnsToRetiredPrimary(std::vector<Event> events,
                                                 const std::vector<Transition>& transitions,
                                                 const std::map<int, std::string>& keeper_of,
                                                 SteadyTime t0) {
  std::stable_sort(events.begin(), events.end(),
                   [](const Event& a, const Event& b) { return a.at < b.at; });
  std::vector<std::string> bad;
  int current = 0;
  std::map<int, SteadyTime> retired;  // port -> when another port first answered after it
  for (const Event& e : events) {
    if (e.port == current) continue;
    if (auto r = retired.find(e.port); r != retired.end()) {
      const std::string& k = keeper_of.count(e.port) ? keeper_of.at(e.port) : "";
      const bool reelected = std::any_of(transitions.begin(), transitions.end(), [&](auto& t) {
        return t.keeper == k && t.at > r->second && t.at < e.at;
      });
      if (!reelected) {
        bad.push_back(fmt::format("[{}] {} answered by port {} ({}), retired at [{}] by port {}",
                                  Plus(t0, e.at), e.what, e.port, k, Plus(t0, r->second), current));
        continue;
      }
      retired.erase(r);
    }
    if (current != 0) retired[current] = e.at;
    current = e.port;
  }
  return bad;
}

// Writable samples of two different ports whose [start, end] windows overlap.
std::vector<std::string> OverlappingWritable(std::vector<Sample> samples, SteadyTime t0) {
  std::erase_if(samples, [](const Sample& s) { return !s.writable; });
  std::sort(samples.begin(), samples.end(),
            [](const Sample& a, const Sample& b) { return a.start < b.start; });
  std::vector<std::string> bad;
  for (size_t i = 0; i < samples.size(); ++i) {
    for (size_t j = i + 1; j < samples.size() && samples[j].start <= samples[i].end; ++j) {
      if (samples[j].port == samples[i].port) continue;
      bad.push_back(fmt::format(
          "proxy {} -> writable {} [{}, {}] and proxy {} -> writable {} "
          "[{}, {}]",
          samples[i].proxy, samples[i].port, Plus(t0, samples[i].start), Plus(t0, samples[i].end),
          samples[j].proxy, samples[j].port, Plus(t0, samples[j].start), Plus(t0, samples[j].end)));
    }
  }
  return bad;
}

void PrintFirst(const std::string& title, const std::vector<std::string>& lines) {
  if (lines.empty()) return;
  std::printf("%s: %zu\n", title.c_str(), lines.size());
  for (size_t i = 0; i < lines.size() && i < 10; ++i) std::printf("  %s\n", lines[i].c_str());
  std::fflush(stdout);
}

// Counts of the writers' error messages (first line, truncated), most frequent first.
std::string ErrorSummary(const std::vector<std::vector<WriteRecord>>& all) {
  std::map<std::string, int> n;
  for (const auto& records : all) {
    for (const WriteRecord& r : records) {
      if (!r.acked) ++n[r.error.substr(0, std::min<size_t>(r.error.find('\n'), 90))];
    }
  }
  std::vector<std::pair<int, std::string>> v;
  for (const auto& [e, k] : n) v.push_back({k, e});
  std::sort(v.rbegin(), v.rend());
  std::string out;
  for (const auto& [k, e] : v) out += fmt::format("  {:6} x {}\n", k, e);
  return out;
}

// ---- One storm

struct Workload {
  std::vector<std::unique_ptr<ContinuousWriter>> writers;  // writers[i] through proxy i
  std::vector<std::unique_ptr<ProxySampler>> samplers;     // samplers[i] through proxy i
  void Stop() {
    for (auto& w : writers) w->Stop();
    for (auto& s : samplers) s->Stop();
  }
};

std::string Table(size_t proxy) { return "storm_p" + std::to_string(proxy); }

// Starts the second sentinel and proxy next to StartCluster's, waits until both proxies route to
// `master`, then starts a writer and a sampler through each proxy and waits for their acks.
void StartWorkload(SentinelTestCluster& c, const std::string& master, Workload& wl) {
  c.AddSentinel().Start();
  c.AddProxy().Start();
  const std::string want = "false," + std::to_string(c.keeper(master).pg_port());
  for (size_t p = 0; p < c.proxies().size(); ++p) {
    ASSERT_TRUE(WaitFor([&] { return ThroughProxyN(c, p) == want; }, 30s, 200ms))
        << "proxy " << p << ": " << ThroughProxyN(c, p) << c.Logs();
  }
  for (size_t p = 0; p < c.proxies().size(); ++p) {
    WriterOptions o;
    o.conninfo = c.proxies()[p]->Conninfo();
    o.table = Table(p);
    o.interval = 40ms;
    wl.writers.push_back(std::make_unique<ContinuousWriter>(o));
    ASSERT_TRUE(wl.writers.back()->Start(30s)) << c.Logs();
    wl.samplers.push_back(
        std::make_unique<ProxySampler>(static_cast<int>(p), c.proxies()[p]->Conninfo()));
    wl.samplers.back()->Start();
  }
  for (auto& w : wl.writers) {
    ASSERT_TRUE(WaitAcks(*w, c.keeper(master).pg_port(), 20, 30s)) << c.Logs();
  }
}

// Waits (kHealBound) until the cluster recovered and every writer had a write acknowledged since
// `heal`. Returns the recovery time in ms from the heal, -1 on timeout (*why: the last reason).
int64_t WaitRecovered(SentinelTestCluster& c, Workload& wl, SteadyTime heal, std::string* why) {
  const bool ok = WaitFor(
      [&] {
        *why = NotRecoveredBecause(c);
        for (size_t p = 0; why->empty() && p < wl.writers.size(); ++p) {
          if (!AckedSince(*wl.writers[p], heal)) *why = fmt::format("no ack via proxy {}", p);
        }
        return why->empty();
      },
      kHealBound, 250ms);
  if (!ok) return -1;
  return std::chrono::duration_cast<milliseconds>(Clock::now() - heal).count();
}

// A summary of the cluster for a failure message.
std::string Describe(SentinelTestCluster& c) {
  std::string out = "cluster data:";
  if (auto cd = c.Cd()) {
    out += " phase " + cd->cluster.status.phase + ", master db " + cd->cluster.status.master;
    for (const auto& [uid, k] : cd->keepers) {
      out += fmt::format("\n  keeper {} healthy={}", uid, k.status.healthy);
    }
    for (const auto& [uid, db] : cd->dbs) {
      out += fmt::format("\n  db {} keeper={} role={} healthy={} gen={}/{} follows={}", uid,
                         db.spec.keeper_uid, db.spec.role, db.status.healthy,
                         db.status.current_generation, db.generation,
                         db.spec.follow_config ? db.spec.follow_config->db_uid : "-");
    }
  } else {
    out += " unreadable";
  }
  for (int i = 0; i < kKeepers; ++i) {
    const TestKeeper& k = c.keeper("keeper" + std::to_string(i));
    auto rec = k.QueryOne("select pg_is_in_recovery()::text");
    out += fmt::format("\n  keeper{} port {} postmaster.pid {} (state {}): in recovery {}", i,
                       k.pg_port(), k.PostmasterPid(),
                       ReadProcStat(k.PostmasterPid()).value_or(ProcStat{}).state,
                       rec.ok() ? *rec : std::string(rec.status().message()));
  }
  return out + "\n";
}

struct StormResult {
  int64_t recovered_ms = -1;
  size_t acked = 0;
  size_t lost = 0;
  int readonly_errors = 0;
  size_t split_brain = 0;
  size_t samples = 0;           // through both proxies
  size_t writable_samples = 0;  // of which reached a primary
  size_t master_changes = 0;    // cluster data master changes the monitor saw
  // The longest stretch between two writable samples through one proxy (informational: how
  // long new connections found no primary).
  int64_t max_no_primary_ms = 0;
};

int64_t LongestWithoutPrimary(const std::vector<Sample>& samples, int proxies) {
  int64_t worst = 0;
  for (int p = 0; p < proxies; ++p) {
    std::optional<SteadyTime> prev;
    for (const Sample& s : samples) {  // each proxy's samples are in time order
      if (s.proxy != p || !s.writable) continue;
      if (prev) {
        worst = std::max<int64_t>(worst,
                                  std::chrono::duration_cast<milliseconds>(s.end - *prev).count());
      }
      prev = s.end;
    }
  }
  return worst;
}

// Row ids of `table` through `conninfo`, retried for up to 10 s; nullopt with *err on failure.
std::optional<std::set<int64_t>> ReadIdsRetrying(const std::string& conninfo,
                                                 const std::string& table, std::string* err) {
  std::optional<std::set<int64_t>> ids;
  WaitFor(
      [&] {
        PGconn* c = PQconnectdb((conninfo + " connect_timeout=2 sslmode=disable").c_str());
        *err = PQstatus(c) == CONNECTION_OK ? "" : PQerrorMessage(c);
        PQfinish(c);
        if (err->empty()) ids = stolon::testing::ReadIds(conninfo, table);
        if (err->empty() && !ids) *err = "select failed";
        return ids.has_value();
      },
      10s, 500ms);
  return ids;
}

// Reads back, from the final master, every write any writer had acknowledged.
void CheckLost(SentinelTestCluster& c, const std::vector<std::vector<WriteRecord>>& records,
               StormResult& r) {
  std::vector<std::set<int64_t>> acked(records.size());
  for (size_t p = 0; p < records.size(); ++p) {
    for (const WriteRecord& w : records[p]) {
      if (w.acked) acked[p].insert(w.id);
    }
    r.acked += acked[p].size();
  }
  const std::string master = CdMasterKeeper(c);
  ASSERT_FALSE(master.empty()) << "no master to read the writes back from";
  for (size_t p = 0; p < records.size(); ++p) {
    std::string err;
    auto present = ReadIdsRetrying(DirectConninfo(c.keeper(master)), Table(p), &err);
    ASSERT_TRUE(present.has_value())
        << "cannot read " << Table(p) << " on the final master " << master << ": " << err;
    const std::vector<int64_t> lost = stolon::testing::Missing(acked[p], *present);
    r.lost += lost.size();
    EXPECT_TRUE(lost.empty()) << lost.size() << " acknowledged writes through proxy " << p
                              << " missing on the final master " << master << ", first id "
                              << lost[0];
  }
}

// The no-two-primaries checks over the acks of every writer and the samples of every proxy.
void CheckOnePrimary(SentinelTestCluster& c, const std::vector<std::vector<WriteRecord>>& records,
                     const std::vector<Sample>& samples, const CdMonitor& monitor, SteadyTime t0,
                     StormResult& r) {
  std::map<int, std::string> keeper_of;
  for (int i = 0; i < kKeepers; ++i) {
    const std::string uid = "keeper" + std::to_string(i);
    keeper_of[c.keeper(uid).pg_port()] = uid;
  }
  std::vector<Event> events;
  for (size_t p = 0; p < records.size(); ++p) {
    for (const WriteRecord& w : records[p]) {
      if (w.acked)
        events.push_back({w.done, w.port, fmt::format("write {} via proxy {}", w.id, p)});
    }
  }
  for (const Sample& s : samples) {
    if (s.writable) events.push_back({s.end, s.port, fmt::format("sample via proxy {}", s.proxy)});
  }
  const auto returns = ReturnsToRetiredPrimary(events, monitor.Transitions(), keeper_of, t0);
  const auto overlaps = OverlappingWritable(samples, t0);
  PrintFirst("answers by a superseded primary", returns);
  PrintFirst("overlapping writable samples of two ports", overlaps);
  r.split_brain = returns.size() + overlaps.size();
  r.samples = samples.size();
  r.writable_samples = static_cast<size_t>(
      std::count_if(samples.begin(), samples.end(), [](const Sample& s) { return s.writable; }));
  r.master_changes = std::max<size_t>(monitor.Transitions().size(), 1) - 1;
  r.max_no_primary_ms = LongestWithoutPrimary(samples, static_cast<int>(records.size()));
  EXPECT_TRUE(returns.empty()) << returns.size() << " writable answers through the proxies by a "
                               << "primary another one had superseded, first: " << returns[0];
  EXPECT_TRUE(overlaps.empty()) << "two writable primaries through the proxies at once: "
                                << overlaps[0];
}

void CheckReadOnlyErrors(const std::vector<std::vector<WriteRecord>>& records, SteadyTime t0,
                         StormResult& r) {
  std::vector<std::string> seen;
  for (size_t p = 0; p < records.size(); ++p) {
    for (const WriteRecord& w : records[p]) {
      if (w.error.find("read-only transaction") == std::string::npos) continue;
      ++r.readonly_errors;
      seen.push_back(fmt::format("[{}] write {} via proxy {}: {}", Plus(t0, w.done), w.id, p,
                                 w.error.substr(0, w.error.find('\n'))));
    }
  }
  PrintFirst("\"read-only transaction\" errors through the proxies", seen);
  EXPECT_EQ(r.readonly_errors, 0) << "clients got \"read-only transaction\" through a proxy";
}

void Report(uint32_t seed, const std::vector<Fault>& faults, int injected, const StormResult& r) {
  std::string kinds;
  for (const Fault& f : faults) kinds += (kinds.empty() ? "" : ",") + std::string(KindName(f.kind));
  std::printf(
      "storm seed=%u faults=%zu injected=%d (%s) recovered_after_heal_ms=%lld acked=%zu lost=%zu "
      "readonly_errors=%d split_brain=%zu master_changes=%zu samples=%zu writable_samples=%zu "
      "max_no_primary_ms=%lld\n",
      seed, faults.size(), injected, kinds.c_str(), static_cast<long long>(r.recovered_ms), r.acked,
      r.lost, r.readonly_errors, r.split_brain, r.master_changes, r.samples, r.writable_samples,
      static_cast<long long>(r.max_no_primary_ms));
  std::fflush(stdout);
  const std::string p = fmt::format("seed{}_", seed);
  ::testing::Test::RecordProperty(p + "faults", static_cast<int>(faults.size()));
  ::testing::Test::RecordProperty(p + "injected", injected);
  ::testing::Test::RecordProperty(p + "recovered_after_heal_ms", static_cast<int>(r.recovered_ms));
  ::testing::Test::RecordProperty(p + "acked", static_cast<int>(r.acked));
  ::testing::Test::RecordProperty(p + "lost", static_cast<int>(r.lost));
  ::testing::Test::RecordProperty(p + "readonly_errors", r.readonly_errors);
  ::testing::Test::RecordProperty(p + "split_brain", static_cast<int>(r.split_brain));
  ::testing::Test::RecordProperty(p + "master_changes", static_cast<int>(r.master_changes));
  ::testing::Test::RecordProperty(p + "max_no_primary_ms", static_cast<int>(r.max_no_primary_ms));
}

void PrintSchedule(uint32_t seed, const std::vector<Fault>& faults) {
  std::printf("storm seed=%u: %zu faults (replay: STOLON_STORM_SEEDS=%u STOLON_STORM_FAULTS=%zu)\n",
              seed, faults.size(), seed, faults.size());
  for (size_t i = 0; i < faults.size(); ++i) {
    std::printf("  fault %zu/%zu at storm start +%s: %s for %s\n", i + 1, faults.size(),
                Secs(faults[i].at).c_str(), KindName(faults[i].kind),
                Secs(faults[i].duration).c_str());
  }
  std::fflush(stdout);
}

// After the heal: recovery, more acks through every proxy, then the write and routing checks.
void HealAndCheck(SentinelTestCluster& c, Workload& wl, const CdMonitor& monitor, SteadyTime t0,
                  SteadyTime heal, StormResult& r) {
  std::string why;
  r.recovered_ms = WaitRecovered(c, wl, heal, &why);
  const std::string outcome = r.recovered_ms >= 0
                                  ? fmt::format("recovered {} ms after the heal", r.recovered_ms)
                                  : "not recovered 90 s after the heal: " + why;
  std::printf("[%s] %s\n", Plus(t0, Clock::now()).c_str(), outcome.c_str());
  std::fflush(stdout);
  EXPECT_GE(r.recovered_ms, 0) << "not recovered " << kHealBound.count()
                               << " s after the heal: " << why << "\n"
                               << Describe(c) << c.Logs();
  if (r.recovered_ms >= 0) {
    const int port = c.keeper(CdMasterKeeper(c)).pg_port();
    for (size_t p = 0; p < wl.writers.size(); ++p) {
      EXPECT_TRUE(WaitAcks(*wl.writers[p], port, 10, 30s)) << "proxy " << p << "\n" << Describe(c);
    }
  }
  wl.Stop();
  std::vector<std::vector<WriteRecord>> records;
  for (auto& w : wl.writers) records.push_back(w->Records());
  std::vector<Sample> samples;
  for (auto& s : wl.samplers) {
    auto v = s->Samples();
    samples.insert(samples.end(), v.begin(), v.end());
  }
  std::printf("writer errors:\n%s", ErrorSummary(records).c_str());
  CheckReadOnlyErrors(records, t0, r);
  CheckOnePrimary(c, records, samples, monitor, t0, r);
  CheckLost(c, records, r);
}

void RunStorm(uint32_t seed, int nfaults) {
  const std::vector<Fault> faults = MakeSchedule(seed, nfaults);
  PrintSchedule(seed, faults);
  SentinelTestCluster c(fmt::format("storm{}", seed));
  const std::string first = StartCluster(c, E2ESpec(/*sync=*/true), kKeepers);
  ASSERT_FALSE(first.empty()) << c.Logs();
  const SteadyTime t0 = Clock::now();
  CdMonitor monitor(c, t0);
  monitor.Start();
  Workload wl;
  ASSERT_NO_FATAL_FAILURE(StartWorkload(c, first, wl));
  StormResult r;
  int injected = 0;
  {
    // Declared after the workload: destroyed (resumed, zombies reaped) before it stops.
    const SteadyTime storm_start = Clock::now();
    std::printf("[%s] storm starts (master %s)\n", Plus(t0, storm_start).c_str(), first.c_str());
    Storm storm(c, monitor, faults, t0, storm_start);
    storm.Run();
    const SteadyTime heal = Clock::now();
    injected = storm.injected();
    std::printf("[%s] healed (%d faults injected, %zu zombie postmasters kept)\n",
                Plus(t0, heal).c_str(), injected, storm.zombies().size());
    HealAndCheck(c, wl, monitor, t0, heal, r);
  }
  monitor.Stop();
  Report(seed, faults, injected, r);
}

// Reaps every child left (the orphans reparented to this subreaper), SIGKILLing any still
// running after 10 s. Only once every harness process object is gone: it waits for any child.
void ReapEverything() {
  const auto deadline = Clock::now() + 10s;
  int reaped = 0;
  while (true) {
    int st = 0;
    const pid_t pid = ::waitpid(-1, &st, WNOHANG);
    if (pid > 0) {
      ++reaped;
      continue;
    }
    if (pid < 0) break;  // ECHILD: none left
    if (Clock::now() >= deadline) {
      for (const auto& e : std::filesystem::directory_iterator("/proc")) {
        const pid_t p = static_cast<pid_t>(std::atoi(e.path().filename().c_str()));
        auto s = ReadProcStat(p);
        if (p <= 0 || !s || s->ppid != ::getpid()) continue;
        ADD_FAILURE() << "child " << p << " (" << ProcComm(p) << ") still running: killed";
        ::kill(p, SIGKILL);
      }
      ::waitpid(-1, &st, 0);
      continue;
    }
    std::this_thread::sleep_for(50ms);
  }
  std::printf("reaped %d leftover children (zombie postmasters, orphaned postgres processes)\n",
              reaped);
}

std::vector<uint32_t> Seeds() {
  const char* env = std::getenv("STOLON_STORM_SEEDS");
  if (!env || !*env) return {1};
  std::vector<uint32_t> out;
  std::istringstream in(env);
  for (uint32_t s; in >> s;) out.push_back(s);
  return out;
}

int FaultCount() {
  if (const char* n = std::getenv("STOLON_STORM_FAULTS"); n && *n) return std::atoi(n);
  const char* seeds = std::getenv("STOLON_STORM_SEEDS");
  return seeds && *seeds ? 12 : 7;
}

TEST(E2EStorm, MixedFaultsUnderWritesThroughTwoProxies) {
  // Orphans (a postmaster whose keeper was killed) are reparented to this process; SIGCHLD must
  // not be ignored, or the kernel would reap them for us.
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
  struct sigaction sa {};
  ASSERT_EQ(::sigaction(SIGCHLD, nullptr, &sa), 0);
  ASSERT_NE(sa.sa_handler, SIG_IGN);
  ASSERT_EQ(sa.sa_flags & SA_NOCLDWAIT, 0);
  const std::vector<uint32_t> seeds = Seeds();
  ASSERT_FALSE(seeds.empty()) << "STOLON_STORM_SEEDS has no seed";
  const int nfaults = FaultCount();
  ASSERT_GT(nfaults, 0);
  for (uint32_t seed : seeds) {
    SCOPED_TRACE(fmt::format("seed {}", seed));
    RunStorm(seed, nfaults);
    ReapEverything();
  }
}

}  // namespace
}  // namespace stolon::e2e
