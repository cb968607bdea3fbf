stolon_test(proxy_relay_test SOURCES unit/proxy/relay_test.cc
  DEPS stolon_proxy_relay stolon_test_support LABELS unit TIMEOUT 120)
if(TARGET stolon_proxy)
  stolon_test(proxy_route_test SOURCES unit/proxy/route_test.cc
    DEPS stolon_proxy LABELS unit)
endif()
