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

// Encoders return compact JSON. Indented forms use nlohmann's dump(indent) on the *ToJson value
// (stolonctl's tab-indented output: ToJson(x).dump(1, '\t')).
//
// Lists written even when empty/unset (no omitempty in stolon): ClusterSpec additionalWalSenders,
// additionalMasterReplicationSlots, pgHBA, automaticPgRestart (null when unset); DBSpec
// additionalWalSenders, additionalReplicationSlots and pgHBA (null when unset); DBSpec.followers
// ([] when empty); DBSpec.synchronousStandbys, DBSpec.externalSynchronousStandbys,
// DBStatus.synchronousStandbys, PostgresState.synchronousStandbys (null when empty). Decoding
// accepts both null and [] for every list. KeeperInfo.postgresState is omitted when unset.
// Invalid UTF-8 in strings is written as U+FFFD (as Go does) instead of failing.
nlohmann::json ToJson(const ClusterData& cd);
nlohmann::json ToJson(const ClusterSpec& spec);  // SpecKeys::kStored

// Which keys a spec encoding carries.
enum class SpecKeys {
  kStored,     // as stored in clusterdata (ClusterSpec's Go tags); what ToJson(spec) writes
  kOmitEmpty,  // every unset/empty field left out: `stolonctl spec`
  kAllKeys,    // every key, null when unset: `stolonctl spec --defaults` (on WithDefaults())
};
nlohmann::json ToJson(const ClusterSpec& spec, SpecKeys keys);
nlohmann::json ToJson(const KeeperInfo& ki);
nlohmann::json ToJson(const SentinelInfo& si);
nlohmann::json ToJson(const ProxyInfo& pi);

std::string EncodeClusterData(const ClusterData& cd);
std::string EncodeClusterSpec(const ClusterSpec& spec);
std::string EncodeKeeperInfo(const KeeperInfo& ki);
std::string EncodeSentinelInfo(const SentinelInfo& si);
std::string EncodeProxyInfo(const ProxyInfo& pi);

// Decoders. ParseClusterData refuses formatVersion != 1 (or missing) with FailedPrecondition
// ("unsupported cluster data format version N"); every other error is InvalidArgument naming the
// JSON path ("invalid JSON: ..." when the text is not JSON). They never throw.
// ParseClusterDataOrNull returns nullopt for the JSON document `null` (an absent/cleared cd);
// ParseClusterData treats `null` as an error ("cluster data: expected an object, got null").
absl::StatusOr<ClusterData> ParseClusterData(std::string_view json);
absl::StatusOr<std::optional<ClusterData>> ParseClusterDataOrNull(std::string_view json);
absl::StatusOr<ClusterSpec> ParseClusterSpec(std::string_view json);
absl::StatusOr<ClusterSpec> ParseClusterSpecStrict(std::string_view json);  // unknown keys → error
absl::StatusOr<KeeperInfo> ParseKeeperInfo(std::string_view json);
absl::StatusOr<SentinelInfo> ParseSentinelInfo(std::string_view json);
absl::StatusOr<ProxyInfo> ParseProxyInfo(std::string_view json);
// Decodes an already parsed spec (e.g. after editing its JSON form); strict as above when asked.
absl::StatusOr<ClusterSpec> ClusterSpecFromJson(const nlohmann::json& j, bool strict = false);

// RFC 7386 JSON merge patch applied to a spec: `null` removes a key (or map entry), objects merge
// recursively, anything else replaces. Returns the patched spec (not yet validated).
absl::StatusOr<ClusterSpec> MergePatchSpec(const ClusterSpec& spec, std::string_view patch_json);

// RFC 3339 with nanoseconds, as Go's time.RFC3339Nano in UTC ("2024-05-02T09:15:42.512Z").
// ZeroTime() formats as "0001-01-01T00:00:00Z" and that string parses back to ZeroTime().
// ParseTime accepts any RFC 3339 offset ("+02:00") and converts to UTC; times outside the range
// of system_clock (about 1678..2262) other than Go's zero time are InvalidArgument.
std::string FormatTime(Time t);
absl::StatusOr<Time> ParseTime(std::string_view s);

}  // namespace stolon::cluster
