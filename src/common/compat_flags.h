// Flags accepted for compatibility with stolon that have no effect here: the Kubernetes client
// flags (--kube-resource-kind; stolonctl's --kubeconfig, --kube-context, --kube-namespace). The
// kubernetes backend itself is refused by the store (store::CheckStoreBackend), so these matter
// only as a warning: set with another backend they do nothing.
#pragma once

#include <string>
#include <vector>

#include "common/flags.h"

namespace stolon {

// One warning line per Kubernetes flag set to a non-default value while --store-backend is not
// kubernetes, e.g. "--kube-namespace has no effect: it applies only to
// --store-backend=kubernetes, which is not supported yet". Empty when nothing applies.
std::vector<std::string> NoEffectFlagWarnings(const CommonConfig& config);

}  // namespace stolon
