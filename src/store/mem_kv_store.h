// MemKvStore: an in-process KvStore with etcd v3 semantics, for tests of the layers above (domain
// Store, Election, sentinel, proxy, stolonctl) without an etcd.
//
// Same behaviour as EtcdKvStore: one revision counter starting at 1, create/mod revisions, CAS on
// mod revision (0 = create), leases deleting their keys on expiry (one revision per expired
// lease, as etcd's revoke), prefix watches with history. Lease expiry is measured with the
// injected Clock and applied lazily at the start of every call (and by Watch::Next and
// ExpireLeases()), so with a FakeClock: Advance() then any call sees the keys gone.
// Thread-safe. Watches must not outlive the store.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "store/kv_store.h"

namespace stolon::store {

class MemKvStore final : public KvStore {
 public:
  // `clock` must outlive the store.
  explicit MemKvStore(const Clock& clock = RealClock::Instance());
  ~MemKvStore() override;
  MemKvStore(const MemKvStore&) = delete;
  MemKvStore& operator=(const MemKvStore&) = delete;

  absl::StatusOr<std::optional<KvPair>> Get(const std::string& key) override;
  absl::StatusOr<std::vector<KvPair>> List(const std::string& prefix) override;
  absl::StatusOr<int64_t> Put(const std::string& key, const std::string& value,
                              std::optional<std::chrono::seconds> ttl = std::nullopt) override;
  absl::StatusOr<int64_t> CompareAndSwap(const std::string& key, const std::string& value,
                                         int64_t expected_mod_revision,
                                         LeaseId lease = kNoLease) override;
  absl::Status Delete(const std::string& key) override;
  absl::StatusOr<std::unique_ptr<KvWatch>> Watch(const std::string& prefix,
                                                 int64_t start_revision = 0) override;
  absl::StatusOr<LeaseId> GrantLease(std::chrono::seconds ttl) override;
  absl::StatusOr<std::chrono::seconds> KeepAliveLease(LeaseId lease = kNoLease) override;
  absl::Status RevokeLease(LeaseId lease = kNoLease) override;

  // Deletes the keys of every lease whose deadline has passed on the clock.
  void ExpireLeases();
  // The current store revision (the revision of the last write; 1 when empty).
  int64_t revision() const;

  // How many events a watch can replay from the past; older start revisions are "compacted".
  static constexpr size_t kHistoryLimit = 10000;

 private:
  struct Lease {
    std::chrono::seconds ttl;
    SteadyTime deadline;
    std::set<std::string> keys;
  };
  struct WatchState;
  class MemWatch;

  void ExpireLeasesLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  int64_t PutLocked(const std::string& key, const std::string& value, LeaseId lease)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Deletes `key` at revision `rev` (no revision bump); returns whether it existed.
  bool DeleteLocked(const std::string& key, int64_t rev) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PublishLocked(const KvEvent& ev) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RevokeLocked(LeaseId lease) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Clock& clock_;
  mutable absl::Mutex mu_;
  std::map<std::string, KvPair> kvs_ ABSL_GUARDED_BY(mu_);
  std::map<LeaseId, Lease> leases_ ABSL_GUARDED_BY(mu_);
  int64_t revision_ ABSL_GUARDED_BY(mu_) = 1;
  LeaseId next_lease_ ABSL_GUARDED_BY(mu_) = 0x694d0000;  // arbitrary, etcd-looking ids
  std::deque<KvEvent> history_ ABSL_GUARDED_BY(mu_);
  std::vector<std::weak_ptr<WatchState>> watches_ ABSL_GUARDED_BY(mu_);
};

}  // namespace stolon::store
