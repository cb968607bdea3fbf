#include "common/flags.h"

#include <unistd.h>

#include <cctype>

#include "common/log.h"
#include "fmt/format.h"

namespace stolon {

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
  app.add_option("--store-key", c.store_key, "private key file for client identification to the store");
  app.add_option("--store-ca-file", c.store_ca_file, "verify certificates of HTTPS-enabled store servers using this CA bundle");
  app.add_flag("--store-skip-tls-verify", c.store_skip_tls_verify,
               "skip store certificate verification (insecure!!!)");
  app.add_option("--kube-resource-kind", c.kube_resource_kind,
                 "the k8s resource kind to be used to store stolon clusterdata and do sentinel "
                 "leader election (only \"configmap\" is supported)");
  app.add_option("--log-level", c.log_level, "debug, info (default), warn or error")
      ->capture_default_str();
  if (component == Component::kCtl) {
    app.add_option("--kubeconfig", c.kubeconfig, "path to kubeconfig file");
    app.add_option("--kube-context", c.kube_context, "name of the kubeconfig context to use");
    app.add_option("--kube-namespace", c.kube_namespace, "name of the kubernetes namespace to use");
  } else {
    app.add_option("--metrics-listen-address", c.metrics_listen_address,
                   "metrics listen address i.e \"0.0.0.0:8080\" (disabled by default)");
    app.add_flag("--log-color", c.log_color, "enable color in log output (default: true if "
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
  if (c.store_backend.empty()) {
    return absl::InvalidArgumentError("store backend type required: pass --store-backend=etcdv3");
  }
  static const char* kKnown[] = {"etcdv2", "etcd", "etcdv3", "consul", "kubernetes"};
  bool known = false;
  for (const char* k : kKnown) known = known || c.store_backend == k;
  if (!known) {
    return absl::InvalidArgumentError(fmt::format(
        "Unknown store backend: \"{}\" (use etcdv3)", c.store_backend));
  }
  if (c.store_backend != "etcdv3") {
    return absl::UnimplementedError(fmt::format(
        "store backend \"{}\" is not supported yet by stolon-cpp: use --store-backend=etcdv3",
        c.store_backend));
  }
  if (c.store_timeout <= Duration(0)) {
    return absl::InvalidArgumentError("--store-timeout must be positive");
  }
  return absl::OkStatus();
}

absl::Status InitLoggingFromFlags(const CommonConfig& c) {
  std::string level = c.debug ? "debug" : c.log_level;
  if (level != "debug" && level != "info" && level != "warn" && level != "error") {
    return absl::InvalidArgumentError(fmt::format(
        "invalid --log-level \"{}\": use debug, info, warn or error", level));
  }
  bool color = c.log_color_given ? c.log_color : ::isatty(STDERR_FILENO) == 1;
  return InitLogging(level, color);
}

}  // namespace stolon
