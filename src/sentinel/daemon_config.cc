#include "sentinel/daemon_config.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "CLI/CLI.hpp"
#include "cluster/json.h"
#include "fmt/format.h"
#include "store/store_config.h"

namespace stolon::sentinel {

void AddSentinelFlags(CLI::App& app, SentinelConfig& config) {
  // As with Go's flag package, a flag given twice takes the last value.
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  // AddCommonFlags also registers the hidden deprecated --debug.
  AddCommonFlags(app, config.common, Component::kSentinel);
  app.add_option("--initial-cluster-spec", config.initial_cluster_spec_file,
                 "a file providing the initial cluster specification, used only at cluster "
                 "initialization, ignored if cluster is already initialized");
  BindEnv(app, kSentinelEnvPrefix);
}

absl::StatusOr<cluster::ClusterSpec> LoadInitialClusterSpec(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::InvalidArgumentError(fmt::format(
        "cannot read the initial cluster spec file {:?} given with --initial-cluster-spec: {}",
        path, std::strerror(errno)));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  auto spec = cluster::ParseClusterSpecStrict(ss.str());
  if (!spec.ok()) {
    return absl::InvalidArgumentError(
        fmt::format("cannot parse the initial cluster spec file {:?}: {}", path,
                    std::string(spec.status().message())));
  }
  if (absl::Status s = spec->Validate(); !s.ok()) {
    return absl::InvalidArgumentError(
        fmt::format("invalid initial cluster spec in {:?}: {}", path, std::string(s.message())));
  }
  return *spec;
}

absl::Status FinalizeSentinelConfig(SentinelConfig& config) {
  if (absl::Status s = ValidateCommonConfig(config.common); !s.ok()) return s;
  if (auto sc = store::StoreConfigFromFlags(config.common); !sc.ok()) return sc.status();
  config.initial_cluster_spec.reset();
  if (!config.initial_cluster_spec_file.empty()) {
    auto spec = LoadInitialClusterSpec(config.initial_cluster_spec_file);
    if (!spec.ok()) return spec.status();
    config.initial_cluster_spec = std::move(*spec);
  }
  return absl::OkStatus();
}

}  // namespace stolon::sentinel
