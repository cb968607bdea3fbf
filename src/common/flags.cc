#include "common/flags.h"

#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>

#include "CLI/CLI.hpp"
#include "common/compat_flags.h"
#include "common/http_server.h"
#include "common/log.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"

#ifndef STOLON_VERSION
#define STOLON_VERSION "No version defined at build time"
#endif

namespace stolon {
namespace {

bool IsLogLevel(std::string_view level) {
  return level == "debug" || level == "info" || level == "warn" || level == "error";
}

std::string OneLine(std::string s) {
  for (char& c : s) {
    if (c == '\n') c = ' ';
  }
  return s;
}

const char* ProcessGetenv(const char* name) { return std::getenv(name); }

}  // namespace

std::string EnvName(std::string_view prefix, std::string_view flag) {
  std::string out(prefix);
  out += '_';
  for (char c : flag) {
    out += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

CLI::Option* AddDurationOption(CLI::App& app, const std::string& name, Duration& out,
                               const std::string& description) {
  auto* opt = app.add_option_function<std::string>(
      name,
      [&out, name](const std::string& v) {
        auto d = ParseGoDuration(v);
        if (!d.ok()) throw CLI::ValidationError(name, std::string(d.status().message()));
        out = *d;
      },
      description);
  opt->default_str(FormatGoDuration(out));
  opt->type_name("DURATION");
  return opt;
}

void AddCommonFlags(CLI::App& app, CommonConfig& c, Component component) {
  // As with Go's pflag, a flag given twice takes the last value.
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_option("--cluster-name", c.cluster_name, "cluster name");
  app.add_option("--store-backend", c.store_backend, "store backend type (etcdv3)");
  app.add_option("--store-endpoints", c.store_endpoints,
                 "a comma-delimited list of store endpoints (use https scheme for tls "
                 "communication) (defaults: http://127.0.0.1:2379 for etcd)");
  AddDurationOption(app, "--store-timeout", c.store_timeout, "store request timeout");
  app.add_option("--store-prefix", c.store_prefix, "the store base prefix")->capture_default_str();
  app.add_option("--store-cert-file", c.store_cert_file,
                 "certificate file for client identification to the store");
  app.add_option("--store-key", c.store_key,
                 "private key file for client identification to the store");
  app.add_option("--store-ca-file", c.store_ca_file,
                 "verify certificates of HTTPS-enabled store servers using this CA bundle");
  app.add_flag("--store-skip-tls-verify", c.store_skip_tls_verify,
               "skip store certificate verification (insecure!!!)");
  app.add_option("--kube-resource-kind", c.kube_resource_kind,
                 "the k8s resource kind to be used to store stolon clusterdata and do sentinel "
                 "leader election (only \"configmap\" is supported)");
  app.add_option("--log-level", c.log_level, "debug, info (default), warn or error")
      ->capture_default_str()
      ->check(CLI::Validator(
          [](std::string& v) {
            return IsLogLevel(v) ? std::string()
                                 : fmt::format(
                                       "invalid log level \"{}\": use debug, info, warn "
                                       "or error",
                                       v);
          },
          "LEVEL"));
  if (component == Component::kCtl) {
    app.add_option("--kubeconfig", c.kubeconfig, "path to kubeconfig file");
    app.add_option("--kube-context", c.kube_context, "name of the kubeconfig context to use");
    app.add_option("--kube-namespace", c.kube_namespace, "name of the kubernetes namespace to use");
  } else {
    // Checked while parsing, like --log-level, so a bad value from the environment names the
    // variable: "--metrics-listen-address: invalid address "8080": no port; use host:port, ...".
    app.add_option("--metrics-listen-address", c.metrics_listen_address,
                   "metrics listen address i.e \"0.0.0.0:8080\" (disabled by default)")
        ->check(CLI::Validator(
            [](std::string& v) {
              if (v.empty()) return std::string();
              auto ep = ParseListenAddress(v, "address");
              return ep.ok() ? std::string() : std::string(ep.status().message());
            },
            "HOST:PORT"));
    app.add_flag("--log-color", c.log_color,
                 "enable color in log output (default: true if "
                 "stderr is a terminal)")
        ->each([&c](const std::string&) { c.log_color_given = true; });
    app.add_flag("--debug", c.debug, "enable debug logging (deprecated, use --log-level=debug)")
        ->group("");  // hidden
  }
}

void BindEnv(CLI::App& app, std::string_view prefix) {
  for (CLI::Option* opt : app.get_options()) {
    const std::string& lname = opt->get_single_name();
    if (opt->get_lnames().empty() || lname == "help" || lname == "version") continue;
    if (!opt->get_envname().empty()) continue;
    opt->envname(EnvName(prefix, opt->get_lnames().front()));
  }
}

absl::Status ValidateCommonConfig(const CommonConfig& c) {
  if (c.cluster_name.empty()) {
    return absl::InvalidArgumentError("cluster name required: pass --cluster-name");
  }
  if (!c.metrics_listen_address.empty()) {
    if (auto ep = ParseListenAddress(c.metrics_listen_address); !ep.ok()) return ep.status();
  }
  // The store settings (backend, endpoints, timeout) are checked by the store, which owns them:
  // store::StoreConfigFromFlags.
  return absl::OkStatus();
}

absl::Status InitLoggingFromFlags(const CommonConfig& c) {
  std::string level = c.debug ? "debug" : c.log_level;
  if (!IsLogLevel(level)) {
    return absl::InvalidArgumentError(
        fmt::format("invalid --log-level \"{}\": use debug, info, warn or error", level));
  }
  bool color = c.log_color_given ? c.log_color : ::isatty(STDERR_FILENO) == 1;
  if (absl::Status s = InitLogging(level, color); !s.ok()) return s;
  for (const std::string& w : NoEffectFlagWarnings(c)) spdlog::warn("{}", w);
  return absl::OkStatus();
}

FlagParseResult ParseCommandLine(CLI::App& app, const std::vector<std::string>& args,
                                 std::string_view program, std::string_view env_prefix,
                                 GetenvFn getenv_fn) {
  if (getenv_fn == nullptr) getenv_fn = ProcessGetenv;
  const std::string prog(program);
  app.set_version_flag("--version", fmt::format("{} version {}", prog, STOLON_VERSION));
  BindEnv(app, env_prefix);
  // CLI11 would read the variables itself while parsing, but its error would name only the flag
  // although the bad value came from the variable: read them ourselves after the command line.
  // The names stay bound for --help, which lists them.
  std::vector<std::pair<CLI::Option*, std::string>> env;
  for (CLI::Option* opt : app.get_options()) {
    if (opt->get_envname().empty()) continue;
    env.emplace_back(opt, opt->get_envname());
    opt->envname("");
  }
  auto restore_env_names = [&env] {
    for (auto& [opt, name] : env) opt->envname(name);
  };
  FlagParseResult out;
  auto stop = [&out](int code, std::string message) {
    out.exit = true;
    out.exit_code = code;
    out.message = std::move(message);
    return out;
  };
  std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 consumes it backwards
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    restore_env_names();
    return stop(0, app.help());
  } catch (const CLI::CallForAllHelp&) {
    restore_env_names();
    return stop(0, app.help("", CLI::AppFormatMode::All));
  } catch (const CLI::CallForVersion& e) {
    return stop(0, std::string(e.what()) + "\n");
  } catch (const CLI::ParseError& e) {
    restore_env_names();
    if (e.get_exit_code() == 0) return stop(0, app.help());
    // A program with subcommands, none selected, and a word left over: an unknown command.
    bool has_subcommands = !app.get_subcommands([](CLI::App*) { return true; }).empty();
    if (has_subcommands && app.get_subcommands().empty() && !app.remaining().empty()) {
      return stop(
          1, fmt::format("{0}: unknown command \"{1}\" for \"{0}\" (run '{0} --help' for usage)",
                         prog, app.remaining().front()));
    }
    return stop(1, fmt::format("{}: {} (see {} --help)", prog, OneLine(e.what()), prog));
  }
  restore_env_names();
  for (auto& [opt, name] : env) {
    if (opt->count() > 0) continue;  // the command line wins
    const char* v = getenv_fn(name.c_str());
    if (v == nullptr || *v == '\0') continue;
    try {
      opt->add_result(std::string(v));
      opt->run_callback();
    } catch (const CLI::Error& e) {
      return stop(
          1, fmt::format("{}: invalid value \"{}\" for {}: {}", prog, v, name, OneLine(e.what())));
    }
  }
  return out;
}

int PrintParseResult(const FlagParseResult& r) {
  if (r.exit_code == 0) {
    std::fputs(r.message.c_str(), stdout);
  } else {
    std::fprintf(stderr, "%s\n", r.message.c_str());
  }
  return r.exit_code;
}

std::optional<int> SetUpFromCommandLine(CLI::App& app, int argc, char** argv,
                                        std::string_view program, std::string_view env_prefix,
                                        const CommonConfig& common) {
  std::vector<std::string> args(argv + (argc > 0 ? 1 : 0), argv + argc);
  FlagParseResult r = ParseCommandLine(app, args, program, env_prefix);
  if (r.exit) return PrintParseResult(r);
  if (absl::Status s = InitLoggingFromFlags(common); !s.ok()) {
    std::fprintf(stderr, "%s: %s\n", std::string(program).c_str(),
                 std::string(s.message()).c_str());
    return 1;
  }
  return std::nullopt;
}

}  // namespace stolon
