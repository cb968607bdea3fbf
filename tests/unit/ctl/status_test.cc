#include "ctl/status.h"

#include <gtest/gtest.h>

#include "unit/ctl/fixtures.h"

namespace stolon::ctl {
namespace {

StatusInput ThreeKeeperStatus() {
  StatusInput in;
  in.sentinels = {{"sent0002"}, {"sent0001"}};
  in.leader_uid = "sent0001";
  in.proxies["p0000001"] = cluster::ProxyInfo{"i1", "p0000001", 4, std::chrono::seconds(15)};
  in.cd = testing::ThreeKeeperCluster();
  return in;
}

TEST(StatusText, GoldenThreeKeepers) {
  const char* want =
      "=== Active sentinels ===\n"
      "\n"
      "ID\t\tLEADER\n"
      "sent0001\ttrue\n"
      "sent0002\tfalse\n"
      "\n"
      "=== Active proxies ===\n"
      "\n"
      "ID\n"
      "p0000001\n"
      "\n"
      "=== Keepers ===\n"
      "\n"
      "UID\tHEALTHY\tPG LISTENADDRESS\tPG HEALTHY\tPG WANTEDGENERATION\tPG CURRENTGENERATION\n"
      "keeper0\ttrue\t127.0.0.1:5500\t\ttrue\t\t3\t\t\t3\t\n"
      "keeper1\ttrue\t127.0.0.1:5501\t\ttrue\t\t4\t\t\t4\t\n"
      "keeper2\tfalse\t(unknown)\t\tfalse\t\t5\t\t\t4\t\n"
      "keeper3\ttrue\t(no db assigned)\t\t\t\t\t\t\t\n"
      "\n"
      "=== Cluster Info ===\n"
      "\n"
      "Master Keeper: keeper0\n"
      "\n"
      "===== Keepers/DB tree =====\n"
      "\n"
      "keeper0 (master)\n"
      "├─keeper1\n"
      "└─keeper2\n"
      "\n";
  EXPECT_EQ(RenderStatusText(ThreeKeeperStatus()), want);
}

TEST(StatusText, EmptyStore) {
  StatusInput in;
  EXPECT_EQ(RenderStatusText(in),
            "=== Active sentinels ===\n\nNo active sentinels\n\n=== Active proxies ===\n\n"
            "No active proxies\n\n=== Keepers ===\n\nNo keepers available\n\n"
            "No cluster available\n");
}

TEST(StatusText, NestedTreeAndMissingFollower) {
  StatusInput in = ThreeKeeperStatus();
  // keeper2 cascades from keeper1; a follower uid that is gone from dbs is skipped.
  in.cd.dbs["db0"].spec.followers = {"db1", "gone"};
  in.cd.dbs["db1"].spec.followers = {"db2"};
  std::string out = RenderStatusText(in);
  EXPECT_NE(out.find("keeper0 (master)\n├─keeper1\n│ └─keeper2\n"), std::string::npos) << out;
}

TEST(StatusJson, GoldenThreeKeepers) {
  auto j = RenderStatusJson(ThreeKeeperStatus());
  const char* want = R"json({
	"cluster": {
		"available": true,
		"master_db_uid": "db0",
		"master_keeper_uid": "keeper0"
	},
	"keepers": [
		{
			"healthy": true,
			"listen_address": "127.0.0.1:5500",
			"pg_current_generation": 3,
			"pg_healthy": true,
			"pg_wanted_generation": 3,
			"uid": "keeper0"
		},
		{
			"healthy": true,
			"listen_address": "127.0.0.1:5501",
			"pg_current_generation": 4,
			"pg_healthy": true,
			"pg_wanted_generation": 4,
			"uid": "keeper1"
		},
		{
			"healthy": false,
			"listen_address": "(unknown)",
			"pg_current_generation": 4,
			"pg_healthy": false,
			"pg_wanted_generation": 5,
			"uid": "keeper2"
		},
		{
			"healthy": true,
			"listen_address": "(no db assigned)",
			"pg_current_generation": 0,
			"pg_healthy": false,
			"pg_wanted_generation": 0,
			"uid": "keeper3"
		}
	],
	"proxies": [
		{
			"generation": 4,
			"uid": "p0000001"
		}
	],
	"sentinels": [
		{
			"leader": true,
			"uid": "sent0001"
		},
		{
			"leader": false,
			"uid": "sent0002"
		}
	]
})json";
  EXPECT_EQ(j.dump(1, '\t'), want);
}

}  // namespace
}  // namespace stolon::ctl
