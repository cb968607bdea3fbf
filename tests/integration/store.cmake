# The etcd fixture (tests/support/etcd.*) is part of the shared test support library so every
# integration test can start an etcd.
target_sources(stolon_test_support PRIVATE ${CMAKE_CURRENT_LIST_DIR}/../support/etcd.cc)

stolon_test(store_etcd_test
  SOURCES integration/store/etcd_kv_store_test.cc
  DEPS stolon_store stolon_test_support
  LABELS integration TIMEOUT 120)

stolon_test(store_domain_test
  SOURCES integration/store/store_test.cc
  DEPS stolon_store stolon_test_support
  LABELS integration TIMEOUT 120)

stolon_test(store_etcd_cluster_test
  SOURCES integration/store/etcd_cluster_test.cc
  DEPS stolon_store stolon_test_support
  LABELS integration TIMEOUT 180)

stolon_test(store_etcd_recovery_test
  SOURCES integration/store/etcd_recovery_test.cc
  DEPS stolon_store stolon_test_support
  LABELS integration TIMEOUT 120)
