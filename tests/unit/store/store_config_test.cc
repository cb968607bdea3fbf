#include "store/store_config.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stolon::store {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(ParseStoreEndpointsTest, Cases) {
  struct Case {
    std::string name;
    std::string input;
    std::vector<std::string> want;  // empty: error expected
  };
  std::vector<Case> cases = {
      {"empty means default", "", {"http://127.0.0.1:2379"}},
      {"schemeless is http", "10.0.0.1:2379", {"http://10.0.0.1:2379"}},
      {"list", "http://a:1, http://b:2", {"http://a:1", "http://b:2"}},
      {"https", "https://a:1,https://b:2", {"https://a:1", "https://b:2"}},
      {"trailing slash", "http://a:1/", {"http://a:1"}},
      {"mixed schemes", "http://a:1,https://b:2", {}},
      {"schemeless with https", "https://a:1,b:2", {}},
      {"bad scheme", "unix://a", {}},
      {"empty entry", "http://a:1,,http://b:2", {}},
      {"path", "http://a:1/v3", {}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto got = ParseStoreEndpoints(c.input);
    if (c.want.empty()) {
      EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
    } else {
      ASSERT_TRUE(got.ok()) << got.status();
      EXPECT_EQ(*got, c.want);
    }
  }
}

TEST(CheckStoreBackendTest, Messages) {
  EXPECT_TRUE(CheckStoreBackend("etcdv3").ok());
  for (const char* b : {"etcd", "etcdv2", "consul", "kubernetes"}) {
    auto s = CheckStoreBackend(b);
    EXPECT_EQ(s.code(), absl::StatusCode::kUnimplemented) << b;
    EXPECT_THAT(std::string(s.message()),
                HasSubstr("not supported yet by stolon-cpp: use --store-backend=etcdv3"));
  }
  auto s = CheckStoreBackend("zookeeper");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(s.message()), "Unknown store backend: \"zookeeper\" (use etcdv3)");
  EXPECT_EQ(CheckStoreBackend("").code(), absl::StatusCode::kInvalidArgument);
}

TEST(StoreConfigTest, FromFlagsAndBasePath) {
  CommonConfig f;
  f.cluster_name = "c1";
  f.store_backend = "etcdv3";
  f.store_endpoints = "127.0.0.1:1234";
  auto c = StoreConfigFromFlags(f);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(c->endpoints, ElementsAre("http://127.0.0.1:1234"));
  EXPECT_FALSE(c->tls());
  EXPECT_EQ(c->BasePath(), "stolon/cluster/c1");
  EXPECT_EQ(c->timeout, std::chrono::seconds(5));

  c->prefix = "/stolon/cluster/";
  EXPECT_EQ(c->BasePath(), "/stolon/cluster/c1");  // etcdv3 keeps the leading slash

  f.store_timeout = Duration(0);
  EXPECT_EQ(StoreConfigFromFlags(f).status().code(), absl::StatusCode::kInvalidArgument);
  f.store_timeout = std::chrono::seconds(1);
  f.store_backend = "consul";
  EXPECT_EQ(StoreConfigFromFlags(f).status().code(), absl::StatusCode::kUnimplemented);
}

TEST(StoreConfigTest, NewKvStore) {
  StoreConfig c;
  c.endpoints = {"http://127.0.0.1:1"};
  EXPECT_TRUE(NewKvStore(c).ok());
  c.endpoints = {"https://127.0.0.1:1"};
  c.ca_file = "/nonexistent";
  auto s = NewKvStore(c);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("/nonexistent"));
}

TEST(JoinPathTest, LikeGo) {
  EXPECT_EQ(JoinPath("stolon/cluster", "c"), "stolon/cluster/c");
  EXPECT_EQ(JoinPath("stolon//cluster/", "c/"), "stolon/cluster/c");
  EXPECT_EQ(JoinPath("/a", "../b"), "/b");
  EXPECT_EQ(JoinPath("", "c"), "c");
}

}  // namespace
}  // namespace stolon::store
