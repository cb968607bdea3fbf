# The metrics registry, the HTTP endpoint and the test-side Prometheus text checker.
stolon_test(common_metrics_test
  SOURCES unit/common/metrics_test.cc unit/common/http_server_test.cc
  DEPS stolon_common stolon_test_support LABELS unit TIMEOUT 60)
