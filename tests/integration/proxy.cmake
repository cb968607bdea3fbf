if(TARGET stolon_store)
  stolon_test(proxy_integration_test SOURCES integration/proxy/proxy_test.cc
    DEPS stolon_cluster stolon_test_support PkgConfig::LIBPQ LABELS integration TIMEOUT 300)
  add_dependencies(proxy_integration_test stolon-proxy)
endif()
