#include "ctl/status.h"

#include <algorithm>
#include <vector>

#include "ctl/tabwriter.h"
#include "fmt/format.h"

namespace stolon::ctl {
namespace {

const char* Bool(bool b) { return b ? "true" : "false"; }

void PrintTree(const cluster::ClusterData& cd, const std::string& db_uid, int level,
               const std::string& prefix, bool tail, std::string& out) {
  auto it = cd.dbs.find(db_uid);
  // A follower listed but missing from dbs (e.g. right after removekeeper) is skipped.
  if (it == cd.dbs.end()) return;
  std::string line = prefix;
  if (level > 0) line += tail ? "└─" : "├─";
  line += it->second.spec.keeper_uid;
  if (db_uid == cd.cluster.status.master) line += " (master)";
  out += line + "\n";
  const auto& followers = it->second.spec.followers;
  for (size_t i = 0; i < followers.size(); ++i) {
    std::string next = prefix + (level > 0 ? (tail ? "  " : "│ ") : "");
    PrintTree(cd, followers[i], level + 1, next, i + 1 == followers.size(), out);
  }
}

std::vector<std::string> SortedSentinelUids(const cluster::SentinelsInfo& s) {
  std::vector<std::string> uids;
  for (const auto& si : s) uids.push_back(si.uid);
  std::sort(uids.begin(), uids.end());
  return uids;
}

}  // namespace

const cluster::DB* FindDBForKeeper(const cluster::ClusterData& cd, const std::string& keeper_uid) {
  for (const auto& [uid, db] : cd.dbs) {
    if (db.spec.keeper_uid == keeper_uid) return &db;
  }
  return nullptr;
}

std::string RenderStatusText(const StatusInput& in) {
  std::string out;
  TabWriter tw;
  out += "=== Active sentinels ===\n\n";
  if (in.sentinels.empty()) {
    out += "No active sentinels\n";
  } else {
    tw.Write("ID\tLEADER\n");
    for (const auto& uid : SortedSentinelUids(in.sentinels)) {
      tw.Write(fmt::format("{}\t{}\n", uid, Bool(!in.leader_uid.empty() && uid == in.leader_uid)));
    }
    out += tw.Flush();
  }

  out += "\n=== Active proxies ===\n\n";
  if (in.proxies.empty()) {
    out += "No active proxies\n";
  } else {
    tw.Write("ID\n");
    for (const auto& [uid, pi] : in.proxies) tw.Write(pi.uid.empty() ? uid + "\n" : pi.uid + "\n");
    out += tw.Flush();
  }

  const auto& cd = in.cd;
  out += "\n=== Keepers ===\n\n";
  if (cd.keepers.empty()) {
    out += "No keepers available\n\n";
  } else {
    tw.Write(
        "UID\tHEALTHY\tPG LISTENADDRESS\tPG HEALTHY\tPG WANTEDGENERATION\tPG CURRENTGENERATION\n");
    for (const auto& [uid, k] : cd.keepers) {
      if (const cluster::DB* db = FindDBForKeeper(cd, uid)) {
        std::string addr = db->status.listen_address.empty()
                               ? "(unknown)"
                               : db->status.listen_address + ":" + db->status.port;
        tw.Write(fmt::format("{}\t{}\t{}\t{}\t{}\t{}\t\n", uid, Bool(k.status.healthy), addr,
                             Bool(db->status.healthy), db->generation,
                             db->status.current_generation));
      } else {
        tw.Write(fmt::format("{}\t{}\t(no db assigned)\t\t\t\t\n", uid, Bool(k.status.healthy)));
      }
    }
    out += tw.Flush();
  }

  const std::string& master = cd.cluster.status.master;
  auto mdb = cd.dbs.find(master);
  if (master.empty() || mdb == cd.dbs.end()) {
    out += "No cluster available\n";
    return out;
  }
  out += "\n=== Cluster Info ===\n\n";
  out += "Master Keeper: " + mdb->second.spec.keeper_uid + "\n";
  out += "\n===== Keepers/DB tree =====\n\n";
  PrintTree(cd, master, 0, "", true, out);
  out += "\n";
  return out;
}

nlohmann::json RenderStatusJson(const StatusInput& in) {
  using nlohmann::json;
  json sentinels = json::array();
  for (const auto& uid : SortedSentinelUids(in.sentinels)) {
    sentinels.push_back({{"uid", uid}, {"leader", !in.leader_uid.empty() && uid == in.leader_uid}});
  }
  json proxies = json::array();
  for (const auto& [uid, pi] : in.proxies) {
    proxies.push_back({{"uid", pi.uid.empty() ? uid : pi.uid}, {"generation", pi.generation}});
  }
  json keepers = json::array();
  for (const auto& [uid, k] : in.cd.keepers) {
    const cluster::DB* db = FindDBForKeeper(in.cd, uid);
    json jk = {{"uid", uid}, {"healthy", k.status.healthy}};
    if (db) {
      jk["listen_address"] = db->status.listen_address.empty()
                                 ? std::string("(unknown)")
                                 : db->status.listen_address + ":" + db->status.port;
      jk["pg_healthy"] = db->status.healthy;
      jk["pg_wanted_generation"] = db->generation;
      jk["pg_current_generation"] = db->status.current_generation;
    } else {
      jk["listen_address"] = "(no db assigned)";
      jk["pg_healthy"] = false;
      jk["pg_wanted_generation"] = 0;
      jk["pg_current_generation"] = 0;
    }
    keepers.push_back(std::move(jk));
  }
  json cluster = {{"available", false}, {"master_keeper_uid", ""}, {"master_db_uid", ""}};
  auto mdb = in.cd.dbs.find(in.cd.cluster.status.master);
  if (!in.cd.cluster.status.master.empty() && mdb != in.cd.dbs.end()) {
    cluster = {{"available", true},
               {"master_keeper_uid", mdb->second.spec.keeper_uid},
               {"master_db_uid", mdb->first}};
  }
  return {
      {"sentinels", sentinels}, {"proxies", proxies}, {"keepers", keepers}, {"cluster", cluster}};
}

}  // namespace stolon::ctl
