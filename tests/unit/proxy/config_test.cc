#include "proxy/config.h"

#include <gtest/gtest.h>

#include <map>

namespace stolon::proxy {
namespace {

std::map<std::string, std::string>* g_env = nullptr;
const char* FakeGetenv(const char* name) {
  auto it = g_env->find(name);
  return it == g_env->end() ? nullptr : it->second.c_str();
}

ParsedFlags Parse(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
  g_env = &env;
  args.insert(args.begin(), "stolon-proxy");
  ParsedFlags p = ParseProxyFlags(args, FakeGetenv);
  g_env = nullptr;
  return p;
}

const std::vector<std::string> kRequired = {"--cluster-name", "c", "--store-backend", "etcdv3"};

TEST(ProxyFlags, DefaultsAsStolon) {
  ParsedFlags p = Parse(kRequired);
  ASSERT_FALSE(p.exit) << p.message;
  EXPECT_EQ(p.config.listen_address, "127.0.0.1");
  EXPECT_EQ(p.config.port, 5432);
  EXPECT_TRUE(p.config.stop_listening);
  EXPECT_EQ(p.config.keepalive_idle, 0);
  EXPECT_EQ(p.config.keepalive_count, 0);
  EXPECT_EQ(p.config.keepalive_interval, 0);
  EXPECT_EQ(p.config.relay_threads, 0);
  EXPECT_EQ(p.config.common.store_timeout, std::chrono::seconds(5));
  EXPECT_EQ(p.config.common.store_prefix, "stolon/cluster");
}

TEST(ProxyFlags, CommandLine) {
  auto args = kRequired;
  for (const char* a : {"--listen-address", "0.0.0.0", "--port", "25432", "--stop-listening=false",
                        "--tcp-keepalive-idle", "10", "--tcp-keepalive-count", "3",
                        "--tcp-keepalive-interval", "2", "--store-timeout", "1m30s"})
    args.push_back(a);
  ParsedFlags p = Parse(args);
  ASSERT_FALSE(p.exit) << p.message;
  EXPECT_EQ(p.config.listen_address, "0.0.0.0");
  EXPECT_EQ(p.config.port, 25432);
  EXPECT_FALSE(p.config.stop_listening);
  EXPECT_EQ(p.config.keepalive_idle, 10);
  EXPECT_EQ(p.config.keepalive_count, 3);
  EXPECT_EQ(p.config.keepalive_interval, 2);
  EXPECT_EQ(p.config.common.store_timeout, std::chrono::seconds(90));
}

TEST(ProxyFlags, EnvironmentWhenNotOnTheCommandLine) {
  ParsedFlags p = Parse({"--port", "1111"}, {{"STPROXY_CLUSTER_NAME", "envc"},
                                             {"STPROXY_STORE_BACKEND", "etcdv3"},
                                             {"STPROXY_PORT", "2222"},
                                             {"STPROXY_TCP_KEEPALIVE_IDLE", "7"},
                                             {"STPROXY_STOP_LISTENING", "false"},
                                             {"STPROXY_LISTEN_ADDRESS", ""}});
  ASSERT_FALSE(p.exit) << p.message;
  EXPECT_EQ(p.config.common.cluster_name, "envc");
  EXPECT_EQ(p.config.port, 1111);  // the command line wins
  EXPECT_EQ(p.config.keepalive_idle, 7);
  EXPECT_FALSE(p.config.stop_listening);
  EXPECT_EQ(p.config.listen_address, "127.0.0.1");  // empty env ignored
}

TEST(ProxyFlags, BadValuesAreOneLineErrors) {
  struct Case {
    std::vector<std::string> args;
    std::map<std::string, std::string> env;
    const char* want;
  } cases[] = {
      {{"--tcp-keepalive-idle", "-1"},
       {},
       "tcp keepalive idle value must be greater or equal to 0"},
      {{"--tcp-keepalive-count", "-1"},
       {},
       "tcp keepalive count value must be greater or equal to 0"},
      {{"--tcp-keepalive-interval", "-2"},
       {},
       "tcp keepalive interval value must be greater or equal to 0"},
      {{"--port", "70000"}, {}, "invalid --port 70000"},
      {{"--relay-threads", "-1"}, {}, "invalid --relay-threads -1"},
      {{}, {{"STPROXY_RELAY_THREADS", "1000"}}, "invalid --relay-threads 1000"},
      {{"--port", "abc"}, {}, "--port"},
      {{}, {{"STPROXY_PORT", "abc"}}, "invalid value \"abc\" for STPROXY_PORT"},
      {{}, {{"STPROXY_STORE_TIMEOUT", "5"}}, "invalid value \"5\" for STPROXY_STORE_TIMEOUT"},
      {{"--no-such-flag"}, {}, "--no-such-flag"},
  };
  for (auto& c : cases) {
    SCOPED_TRACE(c.want);
    auto args = kRequired;
    args.insert(args.end(), c.args.begin(), c.args.end());
    ParsedFlags p = Parse(args, c.env);
    EXPECT_TRUE(p.exit);
    EXPECT_EQ(p.exit_code, 1);
    EXPECT_NE(p.message.find(c.want), std::string::npos) << p.message;
    EXPECT_EQ(p.message.find('\n'), std::string::npos) << p.message;
  }
  // Every error line names the program, like the other three.
  ParsedFlags bad = Parse({"--port", "abc"});
  EXPECT_EQ(bad.message.rfind("stolon-proxy: ", 0), 0u) << bad.message;
  ParsedFlags missing = Parse({});
  EXPECT_TRUE(missing.exit);
  EXPECT_NE(missing.message.find("cluster name required"), std::string::npos);
}

TEST(ProxyFlags, HelpListsTheVariablesVersionNamesTheProgram) {
  ParsedFlags h = Parse({"--help"});
  EXPECT_TRUE(h.exit);
  EXPECT_EQ(h.exit_code, 0);
  EXPECT_NE(h.message.find("STPROXY_TCP_KEEPALIVE_IDLE"), std::string::npos) << h.message;
  ParsedFlags v = Parse({"--version"});
  EXPECT_TRUE(v.exit);
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_EQ(v.message.rfind("stolon-proxy version ", 0), 0u) << v.message;
}

}  // namespace
}  // namespace stolon::proxy
