stolon_test(sentinel_daemon_test
  SOURCES unit/sentinel_daemon/config_test.cc unit/sentinel_daemon/check_test.cc
  DEPS stolon_sentinel_daemon stolon_store stolon_test_support
  LABELS unit TIMEOUT 60)
