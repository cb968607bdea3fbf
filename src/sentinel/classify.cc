// db classification helpers: type, validity, status buckets, WAL availability, plus small list
// helpers shared by the phases.
#include <algorithm>

#include "common/duration.h"
#include "fmt/ranges.h"
#include "sentinel/internal.h"

namespace stolon::sentinel::internal {
namespace {

constexpr uint64_t kWalSegmentSize = 16ull * 1024 * 1024;
constexpr int64_t kNotIncreasingXLogPosTimes = 10;

const cluster::TimelineHistoryEntry* FindTimeline(const cluster::TimelinesHistory& h, uint64_t tl) {
  for (const auto& e : h) {
    if (e.timeline_id == tl) return &e;
  }
  return nullptr;
}

}  // namespace

DbType TypeOf(const DB& db) {
  if (db.spec.role == cluster::kRoleMaster) return DbType::kMaster;
  if (db.spec.follow_config && db.spec.follow_config->type == cluster::kFollowExternal) {
    return DbType::kMaster;
  }
  return DbType::kStandby;
}

std::string DifferentTimelineBranch(const DB& followed, const DB& db) {
  const uint64_t ftl = followed.status.timeline_id;
  const uint64_t tl = db.status.timeline_id;
  if (ftl < tl) return fmt::format("its timeline {} is ahead of the master's {}", tl, ftl);
  if (ftl == tl) {
    if (tl <= 1) return "";
    const auto* f = FindTimeline(followed.status.timelines_history, tl - 1);
    const auto* d = FindTimeline(db.status.timelines_history, tl - 1);
    if (f == nullptr || d == nullptr || f->switch_point == d->switch_point) return "";
    return fmt::format("timeline {} forked at {} while the master's forked at {}", tl,
                       FormatLsn(d->switch_point), FormatLsn(f->switch_point));
  }
  const auto* f = FindTimeline(followed.status.timelines_history, tl);
  if (f != nullptr && f->switch_point < db.status.xlog_pos) {
    return fmt::format("the master left timeline {} at {} but this db is at {}", tl,
                       FormatLsn(f->switch_point), FormatLsn(db.status.xlog_pos));
  }
  return "";
}

DbValidity ValidityOf(const ClusterData& cd, const DB& db, std::string* why) {
  if (db.status.current_generation == cluster::kNoGeneration) return DbValidity::kUnknown;
  auto m = cd.dbs.find(cd.cluster.status.master);
  if (m == cd.dbs.end()) return DbValidity::kValid;
  const DB& master = m->second;
  if (!db.status.system_id.empty() && db.status.system_id != master.status.system_id) {
    if (why) {
      *why = fmt::format("its systemID {} differs from the master's {}", db.status.system_id,
                         master.status.system_id);
    }
    return DbValidity::kInvalid;
  }
  std::string branch = DifferentTimelineBranch(master, db);
  if (!branch.empty()) {
    if (why) *why = "it is on a different timeline branch: " + branch;
    return DbValidity::kInvalid;
  }
  return DbValidity::kValid;
}

DbStatus StatusOf(const ClusterData& cd, const DB& db, const Ctx& ctx) {
  auto k = cd.keepers.find(db.spec.keeper_uid);
  if (k == cd.keepers.end() || !k->second.status.healthy) return DbStatus::kFailed;
  Duration timeout = *ctx.spec.convergence_timeout;
  if (db.generation == cluster::kInitialGeneration &&
      db.spec.init_mode == cluster::kInitModeResync) {
    timeout = *ctx.spec.sync_timeout;
  }
  switch (DbConvergenceState(db, timeout, ctx)) {
    case Convergence::kFailed:
      return DbStatus::kFailed;
    case Convergence::kConverging:
      return DbStatus::kConverging;
    case Convergence::kConverged:
      break;
  }
  return db.status.healthy ? DbStatus::kGood : DbStatus::kFailed;
}

namespace {
Buckets ValidByStatus(const ClusterData& cd, const Ctx& ctx, DbType type) {
  Buckets b;
  for (const auto& [uid, db] : cd.dbs) {
    if (TypeOf(db) != type) continue;
    DbValidity v = ValidityOf(cd, db);
    if (v == DbValidity::kUnknown) ++b.unknown;
    if (v != DbValidity::kValid) continue;
    switch (StatusOf(cd, db, ctx)) {
      case DbStatus::kGood:
        b.good[uid] = &db;
        break;
      case DbStatus::kFailed:
        b.failed[uid] = &db;
        break;
      case DbStatus::kConverging:
        b.converging[uid] = &db;
        break;
    }
  }
  return b;
}
}  // namespace

Buckets ValidStandbysByStatus(const ClusterData& cd, const Ctx& ctx) {
  return ValidByStatus(cd, ctx, DbType::kStandby);
}
Buckets ValidMastersByStatus(const ClusterData& cd, const Ctx& ctx) {
  return ValidByStatus(cd, ctx, DbType::kMaster);
}

std::string WalFileNameNoTimeline(uint64_t lsn) {
  const uint64_t seg = lsn / kWalSegmentSize;
  const uint64_t per_xlogid = 0x100000000ull / kWalSegmentSize;
  return fmt::format("{:08X}{:08X}", seg / per_xlogid, seg % per_xlogid);
}

bool DbCanSync(const ClusterData& cd, const DB& db, const Ctx& ctx, std::string* why) {
  auto m = cd.dbs.find(cd.cluster.status.master);
  if (m == cd.dbs.end()) return true;
  const DB& master = m->second;
  if (master.status.older_wal_file.empty() || db.uid == master.uid) return true;
  if (TypeOf(db) != DbType::kStandby || db.generation == cluster::kInitialGeneration) return true;
  if (!db.status.healthy || db.status.xlog_pos == master.status.xlog_pos) return true;
  auto n = ctx.state.db_not_increasing_xlog_pos.find(db.uid);
  if (n == ctx.state.db_not_increasing_xlog_pos.end() || n->second <= kNotIncreasingXLogPosTimes) {
    return true;
  }
  const std::string required = WalFileNameNoTimeline(db.status.xlog_pos);
  const std::string& older_full = master.status.older_wal_file;
  // WAL file names are 24 hex digits: timeline (8) + segment (16). Compare without timeline.
  const std::string older = older_full.size() == 24 ? older_full.substr(8) : older_full;
  if (required >= older) return true;
  if (why) {
    *why = fmt::format(
        "its xlogpos {} has not advanced for {} checks and needs WAL segment {} "
        "but the master's oldest is {}",
        FormatLsn(db.status.xlog_pos), n->second, required, older);
  }
  return false;
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

bool SameSet(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  return std::set<std::string>(a.begin(), a.end()) == std::set<std::string>(b.begin(), b.end());
}

std::vector<std::string> Intersect(const std::vector<std::string>& a,
                                   const std::vector<std::string>& b) {
  std::vector<std::string> out;
  for (const auto& s : a) {
    if (Contains(b, s) && !Contains(out, s)) out.push_back(s);
  }
  return out;
}

std::vector<std::string> Difference(const std::vector<std::string>& a,
                                    const std::vector<std::string>& b) {
  std::vector<std::string> out;
  for (const auto& s : a) {
    if (!Contains(b, s) && !Contains(out, s)) out.push_back(s);
  }
  return out;
}

std::string Join(const std::vector<std::string>& v) {
  return "[" + fmt::format("{}", fmt::join(v, ", ")) + "]";
}

std::string Seconds(Duration d) { return FormatGoDuration(d); }

}  // namespace stolon::sentinel::internal
