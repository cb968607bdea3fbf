#include "sim.h"

#include "absl/strings/match.h"
#include "sentinel/internal.h"
#include "sentinel/invariants.h"

namespace stolon::sentinel::testing {

ClusterSpec BaseSpec() {
  ClusterSpec s;
  s.init_mode = cluster::kInitModeNew;
  return s;
}

Sim::Sim() = default;

std::string Sim::NextInfoUid() { return fmt::format("info{}", info_seq_++); }

void Sim::NewCluster(const ClusterSpec& spec, const std::string& phase) {
  cd = ClusterData{};
  cd.cluster.uid = "cluster0";
  cd.cluster.generation = 1;
  cd.cluster.spec = spec;
  cd.cluster.status.phase = phase;
  state = SentinelState{};
  state.first_run = false;
}

void Sim::AddKeeper(const std::string& uid) {
  cluster::Keeper k;
  k.uid = uid;
  k.generation = 1;
  k.status.healthy = true;
  k.status.last_healthy_time = clock.WallNow();
  k.status.boot_uuid = "boot-" + uid;
  k.status.postgres_binary_version = {15, 4};
  cd.keepers[uid] = k;
  keepers[uid];
}

namespace {
DB BaseDb(const std::string& uid, const std::string& keeper) {
  DB db;
  db.uid = uid;
  db.generation = 1;
  db.spec.keeper_uid = keeper;
  db.spec.init_mode = cluster::kInitModeNone;
  db.status.healthy = true;
  db.status.current_generation = 1;
  db.status.system_id = kSystemId;
  db.status.timeline_id = 1;
  db.status.xlog_pos = kXLog;
  db.status.listen_address = "127.0.0.1";
  db.status.port = "5432";
  return db;
}
}  // namespace

void Sim::AddMaster(const std::string& uid, const std::string& keeper) {
  DB db = BaseDb(uid, keeper);
  db.spec.role = cluster::kRoleMaster;
  cd.dbs[uid] = db;
  cd.cluster.status.master = uid;
}

void Sim::AddStandby(const std::string& uid, const std::string& keeper, const std::string& master) {
  DB db = BaseDb(uid, keeper);
  db.spec.role = cluster::kRoleStandby;
  db.spec.follow_config = cluster::FollowConfig{cluster::kFollowInternal, master, {}, {}};
  cd.dbs[uid] = db;
}

void Sim::AddProxy(const std::string& uid) { proxies[uid].generation = cd.proxy.generation; }

void Sim::Finish() {
  internal::SetDBSpecFromClusterSpec(cd);
  if (!cd.cluster.status.master.empty() && cd.dbs.count(cd.cluster.status.master)) {
    internal::UpdateMasterFollowers(cd.cluster.status.master, cd);
  }
  for (auto& [uid, db] : cd.dbs) db.status.current_generation = db.generation;
}

void Sim::Healthy(int standbys, ClusterSpec spec) {
  NewCluster(spec);
  AddKeeper("keeper0");
  AddMaster("db0", "keeper0");
  for (int i = 1; i <= standbys; ++i) {
    AddKeeper(fmt::format("keeper{}", i));
    AddStandby(fmt::format("db{}", i), fmt::format("keeper{}", i));
  }
  cd.proxy.generation = 2;
  cd.proxy.spec.master_db_uid = "db0";
  cd.proxy.spec.enabled_proxies = {"proxy0"};
  AddProxy("proxy0");
  Finish();
}

void Sim::HealthySync(int standbys, ClusterSpec spec) {
  spec.synchronous_replication = true;
  Healthy(standbys, spec);
  DB& m = cd.dbs.at("db0");
  m.spec.synchronous_replication = true;
  m.spec.synchronous_standbys = {"db1"};
  m.status.synchronous_standbys = {"db1"};
  keepers["keeper0"].sync_standbys = {"db1"};
}

void Sim::FailKeeper(const std::string& keeper) {
  KeeperSim& k = keepers.at(keeper);
  k.publishes = false;
  const Duration fail = *cd.cluster.spec.WithDefaults().fail_interval;
  state.keeper_error_timers[keeper] = clock.Now() - fail - 1s;
  for (const auto& [uid, db] : cd.dbs) {
    if (db.spec.keeper_uid == keeper) state.db_error_timers[uid] = clock.Now() - fail - 1s;
  }
}

cluster::KeepersInfo Sim::KeeperInfos() {
  cluster::KeepersInfo out;
  for (auto& [uid, ks] : keepers) {
    if (!ks.publishes) continue;
    if (!ks.frozen || ks.info_uid.empty()) ks.info_uid = NextInfoUid();
    cluster::KeeperInfo ki;
    ki.info_uid = ks.info_uid;
    ki.uid = uid;
    ki.cluster_uid = ks.cluster_uid.empty() ? cd.cluster.uid : ks.cluster_uid;
    ki.boot_uuid = "boot-" + uid;
    ki.postgres_binary_version = ks.version;
    ki.can_be_master = ks.can_be_master;
    ki.can_be_synchronous_replica = ks.can_be_sync;
    const DB* db = nullptr;
    for (const auto& [dbuid, d] : cd.dbs) {
      if (d.spec.keeper_uid == uid) db = &d;
    }
    if (ks.has_pg_state && (db != nullptr || ks.reported_db)) {
      cluster::PostgresState ps;
      ps.uid = ks.reported_db ? *ks.reported_db : db->uid;
      int64_t& gen = ks.reported_generation[ps.uid];
      if (ks.converges && db != nullptr) gen = db->generation;
      ps.generation = gen;
      ps.listen_address = "127.0.0.1";
      ps.port = "5432";
      ps.healthy = ks.pg_healthy;
      ps.system_id = ks.system_id;
      ps.timeline_id = ks.timeline;
      ps.xlog_pos = ks.xlog;
      ps.timelines_history = ks.history;
      ps.pg_parameters = ks.pg_parameters;
      ps.synchronous_standbys = ks.sync_standbys;
      ps.older_wal_file = ks.older_wal_file;
      ki.postgres_state = ps;
    }
    out[uid] = ki;
  }
  return out;
}

cluster::ProxiesInfo Sim::ProxyInfos() {
  cluster::ProxiesInfo out;
  for (auto& [uid, ps] : proxies) {
    if (!ps.publishes) continue;
    if (!ps.frozen || ps.info_uid.empty()) ps.info_uid = NextInfoUid();
    if (ps.acks && !ps.frozen) ps.generation = cd.proxy.generation;
    out[uid] = cluster::ProxyInfo{ps.info_uid, uid, ps.generation, ps.timeout};
  }
  return out;
}

const ClusterView& Sim::Step() {
  Deps deps{clock, ids, rng};
  auto r = ComputeClusterView(cd, KeeperInfos(), ProxyInfos(), state, deps);
  EXPECT_TRUE(r.ok()) << r.status();
  if (!r.ok()) return view;
  view = *std::move(r);
  absl::Status inv = CheckInvariants(cd, view.cd, view.active_proxies);
  EXPECT_TRUE(inv.ok()) << "step " << steps << ": " << inv << "\ndecisions:\n"
                        << Decisions() << "\nnext cd:\n"
                        << view.cd;
  prev = cd;
  cd = view.cd;
  state = view.state;
  ++steps;
  return view;
}

const ClusterView& Sim::StepAfter(Duration d) {
  clock.Advance(d);
  return Step();
}

void Sim::StepFails(const std::string& text) {
  Deps deps{clock, ids, rng};
  auto r = ComputeClusterView(cd, KeeperInfos(), ProxyInfos(), state, deps);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::StrContains(std::string(r.status().message()), text)) << r.status();
}

const DB& Sim::Db(const std::string& uid) const {
  auto it = cd.dbs.find(uid);
  if (it == cd.dbs.end()) {
    ADD_FAILURE() << "no db " << uid;
    static const DB kEmpty;
    return kEmpty;
  }
  return it->second;
}

bool Sim::Decided(const std::string& text) const {
  for (const auto& l : view.decisions) {
    if (absl::StrContains(l, text)) return true;
  }
  return false;
}

std::string Sim::Decisions() const {
  std::string s;
  for (const auto& l : view.decisions) s += "  " + l + "\n";
  return s;
}

std::string CaseName(const ::testing::TestParamInfo<Case>& info) {
  std::string n;
  for (char c : info.param.name) n += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return n;
}

}  // namespace stolon::sentinel::testing
