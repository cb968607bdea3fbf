// RFC 7386 JSON merge patch of a cluster spec (stolonctl update --patch).
#include <string>
#include <string_view>

#include "cluster/json.h"
#include "common/status.h"
#include "fmt/format.h"

namespace stolon::cluster {

absl::StatusOr<ClusterSpec> MergePatchSpec(const ClusterSpec& spec, std::string_view patch_json) {
  nlohmann::json patch;
  try {
    patch = nlohmann::json::parse(patch_json.begin(), patch_json.end());
  } catch (const nlohmann::json::exception& e) {
    std::string_view what = e.what();
    if (auto pos = what.find("] "); what.starts_with("[json.exception") && pos != what.npos) {
      what.remove_prefix(pos + 2);
    }
    return absl::InvalidArgumentError(fmt::format("invalid JSON in patch: {}", what));
  }
  if (!patch.is_object()) {
    return absl::InvalidArgumentError(
        fmt::format("invalid patch: expected a JSON object, got {}", patch.type_name()));
  }
  nlohmann::json doc = ToJson(spec);
  // nlohmann implements RFC 7386 exactly: null deletes, objects merge, the rest replaces.
  doc.merge_patch(patch);
  return ClusterSpecFromJson(doc, /*strict=*/true);
}

}  // namespace stolon::cluster
