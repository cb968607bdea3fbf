stolon_test(ctl_etcd_test
  SOURCES integration/ctl/stolonctl_etcd_test.cc
  DEPS stolon_store stolon_cluster stolon_test_support
  LABELS integration TIMEOUT 120)
add_dependencies(ctl_etcd_test stolonctl)
