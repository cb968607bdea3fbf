// JSON encoding of the cluster model, byte-compatible in meaning with stolon v0.17 (Go
// encoding/json): stolon's key names, omitempty/null rules, Go duration strings, RFC 3339 times
// with nanoseconds, ProxyInfo.ProxyTimeout as integer nanoseconds, maps with sorted keys.
//
// Decoding is strict about types and reports the JSON path of the offending value
// ("cluster.spec.sleepInterval: invalid duration \"5\": missing unit ..."). Unknown keys are
// ignored, as Go does, except where a caller asks for strictness (ParseClusterSpecStrict, used by
// stolonctl so that a typo in a spec is an error naming the field).
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "cluster/cluster.h"
#include "nlohmann/json.hpp"

namespace stolon::cluster {

// Encoders return compact JSON. Indented forms use nlohmann's dump(indent) on the *ToJson value.
nlohmann::json ToJson(const ClusterData& cd);
nlohmann::json ToJson(const ClusterSpec& spec);
nlohmann::json ToJson(const KeeperInfo& ki);
nlohmann::json ToJson(const SentinelInfo& si);
nlohmann::json ToJson(const ProxyInfo& pi);

std::string EncodeClusterData(const ClusterData& cd);
std::string EncodeClusterSpec(const ClusterSpec& spec);
std::string EncodeKeeperInfo(const KeeperInfo& ki);
std::string EncodeSentinelInfo(const SentinelInfo& si);
std::string EncodeProxyInfo(const ProxyInfo& pi);

// Decoders. ParseClusterData refuses formatVersion != 1 with FailedPrecondition
// ("unsupported cluster data format version N"); every other error is InvalidArgument.
// A document that is JSON `null` decodes to ClusterData with format_version 0 via
// ParseClusterDataOrNull (nullopt); ParseClusterData treats it as an error.
absl::StatusOr<ClusterData> ParseClusterData(std::string_view json);
absl::StatusOr<std::optional<ClusterData>> ParseClusterDataOrNull(std::string_view json);
absl::StatusOr<ClusterSpec> ParseClusterSpec(std::string_view json);
absl::StatusOr<ClusterSpec> ParseClusterSpecStrict(std::string_view json);  // unknown keys → error
absl::StatusOr<KeeperInfo> ParseKeeperInfo(std::string_view json);
absl::StatusOr<SentinelInfo> ParseSentinelInfo(std::string_view json);
absl::StatusOr<ProxyInfo> ParseProxyInfo(std::string_view json);

// RFC 7386 JSON merge patch applied to a spec: `null` removes a key (or map entry), objects merge
// recursively, anything else replaces. Returns the patched spec (not yet validated).
absl::StatusOr<ClusterSpec> MergePatchSpec(const ClusterSpec& spec, std::string_view patch_json);

// RFC 3339 with nanoseconds, as Go's time.RFC3339Nano in UTC ("2024-05-02T09:15:42.512Z").
std::string FormatTime(Time t);
absl::StatusOr<Time> ParseTime(std::string_view s);

}  // namespace stolon::cluster
