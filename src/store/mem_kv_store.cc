#include "store/mem_kv_store.h"

#include <algorithm>

#include "fmt/format.h"

namespace stolon::store {

std::string PrefixRangeEnd(const std::string& prefix) {
  std::string end = prefix;
  while (!end.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(end.back());
    if (last < 0xff) {
      ++last;
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

namespace {
bool HasPrefix(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}
}  // namespace

// Shared between the store (producer) and one MemWatch (consumer).
struct MemKvStore::WatchState {
  std::string prefix;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<KvEvent> pending;
  bool closed = false;  // the store went away
};

class MemKvStore::MemWatch final : public KvWatch {
 public:
  MemWatch(MemKvStore* store, std::shared_ptr<WatchState> state)
      : store_(store), state_(std::move(state)) {}

  absl::StatusOr<std::vector<KvEvent>> Next(std::chrono::milliseconds timeout) override {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      {
        std::unique_lock l(state_->mu);
        if (state_->closed) return absl::UnavailableError("memory store closed: watch ended");
      }
      // Lease expiry is lazy: apply it so that TTL deletions show up while we wait.
      store_->ExpireLeases();
      std::unique_lock l(state_->mu);
      if (!state_->pending.empty()) {
        std::vector<KvEvent> out;
        out.swap(state_->pending);
        return out;
      }
      auto now = std::chrono::steady_clock::now();
      if (now >= deadline) return std::vector<KvEvent>{};
      // Wake at least every 50ms to apply lease expiry of a real clock.
      state_->cv.wait_for(l, std::min<std::chrono::steady_clock::duration>(
                                 deadline - now, std::chrono::milliseconds(50)));
    }
  }

 private:
  MemKvStore* store_;
  std::shared_ptr<WatchState> state_;
};

MemKvStore::MemKvStore(const Clock& clock) : clock_(clock) {}

MemKvStore::~MemKvStore() {
  absl::MutexLock l(&mu_);
  for (auto& w : watches_) {
    if (auto s = w.lock()) {
      std::lock_guard wl(s->mu);
      s->closed = true;
      s->cv.notify_all();
    }
  }
}

void MemKvStore::ExpireLeases() {
  absl::MutexLock l(&mu_);
  ExpireLeasesLocked();
}

int64_t MemKvStore::revision() const {
  absl::MutexLock l(&mu_);
  return revision_;
}

void MemKvStore::ExpireLeasesLocked() {
  const SteadyTime now = clock_.Now();
  std::vector<LeaseId> expired;
  for (const auto& [id, lease] : leases_) {
    if (lease.deadline <= now) expired.push_back(id);
  }
  for (LeaseId id : expired) RevokeLocked(id);
}

void MemKvStore::RevokeLocked(LeaseId id) {
  auto it = leases_.find(id);
  if (it == leases_.end()) return;
  std::set<std::string> keys = std::move(it->second.keys);
  leases_.erase(it);
  if (keys.empty()) return;
  // Like etcd, all keys of a lease go in one revision.
  const int64_t rev = ++revision_;
  for (const auto& k : keys) DeleteLocked(k, rev);
}

void MemKvStore::PublishLocked(const KvEvent& ev) {
  history_.push_back(ev);
  if (history_.size() > kHistoryLimit) history_.pop_front();
  auto it = watches_.begin();
  while (it != watches_.end()) {
    auto s = it->lock();
    if (!s) {
      it = watches_.erase(it);
      continue;
    }
    if (HasPrefix(ev.kv.key, s->prefix)) {
      std::lock_guard wl(s->mu);
      s->pending.push_back(ev);
      s->cv.notify_all();
    }
    ++it;
  }
}

int64_t MemKvStore::PutLocked(const std::string& key, const std::string& value, LeaseId lease) {
  const int64_t rev = ++revision_;
  auto [it, inserted] = kvs_.try_emplace(key);
  KvPair& kv = it->second;
  if (inserted) {
    kv.key = key;
    kv.create_revision = rev;
  } else if (kv.lease != kNoLease && kv.lease != lease) {
    if (auto l = leases_.find(kv.lease); l != leases_.end()) l->second.keys.erase(key);
  }
  kv.value = value;
  kv.mod_revision = rev;
  kv.lease = lease;
  if (lease != kNoLease) leases_.at(lease).keys.insert(key);
  PublishLocked(KvEvent{KvEvent::Type::kPut, kv});
  return rev;
}

bool MemKvStore::DeleteLocked(const std::string& key, int64_t rev) {
  auto it = kvs_.find(key);
  if (it == kvs_.end()) return false;
  if (it->second.lease != kNoLease) {
    if (auto l = leases_.find(it->second.lease); l != leases_.end()) l->second.keys.erase(key);
  }
  kvs_.erase(it);
  KvEvent ev{KvEvent::Type::kDelete, KvPair{.key = key, .mod_revision = rev}};
  PublishLocked(ev);
  return true;
}

absl::StatusOr<std::optional<KvPair>> MemKvStore::Get(const std::string& key) {
  absl::MutexLock l(&mu_);
  ExpireLeasesLocked();
  auto it = kvs_.find(key);
  if (it == kvs_.end()) return std::optional<KvPair>();
  return std::optional<KvPair>(it->second);
}

absl::StatusOr<std::vector<KvPair>> MemKvStore::List(const std::string& prefix) {
  absl::MutexLock l(&mu_);
  ExpireLeasesLocked();
  std::vector<KvPair> out;
  for (auto it = kvs_.lower_bound(prefix); it != kvs_.end() && HasPrefix(it->first, prefix); ++it) {
    out.push_back(it->second);
  }
  return out;
}

static std::chrono::seconds CeilSeconds(std::chrono::seconds ttl) {
  return std::max(ttl, std::chrono::seconds(1));
}

absl::StatusOr<int64_t> MemKvStore::Put(const std::string& key, const std::string& value,
                                        std::optional<std::chrono::seconds> ttl) {
  if (key.empty()) return absl::InvalidArgumentError("empty key");
  absl::MutexLock l(&mu_);
  ExpireLeasesLocked();
  LeaseId lease = kNoLease;
  if (ttl) {
    lease = ++next_lease_;
    leases_[lease] = Lease{CeilSeconds(*ttl), clock_.Now() + CeilSeconds(*ttl), {}};
  }
  return PutLocked(key, value, lease);
}

absl::StatusOr<int64_t> MemKvStore::CompareAndSwap(const std::string& key, const std::string& value,
                                                   int64_t expected_mod_revision, LeaseId lease) {
  if (key.empty()) return absl::InvalidArgumentError("empty key");
  absl::MutexLock l(&mu_);
  ExpireLeasesLocked();
  auto it = kvs_.find(key);
  const int64_t current = it == kvs_.end() ? 0 : it->second.mod_revision;
  if (current != expected_mod_revision) {
    return absl::AbortedError(
        expected_mod_revision == 0
            ? fmt::format("key {} already exists", key)
            : fmt::format("key {} was modified (expected mod revision {}, current {})", key,
                          expected_mod_revision, current));
  }
  if (lease != kNoLease && !leases_.contains(lease)) {
    return absl::NotFoundError(fmt::format("lease {:x} not found", lease));
  }
  return PutLocked(key, value, lease);
}

absl::Status MemKvStore::Delete(const std::string& key) {
  absl::MutexLock l(&mu_);
  ExpireLeasesLocked();
  if (!kvs_.contains(key)) return absl::OkStatus();
  DeleteLocked(key, ++revision_);
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<KvWatch>> MemKvStore::Watch(const std::string& prefix,
                                                           int64_t start_revision) {
  absl::MutexLock l(&mu_);
  ExpireLeasesLocked();
  auto state = std::make_shared<WatchState>();
  state->prefix = prefix;
  if (start_revision != 0 && start_revision <= revision_) {
    if (!history_.empty() && history_.front().kv.mod_revision > start_revision &&
        history_.size() == kHistoryLimit) {
      return absl::OutOfRangeError(
          fmt::format("watch from revision {}: history compacted (oldest kept revision {})",
                      start_revision, history_.front().kv.mod_revision));
    }
    for (const auto& ev : history_) {
      if (ev.kv.mod_revision >= start_revision && HasPrefix(ev.kv.key, prefix)) {
        state->pending.push_back(ev);
      }
    }
  }
  watches_.push_back(state);
  return std::unique_ptr<KvWatch>(new MemWatch(this, std::move(state)));
}

absl::StatusOr<LeaseId> MemKvStore::GrantLease(std::chrono::seconds ttl) {
  absl::MutexLock l(&mu_);
  ExpireLeasesLocked();
  const LeaseId id = ++next_lease_;
  leases_[id] = Lease{CeilSeconds(ttl), clock_.Now() + CeilSeconds(ttl), {}};
  return id;
}

absl::StatusOr<std::chrono::seconds> MemKvStore::KeepAliveLease(LeaseId lease) {
  absl::MutexLock l(&mu_);
  ExpireLeasesLocked();
  auto it = leases_.find(lease);
  if (it == leases_.end()) {
    return absl::NotFoundError(fmt::format("lease {:x} not found (expired or revoked)", lease));
  }
  it->second.deadline = clock_.Now() + it->second.ttl;
  return it->second.ttl;
}

absl::Status MemKvStore::RevokeLease(LeaseId lease) {
  absl::MutexLock l(&mu_);
  ExpireLeasesLocked();
  RevokeLocked(lease);
  return absl::OkStatus();
}

}  // namespace stolon::store
