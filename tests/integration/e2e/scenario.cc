#include "integration/e2e/scenario.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdio>

namespace stolon::e2e {

cluster::ClusterSpec E2ESpec(bool sync) {
  cluster::ClusterSpec spec = sentinel::testing::FastSpec();
  spec.proxy_check_interval = 1s;
  spec.proxy_timeout = 3s;
  if (sync) {
    spec.synchronous_replication = true;
    spec.min_synchronous_standbys = 1;
    spec.max_synchronous_standbys = 1;
  }
  return spec;
}

std::string WaitSyncStandby(SentinelTestCluster& c, std::chrono::milliseconds timeout) {
  std::string standby;
  WaitFor(
      [&] {
        auto cd = c.Cd();
        if (!cd) return false;
        auto m = cd->dbs.find(cd->cluster.status.master);
        if (m == cd->dbs.end()) return false;
        const auto& st = m->second.status.synchronous_standbys;
        if (st.size() != 1 || m->second.spec.synchronous_standbys != st) return false;
        auto s = cd->dbs.find(st[0]);
        if (s == cd->dbs.end()) return false;
        auto v =
            c.keeper(m->second.spec.keeper_uid)
                .QueryOne("select count(*) from pg_stat_replication where sync_state = 'sync'");
        if (!v.ok() || *v != "1") return false;
        standby = s->second.spec.keeper_uid;
        return true;
      },
      timeout, 200ms);
  return standby;
}

bool WaitAllConverged(SentinelTestCluster& c, size_t dbs, std::chrono::milliseconds timeout) {
  return WaitFor(
      [&] {
        auto cd = c.Cd();
        if (!cd || cd->cluster.status.phase != cluster::kPhaseNormal || cd->dbs.size() != dbs) {
          return false;
        }
        for (const auto& [uid, db] : cd->dbs) {
          if (!db.status.healthy || db.status.current_generation != db.generation) return false;
        }
        return true;
      },
      timeout, 200ms);
}

std::string StartCluster(SentinelTestCluster& c, const cluster::ClusterSpec& spec, int keepers) {
  if (!c.Init(spec).ok()) return "";
  for (int i = 0; i < keepers; ++i) c.AddKeeper("keeper" + std::to_string(i)).Start();
  c.AddSentinel().Start();
  c.AddProxy().Start();
  const std::string master = c.WaitWritableMaster(180s);
  if (master.empty()) return "";
  if (!c.WaitStreaming(master, keepers - 1, 120s)) return "";
  if (!WaitAllConverged(c, static_cast<size_t>(keepers), 120s)) return "";
  if (spec.synchronous_replication.value_or(false) && WaitSyncStandby(c, 60s).empty()) return "";
  if (!c.WaitProxyRoutesTo(master, 30s)) return "";
  return master;
}

std::optional<nlohmann::json> CtlStatus(SentinelTestCluster& c) {
  std::string out;
  if (c.Ctl({"status", "-f", "json"}, &out) != 0) return std::nullopt;
  auto j = nlohmann::json::parse(out, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

std::string CtlStatusMaster(SentinelTestCluster& c) {
  auto j = CtlStatus(c);
  if (!j || !j->contains("cluster")) return "";
  const auto& cl = (*j)["cluster"];
  if (!cl.value("available", false)) return "";
  return cl.value("master_keeper_uid", "");
}

std::string LastLineWith(const std::string& text, const std::string& needle) {
  const size_t p = text.rfind(needle);
  if (p == std::string::npos) return "";
  const size_t b = text.rfind('\n', p);
  const size_t e = text.find('\n', p);
  const size_t from = b == std::string::npos ? 0 : b + 1;
  return text.substr(from, e == std::string::npos ? std::string::npos : e - from);
}

std::string CdMasterKeeper(SentinelTestCluster& c) {
  auto cd = c.Cd();
  if (!cd) return "";
  auto m = cd->dbs.find(cd->cluster.status.master);
  return m == cd->dbs.end() ? "" : m->second.spec.keeper_uid;
}

std::string DirectConninfo(const TestKeeper& k) {
  return fmt::format("host=127.0.0.1 port={} user={} password={} dbname=postgres", k.pg_port(),
                     keeper::testing::kSuUser, keeper::testing::kSuPassword);
}

std::unique_ptr<ContinuousWriter> StartWriter(SentinelTestCluster& c, const std::string& table) {
  stolon::testing::WriterOptions o;
  o.conninfo = c.proxies().at(0)->Conninfo();
  o.table = table;
  auto w = std::make_unique<ContinuousWriter>(o);
  if (!w->Start(30s)) return nullptr;
  return w;
}

bool WaitAcks(ContinuousWriter& w, int port, int n, std::chrono::milliseconds timeout) {
  const int base = w.Acked(port);
  return WaitFor([&] { return w.Acked(port) >= base + n; }, timeout, 50ms);
}

int64_t ReportWrites(const std::string& scenario, const FaultWrites& f, int connect_failures) {
  const int64_t window = f.unavailable ? f.unavailable->count() : -1;
  const int64_t to_new = f.fault_to_new_master_ack ? f.fault_to_new_master_ack->count() : -1;
  std::printf(
      "[%s] writes: %zu acked (%d before the fault, %d after; %zu by the old master, %zu by the "
      "new); write-unavailability window %lld ms; fault -> first ack by the new master %lld ms; "
      "%d failed connects\n",
      scenario.c_str(), f.acked_ids.size(), f.acked_before, f.acked_after, f.acked_ids_old.size(),
      f.acked_ids_new.size(), static_cast<long long>(window), static_cast<long long>(to_new),
      connect_failures);
  std::fflush(stdout);
  ::testing::Test::RecordProperty(scenario + "_unavailable_ms", static_cast<int>(window));
  ::testing::Test::RecordProperty(scenario + "_fault_to_new_ack_ms", static_cast<int>(to_new));
  ::testing::Test::RecordProperty(scenario + "_acked", static_cast<int>(f.acked_ids.size()));
  return window;
}

void CheckFailoverWrites(SentinelTestCluster& c, ContinuousWriter& w, SteadyTime fault,
                         const std::string& old_master, const std::string& new_master,
                         const std::string& table, const std::string& scenario, bool sync) {
  w.Stop();
  const int old_port = c.keeper(old_master).pg_port();
  const int new_port = c.keeper(new_master).pg_port();
  FaultWrites f = stolon::testing::AnalyzeFault(w.Records(), fault, old_port, new_port);
  ReportWrites(scenario, f, w.ConnectFailures());
  EXPECT_GT(f.acked_before, 0);
  ASSERT_TRUE(f.first_new_id.has_value()) << "the new master never acknowledged a write";
  EXPECT_EQ(f.acked_by_old_after_new, 0)
      << "writes acknowledged by the old master after the new master acknowledged one";
  auto present = stolon::testing::ReadIds(DirectConninfo(c.keeper(new_master)), table);
  ASSERT_TRUE(present.has_value());
  const std::vector<int64_t> lost_new = stolon::testing::Missing(f.acked_ids_new, *present);
  EXPECT_TRUE(lost_new.empty()) << lost_new.size() << " writes acked by the new master missing";
  const std::vector<int64_t> lost = stolon::testing::Missing(f.acked_ids, *present);
  if (sync) {
    EXPECT_TRUE(lost.empty()) << lost.size() << " acknowledged writes lost, first id " << lost[0];
  }
  std::printf("[%s] acknowledged writes missing on the new master: %zu\n", scenario.c_str(),
              lost.size());
  std::fflush(stdout);
  ::testing::Test::RecordProperty(scenario + "_lost", static_cast<int>(lost.size()));
}

bool WaitRejoinedAsStandby(SentinelTestCluster& c, const std::string& uid,
                           const std::string& master, const std::string& table,
                           std::chrono::milliseconds timeout) {
  const std::string standby_ci = DirectConninfo(c.keeper(uid));
  const std::string master_ci = DirectConninfo(c.keeper(master));
  return WaitFor(
      [&] {
        auto rec = c.keeper(uid).QueryOne("select pg_is_in_recovery()::text");
        if (!rec.ok() || *rec != "true") return false;
        auto want = stolon::testing::ReadIds(master_ci, table);
        auto got = stolon::testing::ReadIds(standby_ci, table);
        if (!want || !got || *want != *got) return false;
        auto cd = c.Cd();
        if (!cd) return false;
        const std::string& mdb = cd->cluster.status.master;
        for (const auto& [dbuid, db] : cd->dbs) {
          if (db.spec.keeper_uid != uid) continue;
          return db.spec.role == cluster::kRoleStandby && db.status.healthy &&
                 db.status.current_generation == db.generation && db.spec.follow_config &&
                 db.spec.follow_config->db_uid == mdb && cd->dbs.at(mdb).spec.keeper_uid == master;
        }
        return false;
      },
      timeout, 250ms);
}

void KillMasterUnderWrites(SentinelTestCluster& c, const std::string& old_master,
                           const std::string& new_master, const std::string& table,
                           const std::string& scenario, bool sync) {
  auto w = StartWriter(c, table);
  ASSERT_TRUE(w) << c.Logs();
  ASSERT_TRUE(WaitAcks(*w, c.keeper(old_master).pg_port(), 20, 30s)) << c.Logs();

  const SteadyTime fault = std::chrono::steady_clock::now();
  c.KillKeeperAndPostgres(old_master);
  ASSERT_TRUE(WaitFor([&] { return CdMasterKeeper(c) == new_master; }, 60s)) << c.Logs();
  ASSERT_TRUE(c.WaitProxyRoutesTo(new_master, 60s)) << c.ThroughProxy() << c.Logs();
  // With sync replication commits also need a synchronous standby again (the third keeper's,
  // once the sentinel moved it), hence the longer bound.
  ASSERT_TRUE(WaitAcks(*w, c.keeper(new_master).pg_port(), 10, sync ? 90s : 60s)) << c.Logs();
  CheckFailoverWrites(c, *w, fault, old_master, new_master, table, scenario, sync);
  EXPECT_EQ(CtlStatusMaster(c), new_master);

  c.keeper(old_master).Start();
  ASSERT_TRUE(WaitRejoinedAsStandby(c, old_master, new_master, table, 150s)) << c.Logs();
}

}  // namespace stolon::e2e
