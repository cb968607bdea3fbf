// Election: sentinel leader election with etcd's election recipe (clientv3/concurrency), on any
// KvStore, so a Go stolon sentinel and ours see the same leader:
//   - a session is a lease of `session_ttl` (20s in stolon) kept alive by this object;
//   - the candidate key is "<prefix>/<leaseID in lowercase hex>" with the candidate uid as value,
//     created only if absent (txn on CreateRevision == 0) and attached to the session lease;
//   - the leader is the key under "<prefix>/" with the lowest create revision.
// When the session is lost (the lease expired or was revoked, or it could not be renewed before
// its deadline) the candidate is no longer leader and campaigns again with a new session. While
// the store cannot be reached, IsLeader() is false (leadership cannot be confirmed); it becomes
// true again when the store answers and our key is still the oldest.
//
// Thread-safe. The campaign runs on one background thread owned by this object.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "store/kv_store.h"

namespace stolon::store {

struct ElectionOptions {
  // TTL of the session lease (etcd recipe default and stolon's value: 20s).
  std::chrono::seconds session_ttl{20};
  // How often the candidate re-reads the leader; the session is renewed every session_ttl/3.
  std::chrono::milliseconds check_interval{500};
  // How long to wait before retrying after a store error.
  std::chrono::milliseconds retry_interval{1000};
  // Called on the election thread on every change of IsLeader(), with the new value. Keep it
  // short and non-blocking. May be empty.
  std::function<void(bool leader)> on_change;
};

class Election {
 public:
  // `kv` and `clock` must outlive the election. `prefix` is the election key without a trailing
  // slash, e.g. "stolon/cluster/mycluster/sentinel-leader".
  Election(KvStore& kv, std::string prefix, ElectionOptions options = {},
           const Clock& clock = RealClock::Instance());
  ~Election();  // Stop()
  Election(const Election&) = delete;
  Election& operator=(const Election&) = delete;

  // Starts campaigning as `uid` in the background. REQUIRES: not already running.
  void RunForElection(std::string uid);
  // Stops campaigning: ends the thread, revokes the session lease (best effort, bounded by the
  // store timeout) so another candidate takes over at once. IsLeader() is false afterwards.
  // Idempotent. RunForElection may be called again afterwards.
  void Stop();

  // Whether this candidate is the leader right now (as of the last check).
  bool IsLeader() const { return leader_.load(); }
  // How many times this candidate became leader (stolon's leadershipCount).
  uint64_t leadership_count() const { return leadership_count_.load(); }
  // Waits up to `timeout` until IsLeader() == `leader`; returns whether it happened.
  bool WaitForLeader(bool leader, std::chrono::milliseconds timeout) const;

  // The uid of the current leader, read from the store (the oldest candidate key), or kNotFound
  // when there is no candidate; kUnavailable when the store cannot be read.
  absl::StatusOr<std::string> Leader();

  const std::string& prefix() const { return prefix_; }

 private:
  // One campaign's state, owned by the loop's thread.
  struct Session {
    std::string uid;
    LeaseId lease = kNoLease;
    std::string key;  // "<prefix>/<lease in hex>", the candidate key
    bool key_created = false;
    SteadyTime lease_deadline{};  // the lease surely expires by then unless renewed
    SteadyTime last_renew{};
    bool renewed = true;  // the last renewal attempt, if one was due, succeeded
  };
  // What the loop does after a phase: go on to the next phase, start over at once, or wait
  // (retry_interval after an error, check_interval after a successful round).
  enum class Step { kProceed, kRestart, kRetry, kCheck };

  void Loop(std::string uid);
  // The phases of one round, in order.
  Step EnsureSession(Session& s);
  Step EnsureCandidateKey(Session& s);
  Step RenewSession(Session& s);
  Step DecideLeadership(Session& s);
  // Forgets the session (its lease expired or is gone) and stops leading.
  void DropSession(Session& s, const std::string& why);
  bool Stopping() const;
  void SetLeader(bool leader);
  // Sleeps up to `d` unless Stop() is called; returns false when stopping.
  bool Sleep(std::chrono::milliseconds d);

  KvStore& kv_;
  const std::string prefix_;
  const ElectionOptions options_;
  const Clock& clock_;

  std::atomic<bool> leader_{false};
  std::atomic<uint64_t> leadership_count_{0};
  // Waits (Sleep, WaitForLeader) are absl::Mutex conditions: they are re-evaluated whenever mu_
  // is released, so a writer only has to take and release it.
  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  LeaseId lease_ ABSL_GUARDED_BY(mu_) = kNoLease;  // the session lease, for Stop() to revoke
  std::thread thread_;
};

// The uid of the leader of the election at `prefix` (the value of the oldest key under
// "<prefix>/"), or kNotFound when there is no candidate. For readers that do not campaign.
absl::StatusOr<std::string> ReadElectionLeader(KvStore& kv, const std::string& prefix);

}  // namespace stolon::store
