stolon_test(cluster_test
  SOURCES unit/cluster/json_test.cc unit/cluster/spec_test.cc unit/cluster/time_test.cc
  DEPS stolon_cluster
  LABELS unit)
