// Command-line flags shared by every binary (stolon's cmd/common.go) and the environment-variable
// convention: a flag not given on the command line is read from <PREFIX>_<FLAG_NAME> with '-'
// turned into '_' and upper-cased (STKEEPER_DATA_DIR, STOLONCTL_CLUSTER_NAME, ...). Empty
// environment values are ignored.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "common/duration.h"

// CLI11 is large (every including file would compile all of it): the .cc files that build
// command lines include "CLI/CLI.hpp" themselves.
namespace CLI {
class App;
class Option;
}  // namespace CLI

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

// The cluster name is present and --metrics-listen-address, when given, parses (also checked when
// the command line is parsed). The store flags are checked by store::StoreConfigFromFlags.
absl::Status ValidateCommonConfig(const CommonConfig& config);

// Sets up logging from the common flags (level, --debug, colour/TTY), then warns about flags
// with no effect (common/compat_flags.h). A bad level is refused: "invalid --log-level ...".
absl::Status InitLoggingFromFlags(const CommonConfig& config);

// Outcome of ParseCommandLine: either go on and run, or stop with `message` and `exit_code`.
struct FlagParseResult {
  bool exit = false;    // true: do not run; print `message` and exit with `exit_code`
  int exit_code = 0;    // 0 for --help/--version (text for stdout), 1 for a bad flag or value
  std::string message;  // help/version text, or one line "<program>: <problem>" (no newline)
};

using GetenvFn = const char* (*)(const char*);

// The command-line convention shared by the four programs: parses `args` (without the program
// name) into `app`, adding "--version" ("<program> version X"); then, for each option of `app`
// (not of its subcommands) that the command line did not set, reads the environment variable
// <env_prefix>_<FLAG> (see BindEnv; empty values are ignored). A bad value gives one line naming
// the flag, or the variable that held it: `stolon-keeper: invalid value "x" for
// STKEEPER_STORE_TIMEOUT: ...`. An unknown subcommand gives `unknown command "x" for "<program>"`.
// --help lists the environment variables. `getenv_fn` defaults to the process environment.
FlagParseResult ParseCommandLine(CLI::App& app, const std::vector<std::string>& args,
                                 std::string_view program, std::string_view env_prefix,
                                 GetenvFn getenv_fn = nullptr);

// For a daemon's main(): ParseCommandLine on argv, then logging from `common`. Prints help or
// version on stdout, an error line on stderr, and returns the exit code when the program must
// stop (0 or 1); nullopt when it should run.
std::optional<int> SetUpFromCommandLine(CLI::App& app, int argc, char** argv,
                                        std::string_view program, std::string_view env_prefix,
                                        const CommonConfig& common);

// Prints a stop result (stdout when exit_code is 0, else stderr) and returns its exit code.
int PrintParseResult(const FlagParseResult& result);

}  // namespace stolon
