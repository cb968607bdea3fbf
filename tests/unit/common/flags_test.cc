#include "common/flags.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <map>

#include "CLI/CLI.hpp"

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
  EXPECT_TRUE(ValidateCommonConfig(c).ok());  // the store flags are the store's to check
  c.metrics_listen_address = "8080";
  EXPECT_EQ(ValidateCommonConfig(c).message(),
            "invalid --metrics-listen-address \"8080\": no port; use host:port, e.g. 0.0.0.0:8080");
  c.metrics_listen_address = "127.0.0.1:8080";
  EXPECT_TRUE(ValidateCommonConfig(c).ok());
}

// The command-line convention of the four programs (ParseCommandLine).
std::map<std::string, std::string>* g_env = nullptr;
const char* FakeGetenv(const char* name) {
  auto it = g_env->find(name);
  return it == g_env->end() ? nullptr : it->second.c_str();
}

struct CommandLine {
  CLI::App app{"test", "stolon-test"};
  CommonConfig config;
  FlagParseResult Parse(std::vector<std::string> args,
                        std::map<std::string, std::string> env = {}) {
    AddCommonFlags(app, config, Component::kKeeper);
    g_env = &env;
    FlagParseResult r = ParseCommandLine(app, args, "stolon-test", "STTEST", FakeGetenv);
    g_env = nullptr;
    return r;
  }
};

TEST(ParseCommandLine, CommandLineWinsOverEnvironment) {
  CommandLine c;
  FlagParseResult r = c.Parse({"--cluster-name=flag"}, {{"STTEST_CLUSTER_NAME", "env"},
                                                        {"STTEST_STORE_TIMEOUT", "1m"},
                                                        {"STTEST_STORE_PREFIX", ""}});
  ASSERT_FALSE(r.exit) << r.message;
  EXPECT_EQ(c.config.cluster_name, "flag");
  EXPECT_EQ(c.config.store_timeout, 1min);
  EXPECT_EQ(c.config.store_prefix, "stolon/cluster");
}

TEST(ParseCommandLine, BadValuesAreOneLineNamingTheFlagOrTheVariable) {
  struct Case {
    std::vector<std::string> args;
    std::map<std::string, std::string> env;
    std::string want;
  } cases[] = {
      {{"--store-timeout=5"}, {}, "stolon-test: --store-timeout: invalid duration \"5\""},
      {{},
       {{"STTEST_STORE_TIMEOUT", "5"}},
       "stolon-test: invalid value \"5\" for STTEST_STORE_TIMEOUT"},
      {{"--log-level=loud"}, {}, "stolon-test: --log-level: invalid log level \"loud\""},
      {{}, {{"STTEST_LOG_LEVEL", "loud"}}, "invalid value \"loud\" for STTEST_LOG_LEVEL"},
      {{"--no-such-flag"},
       {},
       "stolon-test: The following argument was not expected: --no-such-flag"},
      {{"--metrics-listen-address=8080"},
       {},
       "stolon-test: --metrics-listen-address: invalid address \"8080\": no port; use host:port, "
       "e.g. 0.0.0.0:8080 (see stolon-test --help)"},
      {{},
       {{"STTEST_METRICS_LISTEN_ADDRESS", "127.0.0.1:http"}},
       "stolon-test: invalid value \"127.0.0.1:http\" for STTEST_METRICS_LISTEN_ADDRESS: "
       "--metrics-listen-address: invalid address \"127.0.0.1:http\": bad port"},
  };
  for (auto& tc : cases) {
    SCOPED_TRACE(tc.want);
    CommandLine c;
    FlagParseResult r = c.Parse(tc.args, tc.env);
    EXPECT_TRUE(r.exit);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.message.find(tc.want), std::string::npos) << r.message;
    EXPECT_EQ(r.message.find('\n'), std::string::npos) << r.message;
  }
}

TEST(ParseCommandLine, HelpListsTheVariablesVersionNamesTheProgram) {
  CommandLine help;
  FlagParseResult h = help.Parse({"--help"});
  EXPECT_TRUE(h.exit);
  EXPECT_EQ(h.exit_code, 0);
  EXPECT_NE(h.message.find("STTEST_CLUSTER_NAME"), std::string::npos) << h.message;
  CommandLine version;
  FlagParseResult v = version.Parse({"--version"});
  EXPECT_TRUE(v.exit);
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_EQ(v.message.rfind("stolon-test version ", 0), 0u) << v.message;
}

TEST(ParseCommandLine, UnknownSubcommandIsNamed) {
  CLI::App app{"test", "prog"};
  CommonConfig config;
  AddCommonFlags(app, config, Component::kCtl);
  app.require_subcommand(1);
  app.add_subcommand("status", "status");
  FlagParseResult r = ParseCommandLine(app, {"bogus"}, "prog", "PROG");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.message,
            "prog: unknown command \"bogus\" for \"prog\" (run 'prog --help' for usage)");
}

}  // namespace
}  // namespace stolon
