#include "keeper/probe.h"

#include "spdlog/spdlog.h"

namespace stolon::keeper {

cluster::PostgresState ProbePGState(Instance& pg, const DBLocalState& dbls,
                                    const KeeperConfig& config) {
  cluster::PostgresState st;
  st.uid = dbls.uid;
  st.generation = dbls.generation;
  st.listen_address = config.pg_advertise_address;
  st.port = config.pg_advertise_port;
  // During an init or resync the instance's state means nothing to the sentinel.
  if (dbls.initializing) return st;
  auto initialized = pg.IsInitialized();
  if (!initialized.ok() || !*initialized) return st;
  if (auto probe = pg.ProbeNewConnection(); !probe.ok()) {
    spdlog::warn("reporting postgres unhealthy: it accepts no new connection ({})",
                 std::string(probe.message()));
    return st;
  }
  auto params = pg.GetConfigFilePGParameters();
  if (!params.ok()) {
    spdlog::debug("cannot get configured pg parameters: {}", params.status().ToString());
    return st;
  }
  st.pg_parameters = postgresql::FilterManagedParameters(*params);
  auto sync = pg.GetSyncStandbys();
  if (!sync.ok()) {
    spdlog::debug("cannot get sync standbys: {}", sync.status().ToString());
    return st;
  }
  st.synchronous_standbys = *sync;
  auto sd = pg.GetSystemData();
  if (!sd.ok()) {
    spdlog::debug("error getting pg state: {}", sd.status().ToString());
    return st;
  }
  st.system_id = sd->system_id;
  st.timeline_id = sd->timeline_id;
  st.xlog_pos = sd->xlog_pos;
  if (sd->timeline_id > 1) {
    auto h = pg.GetTimelinesHistory(sd->timeline_id);
    if (!h.ok()) {
      spdlog::debug("error getting timeline history: {}", h.status().ToString());
      return st;
    }
    cluster::TimelinesHistory last = *h;
    if (last.size() > 2) last.erase(last.begin(), last.end() - 2);
    st.timelines_history = std::move(last);
  }
  if (auto w = pg.OlderWalFile(); w.ok()) {
    st.older_wal_file = *w;
  } else {
    spdlog::warn("cannot get the older wal file: {}", std::string(w.status().message()));
  }
  st.healthy = true;
  return st;
}

}  // namespace stolon::keeper
