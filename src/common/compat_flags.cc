#include "common/compat_flags.h"

#include "fmt/format.h"

namespace stolon {

std::vector<std::string> NoEffectFlagWarnings(const CommonConfig& c) {
  std::vector<std::string> out;
  if (c.store_backend == "kubernetes") return out;  // refused by the store with its own message
  const std::pair<const char*, const std::string*> kube[] = {
      {"--kube-resource-kind", &c.kube_resource_kind},
      {"--kubeconfig", &c.kubeconfig},
      {"--kube-context", &c.kube_context},
      {"--kube-namespace", &c.kube_namespace},
  };
  for (const auto& [flag, value] : kube) {
    if (value->empty()) continue;
    out.push_back(
        fmt::format("{} has no effect: it applies only to --store-backend=kubernetes, which is not "
                    "supported yet",
                    flag));
  }
  return out;
}

}  // namespace stolon
