stolon_test(store_unit_test
  SOURCES unit/store/mem_kv_store_test.cc unit/store/kv_store_wrapper_test.cc
          unit/store/store_config_test.cc unit/store/election_test.cc
          unit/store/store_ttl_test.cc unit/store/change_notifier_test.cc
  DEPS stolon_store
  LABELS unit TIMEOUT 120)
