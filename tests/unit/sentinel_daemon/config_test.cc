// stolon-sentinel's command line: stolon's flags, STSENTINEL_* environment variables, the hidden
// deprecated --debug and the start-up validation of --initial-cluster-spec.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

#include "CLI/CLI.hpp"
#include "sentinel/daemon_config.h"

namespace stolon::sentinel {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

struct Parsed {
  CLI::App app{"stolon-sentinel"};
  SentinelConfig config;
};

void Parse(Parsed& p, std::vector<std::string> args) {
  AddSentinelFlags(p.app, p.config);
  std::reverse(args.begin(), args.end());
  p.app.parse(args);
}

std::string WriteFile(const std::string& name, const std::string& content) {
  std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path) << content;
  return path;
}

std::string FinalizeError(SentinelConfig& c) {
  absl::Status s = FinalizeSentinelConfig(c);
  return s.ok() ? "" : std::string(s.message());
}

TEST(SentinelFlags, StolonFlagsParse) {
  Parsed p;
  Parse(p, {"--cluster-name=c", "--store-backend=etcdv3", "--store-endpoints=http://127.0.0.1:1",
            "--store-timeout=2s", "--store-prefix=pre", "--initial-cluster-spec=/x.json",
            "--log-level=warn", "--metrics-listen-address=127.0.0.1:9", "--store-skip-tls-verify"});
  EXPECT_EQ(p.config.common.cluster_name, "c");
  EXPECT_EQ(p.config.common.store_endpoints, "http://127.0.0.1:1");
  EXPECT_EQ(p.config.common.store_timeout, 2s);
  EXPECT_EQ(p.config.common.store_prefix, "pre");
  EXPECT_EQ(p.config.initial_cluster_spec_file, "/x.json");
  EXPECT_EQ(p.config.common.log_level, "warn");
  EXPECT_TRUE(p.config.common.store_skip_tls_verify);
}

TEST(SentinelFlags, EnvironmentUsesTheStsentinelPrefix) {
  ::setenv("STSENTINEL_CLUSTER_NAME", "fromenv", 1);
  ::setenv("STSENTINEL_INITIAL_CLUSTER_SPEC", "/env.json", 1);
  ::setenv("STSENTINEL_DEBUG", "true", 1);
  Parsed p;
  Parse(p, {"--store-backend=etcdv3"});
  EXPECT_EQ(p.config.common.cluster_name, "fromenv");
  EXPECT_EQ(p.config.initial_cluster_spec_file, "/env.json");
  EXPECT_TRUE(p.config.common.debug);
  Parsed q;
  Parse(q, {"--cluster-name=flag"});
  EXPECT_EQ(q.config.common.cluster_name, "flag") << "the command line wins";
  ::unsetenv("STSENTINEL_CLUSTER_NAME");
  ::unsetenv("STSENTINEL_INITIAL_CLUSTER_SPEC");
  ::unsetenv("STSENTINEL_DEBUG");
}

TEST(SentinelFlags, DebugIsHiddenAndDeprecated) {
  Parsed p;
  Parse(p, {"--debug"});
  EXPECT_TRUE(p.config.common.debug);
  std::string help = p.app.help();
  EXPECT_THAT(help, Not(HasSubstr("--debug")));
  EXPECT_THAT(help, HasSubstr("--initial-cluster-spec"));
  EXPECT_THAT(help, HasSubstr("STSENTINEL_CLUSTER_NAME"));
}

TEST(SentinelFlags, LastValueWins) {
  Parsed p;
  Parse(p, {"--cluster-name=a", "--cluster-name=b"});
  EXPECT_EQ(p.config.common.cluster_name, "b");
}

TEST(SentinelFlags, UnknownFlagIsAnError) {
  Parsed p;
  EXPECT_THROW(Parse(p, {"--data-dir=/x"}), CLI::ParseError) << "the sentinel has no data dir";
}

TEST(SentinelConfigCheck, CommonChecks) {
  SentinelConfig c;
  c.common.store_backend = "etcdv3";
  EXPECT_THAT(FinalizeError(c), HasSubstr("cluster name required"));
  c.common.cluster_name = "c";
  c.common.store_backend = "zookeeper";
  EXPECT_THAT(FinalizeError(c), HasSubstr("Unknown store backend: \"zookeeper\""));
  c.common.store_backend = "etcdv3";
  EXPECT_EQ(FinalizeError(c), "");
  EXPECT_FALSE(c.initial_cluster_spec.has_value());
}

TEST(SentinelConfigCheck, InitialClusterSpecIsLoadedAndValidated) {
  SentinelConfig c;
  c.common.cluster_name = "c";
  c.common.store_backend = "etcdv3";
  c.initial_cluster_spec_file = WriteFile(
      "good.json", R"({"initMode": "new", "sleepInterval": "1s", "synchronousReplication": true})");
  ASSERT_EQ(FinalizeError(c), "");
  ASSERT_TRUE(c.initial_cluster_spec.has_value());
  EXPECT_EQ(c.initial_cluster_spec->sleep_interval, 1s);
  EXPECT_EQ(c.initial_cluster_spec->synchronous_replication, true);
}

TEST(SentinelConfigCheck, BadInitialClusterSpecIsOneLineNamingTheProblem) {
  struct Case {
    std::string content, want;
  };
  const std::vector<Case> cases = {
      {"{", "cannot parse the initial cluster spec file"},
      {R"({"initMode": "new", "sleepInterval": 5})", "sleepInterval"},
      {R"({"initMode": "new", "synchronousReplicaton": true})", "synchronousReplicaton"},
      {R"({"sleepInterval": "1s"})", "initMode"},
      {R"({"initMode": "new", "minSynchronousStandbys": 3, "maxSynchronousStandbys": 1})",
       "minSynchronousStandbys"},
      {R"({"initMode": "new", "role": "primary"})", "role"},
  };
  int i = 0;
  for (const Case& k : cases) {
    SentinelConfig c;
    c.common.cluster_name = "c";
    c.common.store_backend = "etcdv3";
    c.initial_cluster_spec_file = WriteFile("bad" + std::to_string(i++) + ".json", k.content);
    std::string err = FinalizeError(c);
    EXPECT_THAT(err, HasSubstr(k.want)) << k.content;
    EXPECT_THAT(err, HasSubstr(c.initial_cluster_spec_file)) << "names the file";
    EXPECT_EQ(err.find('\n'), std::string::npos) << "one line: " << err;
  }
  SentinelConfig missing;
  missing.common.cluster_name = "c";
  missing.common.store_backend = "etcdv3";
  missing.initial_cluster_spec_file = "/nonexistent/spec.json";
  EXPECT_THAT(FinalizeError(missing), HasSubstr("cannot read the initial cluster spec file"));
}

}  // namespace
}  // namespace stolon::sentinel
