// `stolonctl status`: the cluster overview in stolon's text layout and as JSON.
#pragma once

#include <optional>
#include <string>

#include "cluster/cluster.h"
#include "nlohmann/json.hpp"

namespace stolon::ctl {

// Everything `status` shows, gathered from the store.
struct StatusInput {
  cluster::SentinelsInfo sentinels;  // live sentinels (TTL'd infos)
  std::string leader_uid;            // elected sentinel, "" when none
  cluster::ProxiesInfo proxies;      // live proxies
  cluster::ClusterData cd;           // current clusterdata
};

// The text layout of stolon v0.17 (tabwriter-aligned tables and the keepers/DB tree).
std::string RenderStatusText(const StatusInput& in);

// The JSON form:
// {"sentinels":[{"uid","leader"}],"proxies":[{"uid","generation"}],
//  "keepers":[{"uid","listen_address","healthy","pg_healthy","pg_wanted_generation",
//              "pg_current_generation"}],
//  "cluster":{"available","master_keeper_uid","master_db_uid"}}
nlohmann::json RenderStatusJson(const StatusInput& in);

// The db assigned to `keeper_uid`, or nullptr.
const cluster::DB* FindDBForKeeper(const cluster::ClusterData& cd, const std::string& keeper_uid);

}  // namespace stolon::ctl
