#include "store/election.h"

#include <algorithm>

#include "common/log.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"

namespace stolon::store {

namespace {
// The candidate with the lowest create revision, or nullptr.
const KvPair* Oldest(const std::vector<KvPair>& kvs) {
  auto it = std::min_element(kvs.begin(), kvs.end(), [](const KvPair& a, const KvPair& b) {
    return a.create_revision < b.create_revision;
  });
  return it == kvs.end() ? nullptr : &*it;
}
}  // namespace

Election::Election(KvStore& kv, std::string prefix, ElectionOptions options, const Clock& clock)
    : kv_(kv), prefix_(std::move(prefix)), options_(std::move(options)), clock_(clock) {}

Election::~Election() { Stop(); }

void Election::RunForElection(std::string uid) {
  {
    absl::MutexLock l(&mu_);
    stopping_ = false;
  }
  thread_ = std::thread([this, uid = std::move(uid)] { Loop(uid); });
}

void Election::Stop() {
  {
    absl::MutexLock l(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
  LeaseId lease;
  {
    absl::MutexLock l(&mu_);
    lease = lease_;
    lease_ = kNoLease;
  }
  SetLeader(false);
  if (lease != kNoLease) {
    // Revoking deletes our candidate key, so another candidate does not wait for the TTL.
    if (auto s = kv_.RevokeLease(lease); !s.ok()) {
      spdlog::warn("election: cannot revoke session lease {:x}: {}", lease,
                   std::string(s.message()));
    }
  }
}

bool Election::Sleep(std::chrono::milliseconds d) {
  absl::MutexLock l(&mu_);
  return !mu_.AwaitWithTimeout(absl::Condition(&stopping_), absl::FromChrono(d));
}

void Election::SetLeader(bool leader) {
  bool was = leader_.exchange(leader);
  if (was == leader) return;
  if (leader) ++leadership_count_;
  {
    absl::MutexLock l(&mu_);  // its release re-evaluates WaitForLeader's condition
  }
  if (options_.on_change) options_.on_change(leader);
}

bool Election::WaitForLeader(bool leader, std::chrono::milliseconds timeout) const {
  auto is_wanted = [this, leader] { return leader_.load() == leader; };
  absl::MutexLock l(&mu_);
  return mu_.AwaitWithTimeout(absl::Condition(&is_wanted), absl::FromChrono(timeout));
}

absl::StatusOr<std::string> ReadElectionLeader(KvStore& kv, const std::string& prefix) {
  auto kvs = kv.List(prefix + "/");
  if (!kvs.ok()) return kvs.status();
  const KvPair* oldest = Oldest(*kvs);
  if (!oldest) {
    return absl::NotFoundError(fmt::format("election: no leader (no candidate under {}/)", prefix));
  }
  return oldest->value;
}

absl::StatusOr<std::string> Election::Leader() { return ReadElectionLeader(kv_, prefix_); }

void Election::Loop(std::string uid) {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  LeaseId lease = kNoLease;
  std::string key;
  bool key_created = false;
  SteadyTime lease_deadline{};  // the lease surely expires by then unless renewed
  SteadyTime last_renew{};
  const auto renew_every = duration_cast<milliseconds>(options_.session_ttl) / 3;

  auto drop_session = [&](const std::string& why) {
    spdlog::info("election: session lost, campaigning again{}",
                 LogFields({{"uid", uid}, {"lease", fmt::format("{:x}", lease)}, {"reason", why}}));
    SetLeader(false);
    lease = kNoLease;
    key_created = false;
    absl::MutexLock l(&mu_);
    lease_ = kNoLease;
  };

  while (true) {
    {
      absl::MutexLock l(&mu_);
      if (stopping_) break;
    }
    // 1. A session.
    if (lease == kNoLease) {
      const SteadyTime t0 = clock_.Now();
      auto granted = kv_.GrantLease(options_.session_ttl);
      if (!granted.ok()) {
        SetLeader(false);
        spdlog::warn("election: cannot create a session: {}",
                     std::string(granted.status().message()));
        if (!Sleep(options_.retry_interval)) break;
        continue;
      }
      lease = *granted;
      lease_deadline = t0 + options_.session_ttl;
      last_renew = t0;
      key = fmt::format("{}/{:x}", prefix_, lease);
      absl::MutexLock l(&mu_);
      lease_ = lease;
    }
    // 2. Our candidate key (created once per session; a retry after a timeout finds it there).
    if (!key_created) {
      auto rev = kv_.CompareAndSwap(key, uid, 0, lease);
      if (rev.ok() || absl::IsAborted(rev.status())) {
        key_created = true;
        spdlog::debug("election: candidate key {} created", key);
      } else if (absl::IsNotFound(rev.status())) {
        drop_session("lease not found while creating the candidate key");
        continue;
      } else {
        SetLeader(false);
        spdlog::warn("election: cannot create candidate key {}: {}", key,
                     std::string(rev.status().message()));
        if (clock_.Now() >= lease_deadline) drop_session("session expired");
        if (!Sleep(options_.retry_interval)) break;
        continue;
      }
    }
    // 3. Keep the session alive.
    bool session_ok = true;
    if (clock_.Now() - last_renew >= renew_every) {
      const SteadyTime t0 = clock_.Now();
      auto ttl = kv_.KeepAliveLease(lease);
      if (ttl.ok()) {
        lease_deadline = t0 + *ttl;
        last_renew = t0;
      } else if (absl::IsNotFound(ttl.status())) {
        drop_session(std::string(ttl.status().message()));
        continue;
      } else {
        session_ok = false;
        spdlog::warn("election: cannot renew session: {}", std::string(ttl.status().message()));
        if (clock_.Now() >= lease_deadline) {
          drop_session("session not renewed before its TTL");
          continue;
        }
      }
    }
    // 4. Who leads? The oldest candidate key.
    auto kvs = kv_.List(prefix_ + "/");
    if (!kvs.ok()) {
      SetLeader(false);
      spdlog::warn("election: cannot read candidates: {}", std::string(kvs.status().message()));
      if (!Sleep(options_.retry_interval)) break;
      continue;
    }
    const KvPair* oldest = Oldest(*kvs);
    bool ours_present =
        std::any_of(kvs->begin(), kvs->end(), [&](const KvPair& kv) { return kv.key == key; });
    if (!ours_present) {
      // Deleted by hand or by an expiry we did not notice yet: start a new session.
      drop_session("candidate key disappeared");
      continue;
    }
    const bool leader = session_ok && oldest && oldest->key == key && clock_.Now() < lease_deadline;
    if (leader != leader_.load()) {
      spdlog::info("election: {}{}", leader ? "elected leader" : "not the leader",
                   LogFields({{"uid", uid}, {"leader", oldest ? oldest->value : ""}}));
    }
    SetLeader(leader);
    if (!Sleep(session_ok ? options_.check_interval : options_.retry_interval)) break;
  }
  SetLeader(false);
}

}  // namespace stolon::store
