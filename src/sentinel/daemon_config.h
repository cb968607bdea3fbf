// The stolon-sentinel command line (stolon v0.17 cmd/sentinel): the common flags, the optional
// --initial-cluster-spec file and the hidden deprecated --debug, every flag also settable as
// STSENTINEL_<FLAG_NAME> in the environment.
#pragma once

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cluster/cluster.h"
#include "common/flags.h"

namespace stolon::sentinel {

// The environment prefix of the sentinel's flags.
inline constexpr const char* kSentinelEnvPrefix = "STSENTINEL";

struct SentinelConfig {
  CommonConfig common;
  // --initial-cluster-spec: path of a JSON ClusterSpec used to create the cluster data when the
  // store has none. Empty: wait for `stolonctl init`.
  std::string initial_cluster_spec_file;
  // The parsed and validated spec of that file (set by FinalizeSentinelConfig).
  std::optional<cluster::ClusterSpec> initial_cluster_spec;
};

// Registers every flag on `app` (writing into `config`, which must outlive the app) and binds
// them to STSENTINEL_* environment variables. A flag given twice takes the last value.
void AddSentinelFlags(CLI::App& app, SentinelConfig& config);

// Reads and validates the initial cluster spec file: strict JSON (an unknown key is an error
// naming it, so a typo is not silently ignored) and ClusterSpec validation with defaults.
// Errors are InvalidArgument with one line naming the file and the problem.
absl::StatusOr<cluster::ClusterSpec> LoadInitialClusterSpec(const std::string& path);

// The start-up checks: the common flags (cluster name, backend) and the initial cluster spec
// file when given (fills config.initial_cluster_spec). The error message is one line naming the
// problem and the fix; the daemon prints it and exits 1.
absl::Status FinalizeSentinelConfig(SentinelConfig& config);

}  // namespace stolon::sentinel
