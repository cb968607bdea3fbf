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

bool Election::Stopping() const {
  absl::MutexLock l(&mu_);
  return stopping_;
}

void Election::Loop(std::string uid) {
  Session s{.uid = std::move(uid)};
  while (!Stopping()) {
    Step step = EnsureSession(s);
    if (step == Step::kProceed) step = EnsureCandidateKey(s);
    if (step == Step::kProceed) step = RenewSession(s);
    if (step == Step::kProceed) step = DecideLeadership(s);
    if (step == Step::kRestart) continue;
    if (!Sleep(step == Step::kCheck ? options_.check_interval : options_.retry_interval)) break;
  }
  SetLeader(false);
}

void Election::DropSession(Session& s, const std::string& why) {
  spdlog::info(
      "election: session lost, campaigning again{}",
      LogFields({{"uid", s.uid}, {"lease", fmt::format("{:x}", s.lease)}, {"reason", why}}));
  SetLeader(false);
  s.lease = kNoLease;
  s.key_created = false;
  absl::MutexLock l(&mu_);
  lease_ = kNoLease;
}

// 1. A session: a lease with the session TTL.
Election::Step Election::EnsureSession(Session& s) {
  if (s.lease != kNoLease) return Step::kProceed;
  const SteadyTime t0 = clock_.Now();
  auto granted = kv_.GrantLease(options_.session_ttl);
  if (!granted.ok()) {
    SetLeader(false);
    spdlog::warn("election: cannot create a session: {}", std::string(granted.status().message()));
    return Step::kRetry;
  }
  s.lease = *granted;
  s.lease_deadline = t0 + options_.session_ttl;
  s.last_renew = t0;
  s.key = fmt::format("{}/{:x}", prefix_, s.lease);
  absl::MutexLock l(&mu_);
  lease_ = s.lease;
  return Step::kProceed;
}

// 2. Our candidate key, created once per session (a retry after a timeout finds it there).
Election::Step Election::EnsureCandidateKey(Session& s) {
  if (s.key_created) return Step::kProceed;
  auto rev = kv_.CompareAndSwap(s.key, s.uid, 0, s.lease);
  if (rev.ok() || absl::IsAborted(rev.status())) {
    s.key_created = true;
    spdlog::debug("election: candidate key {} created", s.key);
    return Step::kProceed;
  }
  if (absl::IsNotFound(rev.status())) {
    DropSession(s, "lease not found while creating the candidate key");
    return Step::kRestart;
  }
  SetLeader(false);
  spdlog::warn("election: cannot create candidate key {}: {}", s.key,
               std::string(rev.status().message()));
  if (clock_.Now() >= s.lease_deadline) DropSession(s, "session expired");
  return Step::kRetry;
}

// 3. Keep the session alive: renew every third of the TTL.
Election::Step Election::RenewSession(Session& s) {
  s.renewed = true;
  const auto renew_every =
      std::chrono::duration_cast<std::chrono::milliseconds>(options_.session_ttl) / 3;
  if (clock_.Now() - s.last_renew < renew_every) return Step::kProceed;
  const SteadyTime t0 = clock_.Now();
  auto ttl = kv_.KeepAliveLease(s.lease);
  if (ttl.ok()) {
    s.lease_deadline = t0 + *ttl;
    s.last_renew = t0;
    return Step::kProceed;
  }
  if (absl::IsNotFound(ttl.status())) {
    DropSession(s, std::string(ttl.status().message()));
    return Step::kRestart;
  }
  s.renewed = false;
  spdlog::warn("election: cannot renew session: {}", std::string(ttl.status().message()));
  if (clock_.Now() >= s.lease_deadline) {
    DropSession(s, "session not renewed before its TTL");
    return Step::kRestart;
  }
  return Step::kProceed;
}

// 4. Who leads? The oldest candidate key; we lead while our session is surely alive.
Election::Step Election::DecideLeadership(Session& s) {
  auto kvs = kv_.List(prefix_ + "/");
  if (!kvs.ok()) {
    SetLeader(false);
    spdlog::warn("election: cannot read candidates: {}", std::string(kvs.status().message()));
    return Step::kRetry;
  }
  const KvPair* oldest = Oldest(*kvs);
  const bool ours_present =
      std::any_of(kvs->begin(), kvs->end(), [&](const KvPair& kv) { return kv.key == s.key; });
  if (!ours_present) {
    // Deleted by hand or by an expiry we did not notice yet: start a new session.
    DropSession(s, "candidate key disappeared");
    return Step::kRestart;
  }
  const bool leader =
      s.renewed && oldest && oldest->key == s.key && clock_.Now() < s.lease_deadline;
  if (leader != leader_.load()) {
    spdlog::info("election: {}{}", leader ? "elected leader" : "not the leader",
                 LogFields({{"uid", s.uid}, {"leader", oldest ? oldest->value : ""}}));
  }
  SetLeader(leader);
  return s.renewed ? Step::kCheck : Step::kRetry;
}

}  // namespace stolon::store
