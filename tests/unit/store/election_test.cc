// Election on MemKvStore (real clock, short session TTL).
#include "store/election.h"

#include "gtest/gtest.h"
#include "store/mem_kv_store.h"
#include "unit/store/election_scenarios.h"

namespace stolon::store {
namespace {

using namespace std::chrono_literals;

class MemElectionTest : public ::testing::Test {
 protected:
  testing::OpenKv Open() {
    return [this] { return std::make_unique<KvStoreWrapper>(mem_); };
  }
  MemKvStore mem_;
};

TEST_F(MemElectionTest, NoLeaderWithoutCandidates) {
  testing::NoLeaderWithoutCandidates(Open(), "c/sentinel-leader");
}
TEST_F(MemElectionTest, ExactlyOneLeader) {
  testing::ExactlyOneLeader(Open(), "c/sentinel-leader");
}
TEST_F(MemElectionTest, TakeoverWhenLeaderLosesTheStore) {
  testing::TakeoverWhenLeaderLosesTheStore(Open(), "c/sentinel-leader");
}
TEST_F(MemElectionTest, TakeoverWhenLeaderSessionIsRevoked) {
  testing::TakeoverWhenLeaderSessionIsRevoked(Open(), "c/sentinel-leader");
}

TEST_F(MemElectionTest, CandidateKeyFollowsTheEtcdRecipe) {
  Election e(mem_, "base/sentinel-leader", testing::FastElection());
  e.RunForElection("uid1");
  ASSERT_TRUE(e.WaitForLeader(true, 3s));
  auto kvs = mem_.List("base/sentinel-leader/");
  ASSERT_TRUE(kvs.ok());
  ASSERT_EQ(kvs->size(), 1u);
  const KvPair& kv = (*kvs)[0];
  EXPECT_EQ(kv.value, "uid1");
  EXPECT_NE(kv.lease, kNoLease);
  char hex[32];
  snprintf(hex, sizeof hex, "%llx", static_cast<unsigned long long>(kv.lease));
  EXPECT_EQ(kv.key, std::string("base/sentinel-leader/") + hex);
  e.Stop();
  EXPECT_TRUE(mem_.List("base/sentinel-leader/")->empty());  // lease revoked
}

}  // namespace
}  // namespace stolon::store
