stolon_test(proxy_relay_test SOURCES unit/proxy/relay_test.cc
  DEPS stolon_proxy_relay stolon_test_support LABELS unit TIMEOUT 120)
stolon_test(proxy_route_test SOURCES unit/proxy/route_test.cc
  DEPS stolon_proxy LABELS unit)
stolon_test(proxy_checker_test SOURCES unit/proxy/checker_test.cc unit/proxy/server_test.cc
  unit/proxy/config_test.cc
  DEPS stolon_proxy stolon_test_support LABELS unit TIMEOUT 120)
