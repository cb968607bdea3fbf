// The invariant checker itself and the formatting helpers.
#include "sentinel/internal.h"
#include "sentinel/invariants.h"
#include "sim.h"

namespace stolon::sentinel::testing {
namespace {

struct InvCase {
  std::string name;
  std::function<void(ClusterData& prev, ClusterData& next, cluster::ProxiesInfo& active)> mutate;
  std::string want;  // "" = ok, else substring of the error
};
std::ostream& operator<<(std::ostream& os, const InvCase& c) { return os << c.name; }

class InvariantTest : public ::testing::TestWithParam<InvCase> {};

TEST_P(InvariantTest, Check) {
  Sim s;
  s.Healthy(2);
  ClusterData prev = s.cd, next = s.cd;
  cluster::ProxiesInfo active = {{"proxy0", {"i", "proxy0", 2, 15s}}};
  GetParam().mutate(prev, next, active);
  absl::Status st = CheckInvariants(prev, next, active);
  if (GetParam().want.empty()) {
    EXPECT_TRUE(st.ok()) << st;
  } else {
    EXPECT_FALSE(st.ok());
    EXPECT_NE(std::string(st.message()).find(GetParam().want), std::string::npos) << st;
  }
}

const std::vector<InvCase> kInvCases = {
    {"healthy view is fine", [](auto&, auto&, auto&) {}, ""},
    {"second master",
     [](auto&, ClusterData& n, auto&) {
       n.dbs["db1"].spec.role = cluster::kRoleMaster;
       n.dbs["db1"].spec.follow_config.reset();
       n.dbs["db0"].spec.followers = {"db2"};
     },
     "db db1 became master-type"},
    {"master missing", [](auto&, ClusterData& n, auto&) { n.cluster.status.master = "dbX"; },
     "cluster master \"dbX\" is not a db"},
    {"proxy routed to a non master",
     [](auto&, ClusterData& n, auto&) { n.proxy.spec.master_db_uid = "db1"; },
     "proxies are told master db1"},
    {"standby follows missing db",
     [](auto&, ClusterData& n, auto&) { n.dbs["db1"].spec.follow_config->db_uid = "dbX"; },
     "follows missing db"},
    {"sync standby missing",
     [](auto&, ClusterData& n, auto&) {
       n.dbs["db0"].spec.synchronous_standbys = {"dbX"};
       n.dbs["db0"].generation = 2;
     },
     "missing synchronous standby dbX"},
    {"db generation decreases", [](ClusterData& p, auto&, auto&) { p.dbs["db1"].generation = 5; },
     "generation went back"},
    {"spec changed without bump",
     [](auto&, ClusterData& n, auto&) { n.dbs["db1"].spec.use_pg_rewind = true; },
     "without a generation bump"},
    {"proxy generation decreases", [](ClusterData& p, auto&, auto&) { p.proxy.generation = 9; },
     "proxy generation went back"},
    {"master switch without empty generation",
     [](ClusterData& p, ClusterData& n, auto&) {
       p.proxy.spec.master_db_uid = "db1";
       n.proxy.generation = 3;
     },
     "without an empty-master generation"},
    {"master published before proxies acked",
     [](ClusterData& p, ClusterData& n, auto& a) {
       p.proxy.spec.master_db_uid = "";
       p.proxy.generation = 3;
       n.proxy.generation = 4;
       a["proxy0"].generation = 2;
     },
     "while active proxy proxy0 is at generation 2"},
    {"master published after proxies acked",
     [](ClusterData& p, ClusterData& n, auto& a) {
       p.proxy.spec.master_db_uid = "";
       p.proxy.generation = 3;
       n.proxy.generation = 4;
       a["proxy0"].generation = 3;
     },
     ""},
    {"follower that does not follow",
     [](auto&, ClusterData& n, auto&) {
       n.dbs["db1"].spec.followers = {"db2"};
       n.dbs["db1"].generation = 2;
     },
     "lists follower db2 that does not follow it"},
    {"master followers incomplete",
     [](auto&, ClusterData& n, auto&) {
       n.dbs["db0"].spec.followers = {"db1"};
       n.dbs["db0"].generation = 2;
     },
     "master db db0 followers"},
};

INSTANTIATE_TEST_SUITE_P(Sentinel, InvariantTest, ::testing::ValuesIn(kInvCases),
                         [](const auto& info) {
                           std::string n;
                           for (char c : info.param.name) n += std::isalnum(c) ? c : '_';
                           return n;
                         });

TEST(Format, Lsn) {
  EXPECT_EQ(FormatLsn(0x3000060), "0/3000060");
  EXPECT_EQ(FormatLsn(0x1A00000010ull), "1A/10");
  EXPECT_EQ(FormatLsn(0), "0/0");
}

TEST(Format, Bytes) {
  EXPECT_EQ(FormatBytes(0), "0 bytes");
  EXPECT_EQ(FormatBytes(1048576), "1 MiB");
  EXPECT_EQ(FormatBytes(2'200'000), "2.1 MiB");
  EXPECT_EQ(FormatBytes(1536), "1.5 KiB");
}

TEST(Format, WalFileName) {
  EXPECT_EQ(internal::WalFileNameNoTimeline(0x3000060), "0000000000000003");
  EXPECT_EQ(internal::WalFileNameNoTimeline(0x1A05000000ull), "0000001A00000005");
}

}  // namespace
}  // namespace stolon::sentinel::testing
