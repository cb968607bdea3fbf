stolon_test(daemon_test
  SOURCES unit/daemon/daemon_test.cc
  DEPS stolon_daemon LABELS unit)
