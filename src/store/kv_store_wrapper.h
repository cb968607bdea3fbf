// KvStoreWrapper: forwards every call to another KvStore, so a subclass overrides only what it
// changes (leveldb's EnvWrapper). FaultyKvStore: a wrapper that makes chosen operations fail with
// kUnavailable, for tests of how callers survive a store outage or a lost lease.
#pragma once

#include <array>
#include <atomic>
#include <string>

#include "store/kv_store.h"

namespace stolon::store {

class KvStoreWrapper : public KvStore {
 public:
  // `target` must outlive the wrapper.
  explicit KvStoreWrapper(KvStore& target) : target_(target) {}
  KvStore& target() { return target_; }

  absl::StatusOr<std::optional<KvPair>> Get(const std::string& key) override {
    return target_.Get(key);
  }
  absl::StatusOr<std::vector<KvPair>> List(const std::string& prefix) override {
    return target_.List(prefix);
  }
  absl::StatusOr<int64_t> Put(const std::string& key, const std::string& value,
                              std::optional<std::chrono::seconds> ttl = std::nullopt) override {
    return target_.Put(key, value, ttl);
  }
  absl::StatusOr<int64_t> CompareAndSwap(const std::string& key, const std::string& value,
                                         int64_t expected_mod_revision,
                                         LeaseId lease = kNoLease) override {
    return target_.CompareAndSwap(key, value, expected_mod_revision, lease);
  }
  absl::Status Delete(const std::string& key) override { return target_.Delete(key); }
  absl::StatusOr<std::unique_ptr<KvWatch>> Watch(const std::string& prefix,
                                                 int64_t start_revision = 0) override {
    return target_.Watch(prefix, start_revision);
  }
  absl::StatusOr<LeaseId> GrantLease(std::chrono::seconds ttl) override {
    return target_.GrantLease(ttl);
  }
  absl::StatusOr<std::chrono::seconds> KeepAliveLease(LeaseId lease = kNoLease) override {
    return target_.KeepAliveLease(lease);
  }
  absl::Status RevokeLease(LeaseId lease = kNoLease) override { return target_.RevokeLease(lease); }

 private:
  KvStore& target_;
};

// The operations of KvStore, to choose which ones FaultyKvStore fails.
enum class KvOp {
  kGet,
  kList,
  kPut,
  kCompareAndSwap,
  kDelete,
  kWatch,
  kGrantLease,
  kKeepAliveLease,
  kRevokeLease
};
inline constexpr size_t kKvOpCount = 9;
const char* KvOpName(KvOp op);

// Fails chosen operations with kUnavailable ("injected fault: <op> unavailable") without calling
// the target. Thread-safe: faults can be switched while other threads use the store.
class FaultyKvStore final : public KvStoreWrapper {
 public:
  using KvStoreWrapper::KvStoreWrapper;

  // Fails every call of `op` from now on (fail=true) or stops failing it.
  void SetFailing(KvOp op, bool fail);
  // Fails every operation (a full outage) or none.
  void SetFailingAll(bool fail);
  // Fails the next `n` calls of `op`, then recovers.
  void FailNext(KvOp op, int n);
  // How many calls were failed so far.
  int failed_calls() const { return failed_calls_.load(); }

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

 private:
  // Returns the injected error when `op` must fail now.
  absl::Status Check(KvOp op);

  std::array<std::atomic<bool>, kKvOpCount> failing_{};
  std::array<std::atomic<int>, kKvOpCount> fail_next_{};
  std::atomic<int> failed_calls_{0};
};

}  // namespace stolon::store
