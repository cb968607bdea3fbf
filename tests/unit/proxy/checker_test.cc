#include "proxy/checker.h"

#include <gtest/gtest.h>

#include "fakes.h"

namespace stolon::proxy {
namespace {

using asio::ip::tcp;
using namespace std::chrono_literals;
using testing::ClusterWithMaster;

class CheckerTest : public ::testing::Test {
 protected:
  Checker MakeChecker() { return Checker(store_, relay_, ids_, Checker::Options{"p1"}); }
  static tcp::endpoint Ep(const char* ip, uint16_t port) {
    return tcp::endpoint(asio::ip::make_address(ip), port);
  }
  testing::FakeProxyStore store_;
  testing::FakeRelayControl relay_;
  SequentialIdGenerator ids_{"info"};
};

TEST_F(CheckerTest, StoreDownNeverListensNorTouchesConnections) {
  store_.Set(absl::UnavailableError("etcd down"));
  Checker c = MakeChecker();
  absl::Status st = c.Check();
  EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(relay_.start_calls, 0);
  EXPECT_EQ(relay_.set_calls, 0);
  EXPECT_TRUE(store_.infos().empty());
}

TEST_F(CheckerTest, RoutesToTheMasterAndPublishesProxyInfo) {
  store_.Set(ClusterWithMaster("127.0.0.1", 5433, {"p1"}));
  Checker c = MakeChecker();
  ASSERT_TRUE(c.Check().ok());
  EXPECT_TRUE(relay_.listening);
  EXPECT_EQ(relay_.destination, Ep("127.0.0.1", 5433));
  auto infos = store_.infos();
  ASSERT_EQ(infos.size(), 1u);
  EXPECT_EQ(infos[0].info.uid, "p1");
  EXPECT_EQ(infos[0].info.info_uid, "info0");
  EXPECT_EQ(infos[0].info.generation, 4);
  EXPECT_EQ(infos[0].info.proxy_timeout, 15s);
  EXPECT_EQ(infos[0].ttl, 30s);
  // A fresh infoUID per publish.
  ASSERT_TRUE(c.Check().ok());
  EXPECT_EQ(store_.infos().at(1).info.info_uid, "info1");
}

TEST_F(CheckerTest, NoClusterDataOrNullClosesButKeepsListening) {
  relay_.destination = Ep("127.0.0.1", 1);
  store_.Set(std::optional<cluster::ClusterData>());
  Checker c = MakeChecker();
  EXPECT_TRUE(c.Check().ok());
  EXPECT_TRUE(relay_.listening);
  EXPECT_FALSE(relay_.destination);
  EXPECT_TRUE(store_.infos().empty());
}

TEST_F(CheckerTest, UnusableDocumentsCloseAndFail) {
  struct Case {
    const char* name;
    absl::StatusOr<std::optional<cluster::ClusterData>> read;
  };
  cluster::ClusterData v2 = ClusterWithMaster("127.0.0.1", 5433, {"p1"});
  v2.format_version = 2;
  cluster::ClusterData bad_spec = ClusterWithMaster("127.0.0.1", 5433, {"p1"});
  bad_spec.cluster.spec.init_mode = "foo";
  Case cases[] = {
      {"format version from the decoder",
       absl::FailedPreconditionError("unsupported cluster data format version 2")},
      {"undecodable", absl::InvalidArgumentError("cluster: expected object")},
      {"format version in the model", std::optional(v2)},
      {"invalid spec", std::optional(bad_spec)},
  };
  for (auto& tc : cases) {
    SCOPED_TRACE(tc.name);
    relay_.destination = Ep("127.0.0.1", 1);
    store_.Set(tc.read);
    Checker c = MakeChecker();
    EXPECT_FALSE(c.Check().ok());
    EXPECT_TRUE(relay_.listening);
    EXPECT_FALSE(relay_.destination);
  }
  EXPECT_TRUE(store_.infos().empty());
}

TEST_F(CheckerTest, NoProxyObjectPublishesGenerationZero) {
  cluster::ClusterData cd = ClusterWithMaster("127.0.0.1", 5433, {"p1"});
  cd.proxy = cluster::Proxy{};
  store_.Set(std::optional(cd));
  relay_.destination = Ep("127.0.0.1", 1);
  Checker c = MakeChecker();
  EXPECT_TRUE(c.Check().ok());
  EXPECT_FALSE(relay_.destination);
  ASSERT_EQ(store_.infos().size(), 1u);
  EXPECT_EQ(store_.infos()[0].info.generation, 0);
}

TEST_F(CheckerTest, NoMasterAcknowledgesGenerationAndIgnoresPublishFailure) {
  cluster::ClusterData cd = ClusterWithMaster("127.0.0.1", 5433, {"p1"});
  cd.proxy.spec.master_db_uid = "";
  cd.proxy.generation = 9;
  store_.Set(std::optional(cd));
  Checker c = MakeChecker();
  EXPECT_TRUE(c.Check().ok());
  ASSERT_EQ(store_.infos().size(), 1u);
  EXPECT_EQ(store_.infos()[0].info.generation, 9);
  store_.SetPublishStatus(absl::UnavailableError("etcd down"));
  EXPECT_TRUE(c.Check().ok());  // best effort in this branch
  EXPECT_FALSE(relay_.destination);
}

TEST_F(CheckerTest, NoAddressClosesWithoutPublishing) {
  store_.Set(ClusterWithMaster("", 5433, {"p1"}));
  relay_.destination = Ep("127.0.0.1", 1);
  Checker c = MakeChecker();
  EXPECT_TRUE(c.Check().ok());
  EXPECT_FALSE(relay_.destination);
  EXPECT_TRUE(store_.infos().empty());
}

TEST_F(CheckerTest, NotEnabledPublishesButDoesNotRoute) {
  store_.Set(ClusterWithMaster("127.0.0.1", 5433, {"other"}));
  relay_.destination = Ep("127.0.0.1", 1);
  Checker c = MakeChecker();
  EXPECT_TRUE(c.Check().ok());
  EXPECT_FALSE(relay_.destination);
  EXPECT_EQ(store_.infos().size(), 1u);
}

TEST_F(CheckerTest, FailedPublishFailsTheCheckAndDoesNotRoute) {
  store_.Set(ClusterWithMaster("127.0.0.1", 5433, {"p1"}));
  store_.SetPublishStatus(absl::UnavailableError("lease grant timed out"));
  Checker c = MakeChecker();
  absl::Status st = c.Check();
  EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(relay_.destination);
  EXPECT_EQ(c.check_interval(), 5s);  // not taken from the spec without a publish
}

TEST_F(CheckerTest, IntervalsComeFromTheSpecAfterPublishAndTimeoutShrinksLazily) {
  cluster::ClusterData cd = ClusterWithMaster("127.0.0.1", 5433, {"p1"});
  cd.cluster.spec.proxy_check_interval = 1s;
  cd.cluster.spec.proxy_timeout = 3s;
  store_.Set(std::optional(cd));
  Checker c = MakeChecker();
  ASSERT_TRUE(c.Check().ok());
  EXPECT_EQ(c.check_interval(), 1s);
  EXPECT_EQ(c.proxy_timeout(), 3s);
  // The first publish still advertises the larger, older timeout.
  EXPECT_EQ(store_.infos().at(0).info.proxy_timeout, 15s);
  ASSERT_TRUE(c.Check().ok());
  EXPECT_EQ(store_.infos().at(1).info.proxy_timeout, 3s);
  EXPECT_EQ(store_.infos().at(1).ttl, 6s);
}

TEST_F(CheckerTest, MasterChangeMovesTheDestination) {
  store_.Set(ClusterWithMaster("127.0.0.1", 5433, {"p1"}));
  Checker c = MakeChecker();
  ASSERT_TRUE(c.Check().ok());
  relay_.open = 3;
  store_.Set(ClusterWithMaster("127.0.0.1", 5434, {"p1"}, "a9b8c7d6"));
  ASSERT_TRUE(c.Check().ok());
  EXPECT_EQ(relay_.destination, Ep("127.0.0.1", 5434));
}

TEST_F(CheckerTest, ResolvesHostNames) {
  store_.Set(ClusterWithMaster("localhost", 5433, {"p1"}));
  Checker c = MakeChecker();
  ASSERT_TRUE(c.Check().ok());
  ASSERT_TRUE(relay_.destination);
  EXPECT_TRUE(relay_.destination->address().is_loopback());
}

TEST_F(CheckerTest, ListenFailureFailsTheCheck) {
  relay_.listen_status = absl::UnavailableError("cannot listen");
  store_.Set(ClusterWithMaster("127.0.0.1", 5433, {"p1"}));
  Checker c = MakeChecker();
  EXPECT_FALSE(c.Check().ok());
  EXPECT_FALSE(relay_.destination);
}

}  // namespace
}  // namespace stolon::proxy
