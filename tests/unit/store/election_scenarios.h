// Election scenarios shared by the MemKvStore unit test and the etcd integration test. Each
// takes `open`, which returns a new client of the same store (one per candidate, so a fault
// injected on one candidate's client does not affect the other).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <thread>

#include "gtest/gtest.h"
#include "store/election.h"
#include "store/kv_store_wrapper.h"

namespace stolon::store::testing {

using OpenKv = std::function<std::unique_ptr<KvStore>()>;
using namespace std::chrono_literals;

inline ElectionOptions FastElection(std::chrono::seconds ttl = 2s) {
  ElectionOptions o;
  o.session_ttl = ttl;
  o.check_interval = 100ms;
  o.retry_interval = 200ms;
  return o;
}

// Polls until pred() or timeout; true if it held.
inline bool Eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return pred();
}

// Two candidates on their own (fault-injectable) clients.
struct Candidates {
  Candidates(const OpenKv& open, const std::string& prefix, ElectionOptions o)
      : kv_a(open()),
        kv_b(open()),
        reader(open()),
        fa(*kv_a),
        fb(*kv_b),
        a(fa, prefix, o),
        b(fb, prefix, o),
        prefix(prefix) {}
  std::unique_ptr<KvStore> kv_a, kv_b, reader;
  FaultyKvStore fa, fb;
  Election a, b;
  std::string prefix;

  std::string LeaderUid() {
    auto l = ReadElectionLeader(*reader, prefix);
    return l.ok() ? *l : "<" + std::string(l.status().message()) + ">";
  }
  // Waits for exactly one leader; checks that both are never leaders at once.
  Election* WaitOneLeader(std::chrono::milliseconds timeout) {
    Election* leader = nullptr;
    Eventually(
        [&] {
          EXPECT_FALSE(a.IsLeader() && b.IsLeader()) << "two leaders";
          leader = a.IsLeader() ? &a : b.IsLeader() ? &b : nullptr;
          return leader != nullptr;
        },
        timeout);
    return leader;
  }
};

inline void NoLeaderWithoutCandidates(const OpenKv& open, const std::string& prefix) {
  auto kv = open();
  auto l = ReadElectionLeader(*kv, prefix);
  EXPECT_EQ(l.status().code(), absl::StatusCode::kNotFound) << l.status();
}

inline void ExactlyOneLeader(const OpenKv& open, const std::string& prefix) {
  int changes = 0;
  ElectionOptions o = FastElection();
  o.on_change = [&](bool) { ++changes; };
  Candidates c(open, prefix, o);
  c.a.RunForElection("sentA");
  ASSERT_TRUE(c.a.WaitForLeader(true, 4s));
  EXPECT_EQ(c.LeaderUid(), "sentA");
  c.b.RunForElection("sentB");
  // B stays a follower while A holds the session; never two leaders.
  for (int i = 0; i < 10; ++i) {
    std::this_thread::sleep_for(100ms);
    EXPECT_TRUE(c.a.IsLeader());
    EXPECT_FALSE(c.b.IsLeader());
  }
  EXPECT_EQ(c.LeaderUid(), "sentA");
  EXPECT_EQ(c.a.Leader().value_or(""), "sentA");
  EXPECT_EQ(c.b.Leader().value_or(""), "sentA");
  EXPECT_EQ(c.a.leadership_count(), 1u);
  EXPECT_EQ(c.b.leadership_count(), 0u);
  // Stop hands over at once (the lease is revoked, no TTL wait).
  c.a.Stop();
  EXPECT_FALSE(c.a.IsLeader());
  EXPECT_TRUE(c.b.WaitForLeader(true, 1500ms));
  EXPECT_EQ(c.LeaderUid(), "sentB");
  c.b.Stop();
  EXPECT_GE(changes, 4);  // A: up, down; B: up, down
  NoLeaderWithoutCandidates(open, prefix);
}

// The leader's client loses the store: it steps down at once, the other candidate takes over
// within TTL + 2s once the session lease expired, and the old leader rejoins as a follower.
inline void TakeoverWhenLeaderLosesTheStore(const OpenKv& open, const std::string& prefix) {
  const auto ttl = 2s;
  Candidates c(open, prefix, FastElection(ttl));
  c.a.RunForElection("sentA");
  c.b.RunForElection("sentB");
  Election* leader = c.WaitOneLeader(ttl + 2s);
  ASSERT_NE(leader, nullptr);
  Election* other = leader == &c.a ? &c.b : &c.a;
  FaultyKvStore& leader_kv = leader == &c.a ? c.fa : c.fb;
  const std::string other_uid = leader == &c.a ? "sentB" : "sentA";

  const auto cut = std::chrono::steady_clock::now();
  leader_kv.SetFailingAll(true);
  EXPECT_TRUE(leader->WaitForLeader(false, 2s)) << "leader did not step down";
  EXPECT_TRUE(other->WaitForLeader(true, ttl + 2s)) << "no takeover within TTL + 2s";
  EXPECT_LT(std::chrono::steady_clock::now() - cut, ttl + 2s + 500ms);
  EXPECT_FALSE(leader->IsLeader());
  EXPECT_EQ(c.LeaderUid(), other_uid);

  leader_kv.SetFailingAll(false);  // the old leader comes back: a follower now
  std::this_thread::sleep_for(1500ms);
  EXPECT_FALSE(leader->IsLeader());
  EXPECT_TRUE(other->IsLeader());
  EXPECT_EQ(c.LeaderUid(), other_uid);
}

// Someone revokes the leader's session lease (its key vanishes): the other takes over at once;
// the old leader notices on its next renewal and campaigns again as a follower.
inline void TakeoverWhenLeaderSessionIsRevoked(const OpenKv& open, const std::string& prefix) {
  const auto ttl = 3s;
  Candidates c(open, prefix, FastElection(ttl));
  c.a.RunForElection("sentA");
  ASSERT_TRUE(c.a.WaitForLeader(true, 4s));
  c.b.RunForElection("sentB");
  ASSERT_TRUE(Eventually([&] { return c.reader->List(prefix + "/")->size() == 2; }, 3s));
  auto kvs = c.reader->List(prefix + "/");
  ASSERT_TRUE(kvs.ok());
  LeaseId lease_a = kNoLease;
  for (const auto& kv : *kvs) {
    if (kv.value == "sentA") lease_a = kv.lease;
  }
  ASSERT_NE(lease_a, kNoLease);
  ASSERT_TRUE(c.reader->RevokeLease(lease_a).ok());
  EXPECT_TRUE(c.b.WaitForLeader(true, 2s));
  EXPECT_TRUE(c.a.WaitForLeader(false, ttl));
  EXPECT_EQ(c.LeaderUid(), "sentB");
  // A re-campaigned with a new session: two candidates again, B still leads.
  EXPECT_TRUE(Eventually([&] { return c.reader->List(prefix + "/")->size() == 2; }, ttl + 2s));
  EXPECT_TRUE(c.b.IsLeader());
  EXPECT_FALSE(c.a.IsLeader());
}

}  // namespace stolon::store::testing
