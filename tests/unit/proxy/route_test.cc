#include "proxy/route.h"

#include <gtest/gtest.h>

namespace stolon::proxy {
namespace {

// A clusterdata whose proxy points at db "db1" (10.0.0.1:5432) and enables proxy "p1".
cluster::ClusterData RoutedCluster() {
  cluster::ClusterData cd;
  cd.cluster.spec.init_mode = "new";
  cluster::DB db;
  db.uid = "db1";
  db.status.listen_address = "10.0.0.1";
  db.status.port = "5432";
  cd.dbs["db1"] = db;
  cd.proxy.generation = 7;
  cd.proxy.spec.master_db_uid = "db1";
  cd.proxy.spec.enabled_proxies = {"p0", "p1"};
  return cd;
}

struct Case {
  const char* name;
  void (*mutate)(cluster::ClusterData&);
  RouteReason reason;
  int64_t generation;
  bool publish;
  bool publish_required;
};

TEST(DecideRoute, EveryCase) {
  const Case cases[] = {
      {"routed", [](cluster::ClusterData&) {}, RouteReason::kRouted, 7, true, true},
      {"no proxy object", [](cluster::ClusterData& cd) { cd.proxy = cluster::Proxy{}; },
       RouteReason::kNoProxyObject, 0, true, false},
      {"no master", [](cluster::ClusterData& cd) { cd.proxy.spec.master_db_uid.clear(); },
       RouteReason::kNoMaster, 7, true, false},
      {"master db missing", [](cluster::ClusterData& cd) { cd.dbs.clear(); },
       RouteReason::kMasterDbMissing, 7, true, false},
      {"no listen address",
       [](cluster::ClusterData& cd) { cd.dbs["db1"].status.listen_address.clear(); },
       RouteReason::kNoAddress, 7, false, false},
      {"empty port", [](cluster::ClusterData& cd) { cd.dbs["db1"].status.port.clear(); },
       RouteReason::kNoAddress, 7, false, false},
      {"non-numeric port", [](cluster::ClusterData& cd) { cd.dbs["db1"].status.port = "5432x"; },
       RouteReason::kNoAddress, 7, false, false},
      {"port zero", [](cluster::ClusterData& cd) { cd.dbs["db1"].status.port = "0"; },
       RouteReason::kNoAddress, 7, false, false},
      {"port too large", [](cluster::ClusterData& cd) { cd.dbs["db1"].status.port = "65536"; },
       RouteReason::kNoAddress, 7, false, false},
      {"not enabled", [](cluster::ClusterData& cd) { cd.proxy.spec.enabled_proxies = {"p0"}; },
       RouteReason::kNotEnabled, 7, true, true},
      {"no enabled proxies",
       [](cluster::ClusterData& cd) { cd.proxy.spec.enabled_proxies.clear(); },
       RouteReason::kNotEnabled, 7, true, true},
      {"proxy generation 0 but a spec counts as a proxy object",
       [](cluster::ClusterData& cd) { cd.proxy.generation = 0; }, RouteReason::kRouted, 0, true,
       true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    cluster::ClusterData cd = RoutedCluster();
    c.mutate(cd);
    RouteDecision d = DecideRoute(cd, "p1");
    EXPECT_EQ(RouteReasonName(d.reason), RouteReasonName(c.reason));
    EXPECT_EQ(d.proxy_generation, c.generation);
    EXPECT_EQ(d.publish, c.publish);
    EXPECT_EQ(d.publish_required, c.publish_required);
    EXPECT_FALSE(d.explanation.empty());
    EXPECT_EQ(d.target.has_value(), c.reason == RouteReason::kRouted);
    EXPECT_EQ(RouteTarget(cd, "p1"), d.target);
  }
}

TEST(DecideRoute, RoutedTargetAndExplanation) {
  RouteDecision d = DecideRoute(RoutedCluster(), "p1");
  ASSERT_TRUE(d.target);
  EXPECT_EQ(*d.target, (Endpoint{"10.0.0.1", 5432}));
  EXPECT_EQ(d.master_db_uid, "db1");
  EXPECT_EQ(d.explanation, "master db db1 at 10.0.0.1:5432");
}

TEST(DecideRoute, ExplanationsNameTheProblem) {
  cluster::ClusterData cd = RoutedCluster();
  cd.proxy.spec.master_db_uid = "gone";
  EXPECT_EQ(DecideRoute(cd, "p1").explanation, "master db gone is not in the cluster data");
  EXPECT_EQ(DecideRoute(RoutedCluster(), "p9").explanation, "proxy p9 is not in enabledProxies");
}

TEST(Endpoint, ToStringBracketsIPv6) {
  EXPECT_EQ((Endpoint{"127.0.0.1", 5433}).ToString(), "127.0.0.1:5433");
  EXPECT_EQ((Endpoint{"::1", 5433}).ToString(), "[::1]:5433");
  EXPECT_EQ((Endpoint{"db.example", 1}).ToString(), "db.example:1");
}

}  // namespace
}  // namespace stolon::proxy
