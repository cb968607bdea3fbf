#include "common/flags.h"

#include <gtest/gtest.h>
#include <stdlib.h>

namespace stolon {
namespace {

using namespace std::chrono_literals;

struct Parsed {
  CLI::App app{"test"};
  CommonConfig config;
};

void Parse(Parsed& p, std::vector<std::string> args) {
  AddCommonFlags(p.app, p.config, Component::kKeeper);
  BindEnv(p.app, "STTEST");
  std::reverse(args.begin(), args.end());
  p.app.parse(args);
}

TEST(Flags, EnvNameFollowsStolonConvention) {
  EXPECT_EQ(EnvName("STKEEPER", "data-dir"), "STKEEPER_DATA_DIR");
  EXPECT_EQ(EnvName("STPROXY", "tcp-keepalive-idle"), "STPROXY_TCP_KEEPALIVE_IDLE");
}

TEST(Flags, CommandLineThenEnvThenDefault) {
  ::setenv("STTEST_CLUSTER_NAME", "fromenv", 1);
  ::setenv("STTEST_STORE_BACKEND", "etcdv3", 1);
  ::setenv("STTEST_STORE_PREFIX", "", 1);  // empty env values are ignored
  Parsed p;
  Parse(p, {"--cluster-name=fromflag", "--store-timeout", "1m30s"});
  EXPECT_EQ(p.config.cluster_name, "fromflag");
  EXPECT_EQ(p.config.store_backend, "etcdv3");
  EXPECT_EQ(p.config.store_prefix, "stolon/cluster");
  EXPECT_EQ(p.config.store_timeout, 90s);
  ::unsetenv("STTEST_CLUSTER_NAME");
  ::unsetenv("STTEST_STORE_BACKEND");
  ::unsetenv("STTEST_STORE_PREFIX");
}

TEST(Flags, BadDurationIsRejectedWithTheFlagName) {
  Parsed p;
  try {
    Parse(p, {"--store-timeout", "5"});
    FAIL() << "expected a parse error";
  } catch (const CLI::ParseError& e) {
    EXPECT_NE(std::string(e.what()).find("invalid duration \"5\""), std::string::npos) << e.what();
  }
}

TEST(Flags, BoolFlagsAcceptExplicitValues) {
  Parsed p;
  Parse(p, {"--store-skip-tls-verify=false", "--log-color=true"});
  EXPECT_FALSE(p.config.store_skip_tls_verify);
  EXPECT_TRUE(p.config.log_color);
  EXPECT_TRUE(p.config.log_color_given);
}

TEST(Flags, ValidateCommonConfig) {
  CommonConfig c;
  EXPECT_EQ(ValidateCommonConfig(c).message(), "cluster name required: pass --cluster-name");
  c.cluster_name = "x";
  c.store_backend = "zookeeper";
  EXPECT_EQ(ValidateCommonConfig(c).message(), "Unknown store backend: \"zookeeper\" (use etcdv3)");
  c.store_backend = "consul";
  EXPECT_EQ(ValidateCommonConfig(c).code(), absl::StatusCode::kUnimplemented);
  c.store_backend = "etcdv3";
  EXPECT_TRUE(ValidateCommonConfig(c).ok());
}

}  // namespace
}  // namespace stolon
