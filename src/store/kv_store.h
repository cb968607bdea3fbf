// KvStore: the small generic key-value interface the domain Store and the sentinel Election are
// built on. It has the semantics of etcd v3 (one global revision counter, per-key create and mod
// revisions, leases that delete their keys when they expire, compare-and-swap on mod revision,
// prefix watches). Two implementations: EtcdKvStore (gRPC, etcd_kv_store.h) and MemKvStore
// (in-process, mem_kv_store.h), plus wrappers that inject faults (kv_store_wrapper.h).
//
// Every call is synchronous and bounded by the store timeout of the implementation. Error codes
// follow their retry meaning: kAborted = compare-and-swap lost (re-read and recompute);
// kUnavailable = the store could not be reached or did not answer in time (retry later);
// kNotFound = a lease that does not exist (any more); kInvalidArgument = a bad request.
// A missing key is not an error: Get returns nullopt.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace stolon::store {

// A lease id as etcd numbers them (positive; 0 = no lease).
using LeaseId = int64_t;
inline constexpr LeaseId kNoLease = 0;

// One key with its value and revisions. Revisions are those of the store (etcd's mvcc revisions):
// create_revision is the revision at which the key was (last) created, mod_revision the revision
// of its last write.
struct KvPair {
  std::string key;
  std::string value;
  int64_t mod_revision = 0;
  int64_t create_revision = 0;
  LeaseId lease = kNoLease;
  bool operator==(const KvPair&) const = default;
};

// A change seen by a watch. For kDelete, kv holds the key and the revision of the deletion
// (mod_revision) and an empty value.
struct KvEvent {
  enum class Type { kPut, kDelete };
  Type type = Type::kPut;
  KvPair kv;
  bool operator==(const KvEvent&) const = default;
};

// A stream of changes under a prefix, from the revision after the one current when the watch was
// created (or from an explicit start revision). Not thread-safe: one consumer.
class KvWatch {
 public:
  virtual ~KvWatch() = default;
  // Waits up to `timeout` for events. Returns the events received so far (empty when the timeout
  // passed without any). A non-OK status means the watch is broken (connection lost, history
  // compacted, store stopped): every later call fails the same way; create a new watch.
  virtual absl::StatusOr<std::vector<KvEvent>> Next(std::chrono::milliseconds timeout) = 0;
};

// The generic store interface. Implementations are thread-safe.
class KvStore {
 public:
  virtual ~KvStore() = default;

  // The key's current value and revisions, or nullopt when the key does not exist. Linearizable.
  virtual absl::StatusOr<std::optional<KvPair>> Get(const std::string& key) = 0;

  // Every key starting with `prefix` (used as given: pass a trailing "/" to list a directory),
  // sorted by key. Linearizable.
  virtual absl::StatusOr<std::vector<KvPair>> List(const std::string& prefix) = 0;

  // Writes `value` unconditionally. With a ttl, grants a fresh lease of `ttl` (whole seconds,
  // rounded up; the store may raise it to its own minimum) and attaches it, as stolon does: the
  // key disappears unless it is written again before the lease expires. Returns the revision of
  // the write (the key's new mod_revision).
  virtual absl::StatusOr<int64_t> Put(const std::string& key, const std::string& value,
                                      std::optional<std::chrono::seconds> ttl = std::nullopt) = 0;

  // Writes `value` only if the key's mod_revision is `expected_mod_revision`; with 0, only if the
  // key does not exist (create). Attaches `lease` when not kNoLease. Returns the new revision, or
  // kAborted when the condition did not hold (someone else wrote first, or the key exists).
  // NOTE: after a timeout the write may have happened anyway; a retry then reports kAborted, which
  // callers treat as "re-read and recompute" — always safe.
  virtual absl::StatusOr<int64_t> CompareAndSwap(const std::string& key, const std::string& value,
                                                 int64_t expected_mod_revision,
                                                 LeaseId lease = kNoLease) = 0;

  // Deletes the key. Deleting a missing key is OK.
  virtual absl::Status Delete(const std::string& key) = 0;

  // Starts watching every key under `prefix`. With start_revision 0 the watch reports changes
  // after the current revision; otherwise from start_revision on (inclusive).
  virtual absl::StatusOr<std::unique_ptr<KvWatch>> Watch(const std::string& prefix,
                                                         int64_t start_revision = 0) = 0;

  // Leases, used by Election for its session. GrantLease returns a new lease of `ttl`.
  virtual absl::StatusOr<LeaseId> GrantLease(std::chrono::seconds ttl) = 0;
  // Renews the lease once; returns its new remaining TTL. kNotFound when the lease has expired or
  // was revoked (its keys are gone).
  virtual absl::StatusOr<std::chrono::seconds> KeepAliveLease(LeaseId lease) = 0;
  // Revokes the lease, deleting its keys. Revoking an unknown lease is OK.
  virtual absl::Status RevokeLease(LeaseId lease) = 0;
};

// The first key after every key that has `prefix` as prefix (etcd's "range end" for a prefix):
// the prefix with its last byte incremented, dropping trailing 0xff bytes. "\0" when the prefix
// is empty or all 0xff (meaning "to the end of the keyspace").
std::string PrefixRangeEnd(const std::string& prefix);

}  // namespace stolon::store
