#include "common/compat_flags.h"

#include <gtest/gtest.h>

namespace stolon {
namespace {

TEST(NoEffectFlagWarnings, KubeFlagsWarnUnlessTheBackendIsKubernetes) {
  CommonConfig c;
  c.store_backend = "etcdv3";
  EXPECT_TRUE(NoEffectFlagWarnings(c).empty());  // defaults: nothing to say
  c.kube_resource_kind = "configmap";
  c.kube_namespace = "db";
  std::vector<std::string> want = {
      "--kube-resource-kind has no effect: it applies only to --store-backend=kubernetes, which "
      "is not supported yet",
      "--kube-namespace has no effect: it applies only to --store-backend=kubernetes, which is "
      "not supported yet"};
  EXPECT_EQ(NoEffectFlagWarnings(c), want);
  c.kubeconfig = "/k";
  c.kube_context = "ctx";
  EXPECT_EQ(NoEffectFlagWarnings(c).size(), 4u);
  c.store_backend = "kubernetes";  // refused by the store instead
  EXPECT_TRUE(NoEffectFlagWarnings(c).empty());
}

}  // namespace
}  // namespace stolon
