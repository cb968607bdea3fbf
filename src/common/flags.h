// Command-line flags shared by every binary (stolon's cmd/common.go) and the environment-variable
// convention: a flag not given on the command line is read from <PREFIX>_<FLAG_NAME> with '-'
// turned into '_' and upper-cased (STKEEPER_DATA_DIR, STOLONCTL_CLUSTER_NAME, ...). Empty
// environment values are ignored.
#pragma once

#include <string>
#include <string_view>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "common/duration.h"

namespace stolon {

// Which program is parsing: stolonctl has no --log-color but has the kube client flags.
enum class Component { kKeeper, kSentinel, kProxy, kCtl };

struct CommonConfig {
  std::string cluster_name;
  std::string store_backend;
  std::string store_endpoints;
  Duration store_timeout = std::chrono::seconds(5);
  std::string store_prefix = "stolon/cluster";
  std::string store_cert_file;
  std::string store_key;
  std::string store_ca_file;
  bool store_skip_tls_verify = false;
  std::string metrics_listen_address;
  std::string kube_resource_kind;
  std::string log_level = "info";
  bool log_color = false;
  bool log_color_given = false;  // when false, colour follows whether stderr is a TTY
  bool debug = false;            // deprecated --debug: same as --log-level=debug
  std::string kubeconfig, kube_context, kube_namespace;  // stolonctl only
};

// Registers the common flags of `component` on `app`, writing into `config` (which must outlive
// the app). Durations use Go syntax ("5s").
void AddCommonFlags(CLI::App& app, CommonConfig& config, Component component);

// Adds a Go-duration option (e.g. "--store-timeout 5s") writing into `out`.
CLI::Option* AddDurationOption(CLI::App& app, const std::string& name, Duration& out,
                               const std::string& description);

// Gives every option of `app` (not of its subcommands) an environment variable
// <prefix>_<NAME>, e.g. prefix "STKEEPER" and --data-dir → STKEEPER_DATA_DIR.
void BindEnv(CLI::App& app, std::string_view prefix);

// Environment variable name for a flag: EnvName("STKEEPER", "data-dir") == "STKEEPER_DATA_DIR".
std::string EnvName(std::string_view prefix, std::string_view flag);

// The checks every component runs before touching the store: cluster name present, backend known,
// a parsable --metrics-listen-address when given.
absl::Status ValidateCommonConfig(const CommonConfig& config);

// Sets up logging from the common flags (level, --debug, colour/TTY).
absl::Status InitLoggingFromFlags(const CommonConfig& config);

}  // namespace stolon
