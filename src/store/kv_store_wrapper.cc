#include "store/kv_store_wrapper.h"

#include "common/status.h"
#include "fmt/format.h"

namespace stolon::store {

const char* KvOpName(KvOp op) {
  switch (op) {
    case KvOp::kGet:
      return "Get";
    case KvOp::kList:
      return "List";
    case KvOp::kPut:
      return "Put";
    case KvOp::kCompareAndSwap:
      return "CompareAndSwap";
    case KvOp::kDelete:
      return "Delete";
    case KvOp::kWatch:
      return "Watch";
    case KvOp::kGrantLease:
      return "GrantLease";
    case KvOp::kKeepAliveLease:
      return "KeepAliveLease";
    case KvOp::kRevokeLease:
      return "RevokeLease";
  }
  return "?";
}

void FaultyKvStore::SetFailing(KvOp op, bool fail) { failing_[static_cast<size_t>(op)] = fail; }

void FaultyKvStore::SetFailingAll(bool fail) {
  for (auto& f : failing_) f = fail;
}

void FaultyKvStore::FailNext(KvOp op, int n) { fail_next_[static_cast<size_t>(op)] = n; }

absl::Status FaultyKvStore::Check(KvOp op) {
  const auto i = static_cast<size_t>(op);
  bool fail = failing_[i].load();
  if (!fail) {
    int n = fail_next_[i].load();
    while (n > 0 && !fail_next_[i].compare_exchange_weak(n, n - 1)) {
    }
    fail = n > 0;
  }
  if (!fail) return absl::OkStatus();
  ++failed_calls_;
  return absl::UnavailableError(fmt::format("injected fault: {} unavailable", KvOpName(op)));
}

absl::StatusOr<std::optional<KvPair>> FaultyKvStore::Get(const std::string& key) {
  RETURN_IF_ERROR(Check(KvOp::kGet));
  return KvStoreWrapper::Get(key);
}
absl::StatusOr<std::vector<KvPair>> FaultyKvStore::List(const std::string& prefix) {
  RETURN_IF_ERROR(Check(KvOp::kList));
  return KvStoreWrapper::List(prefix);
}
absl::StatusOr<int64_t> FaultyKvStore::Put(const std::string& key, const std::string& value,
                                           std::optional<std::chrono::seconds> ttl) {
  RETURN_IF_ERROR(Check(KvOp::kPut));
  return KvStoreWrapper::Put(key, value, ttl);
}
absl::StatusOr<int64_t> FaultyKvStore::CompareAndSwap(const std::string& key,
                                                      const std::string& value,
                                                      int64_t expected_mod_revision,
                                                      LeaseId lease) {
  RETURN_IF_ERROR(Check(KvOp::kCompareAndSwap));
  return KvStoreWrapper::CompareAndSwap(key, value, expected_mod_revision, lease);
}
absl::Status FaultyKvStore::Delete(const std::string& key) {
  RETURN_IF_ERROR(Check(KvOp::kDelete));
  return KvStoreWrapper::Delete(key);
}
absl::StatusOr<std::unique_ptr<KvWatch>> FaultyKvStore::Watch(const std::string& prefix,
                                                              int64_t start_revision) {
  RETURN_IF_ERROR(Check(KvOp::kWatch));
  return KvStoreWrapper::Watch(prefix, start_revision);
}
absl::StatusOr<LeaseId> FaultyKvStore::GrantLease(std::chrono::seconds ttl) {
  RETURN_IF_ERROR(Check(KvOp::kGrantLease));
  return KvStoreWrapper::GrantLease(ttl);
}
absl::StatusOr<std::chrono::seconds> FaultyKvStore::KeepAliveLease(LeaseId lease) {
  RETURN_IF_ERROR(Check(KvOp::kKeepAliveLease));
  return KvStoreWrapper::KeepAliveLease(lease);
}
absl::Status FaultyKvStore::RevokeLease(LeaseId lease) {
  RETURN_IF_ERROR(Check(KvOp::kRevokeLease));
  return KvStoreWrapper::RevokeLease(lease);
}

}  // namespace stolon::store
