#include "sentinel/invariants.h"

#include <algorithm>

#include "common/status.h"
#include "fmt/format.h"
#include "sentinel/internal.h"

namespace stolon::sentinel {
namespace {

using cluster::ClusterData;
using internal::DbType;
using internal::TypeOf;

absl::Status Violation(const std::string& what) {
  return absl::FailedPreconditionError("invariant violated: " + what);
}

absl::Status CheckSingleMaster(const ClusterData& prev, const ClusterData& next) {
  const std::string& master = next.cluster.status.master;
  if (!master.empty() && next.dbs.count(master) == 0) {
    return Violation(fmt::format("cluster master {:?} is not a db", master));
  }
  for (const auto& [uid, db] : next.dbs) {
    if (uid == master || TypeOf(db) != DbType::kMaster) continue;
    auto p = prev.dbs.find(uid);
    if (p == prev.dbs.end() || TypeOf(p->second) != DbType::kMaster) {
      return Violation(
          fmt::format("db {} became master-type but the cluster master is {:?}", uid, master));
    }
  }
  const std::string& routed = next.proxy.spec.master_db_uid;
  if (!routed.empty() && routed != master) {
    return Violation(
        fmt::format("proxies are told master {} but the cluster master is {:?}", routed, master));
  }
  return absl::OkStatus();
}

absl::Status CheckReferences(const ClusterData& next) {
  for (const auto& [uid, db] : next.dbs) {
    const auto& fc = db.spec.follow_config;
    if (fc && fc->type == cluster::kFollowInternal && next.dbs.count(fc->db_uid) == 0) {
      return Violation(fmt::format("db {} follows missing db {:?}", uid, fc->db_uid));
    }
    for (const auto& s : db.spec.synchronous_standbys) {
      if (next.dbs.count(s) == 0) {
        return Violation(fmt::format("db {} lists missing synchronous standby {}", uid, s));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status CheckFollowers(const ClusterData& next) {
  for (const auto& [uid, db] : next.dbs) {
    const auto& f = db.spec.followers;
    if (!std::is_sorted(f.begin(), f.end())) {
      return Violation(fmt::format("followers of db {} are not sorted", uid));
    }
    std::vector<std::string> following;
    for (const auto& [ouid, other] : next.dbs) {
      const auto& fc = other.spec.follow_config;
      if (ouid != uid && fc && fc->type == cluster::kFollowInternal && fc->db_uid == uid) {
        following.push_back(ouid);
      }
    }
    for (const auto& x : f) {
      if (!internal::Contains(following, x)) {
        return Violation(fmt::format("db {} lists follower {} that does not follow it", uid, x));
      }
    }
    if (uid == next.cluster.status.master && f != following) {
      return Violation(fmt::format("master db {} followers {} != dbs following it {}", uid,
                                   internal::Join(f), internal::Join(following)));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckGenerations(const ClusterData& prev, const ClusterData& next) {
  for (const auto& [uid, db] : next.dbs) {
    auto p = prev.dbs.find(uid);
    if (p == prev.dbs.end()) {
      if (db.generation != cluster::kInitialGeneration) {
        return Violation(fmt::format("new db {} has generation {}", uid, db.generation));
      }
      continue;
    }
    if (db.generation < p->second.generation) {
      return Violation(fmt::format("db {} generation went back {} -> {}", uid, p->second.generation,
                                   db.generation));
    }
    if (!(db.spec == p->second.spec) && db.generation == p->second.generation) {
      return Violation(fmt::format("db {} spec changed without a generation bump", uid));
    }
  }
  for (const auto& [uid, k] : next.keepers) {
    auto p = prev.keepers.find(uid);
    if (p != prev.keepers.end() && k.generation < p->second.generation) {
      return Violation(fmt::format("keeper {} generation went back", uid));
    }
  }
  if (next.proxy.generation < prev.proxy.generation) {
    return Violation(fmt::format("proxy generation went back {} -> {}", prev.proxy.generation,
                                 next.proxy.generation));
  }
  return absl::OkStatus();
}

absl::Status CheckProxyFence(const ClusterData& prev, const ClusterData& next,
                             const cluster::ProxiesInfo& active) {
  const std::string& was = prev.proxy.spec.master_db_uid;
  const std::string& now = next.proxy.spec.master_db_uid;
  if (now.empty() || now == was) return absl::OkStatus();
  if (!was.empty()) {
    return Violation(
        fmt::format("proxies switched from master {} to {} without an empty-master "
                    "generation in between",
                    was, now));
  }
  for (const auto& [uid, pi] : active) {
    if (pi.generation != prev.proxy.generation) {
      return Violation(
          fmt::format("master {} published while active proxy {} is at generation "
                      "{}, not {}",
                      now, uid, pi.generation, prev.proxy.generation));
    }
  }
  if (next.proxy.generation <= prev.proxy.generation) {
    return Violation("master published without a proxy generation bump");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckInvariants(const ClusterData& prev, const ClusterData& next,
                             const cluster::ProxiesInfo& active_proxies) {
  if (next.format_version != cluster::kCurrentCDFormatVersion) {
    return Violation(fmt::format("formatVersion {}", next.format_version));
  }
  RETURN_IF_ERROR(CheckSingleMaster(prev, next));
  RETURN_IF_ERROR(CheckReferences(next));
  RETURN_IF_ERROR(CheckFollowers(next));
  RETURN_IF_ERROR(CheckGenerations(prev, next));
  RETURN_IF_ERROR(CheckProxyFence(prev, next, active_proxies));
  return absl::OkStatus();
}

}  // namespace stolon::sentinel
