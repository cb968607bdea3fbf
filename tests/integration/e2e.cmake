# End-to-end HA scenarios: whole clusters (etcd, keepers + PostgreSQL 15, a sentinel, a proxy,
# stolonctl) under faults with a continuous writer through the proxy. One binary per cluster so
# ctest -j runs them side by side; each runs several sequential scenarios on its cluster.
add_library(stolon_test_writer STATIC support/writer.cc)
target_include_directories(stolon_test_writer PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_compile_options(stolon_test_writer PRIVATE ${STOLON_WARNINGS})
target_link_libraries(stolon_test_writer PUBLIC PkgConfig::LIBPQ Threads::Threads)

add_library(e2e_test_harness STATIC integration/e2e/scenario.cc)
target_include_directories(e2e_test_harness PUBLIC ${PROJECT_SOURCE_DIR}/tests ${PROJECT_SOURCE_DIR}/src)
target_compile_options(e2e_test_harness PRIVATE ${STOLON_WARNINGS})
target_link_libraries(e2e_test_harness PUBLIC sentinel_test_harness stolon_test_writer
  nlohmann_json::nlohmann_json GTest::gtest)

foreach(t sync sync_alone async ctl init_modes resync)
  stolon_test(e2e_${t}_test
    SOURCES integration/e2e/${t}_test.cc
    DEPS e2e_test_harness
    LABELS integration e2e TIMEOUT 420)
  add_dependencies(e2e_${t}_test stolon-sentinel stolon-keeper stolon-proxy stolonctl)
endforeach()

# The fault storm (storm_test.cc): one seeded storm by default (about 4 minutes at most);
# STOLON_STORM_SEEDS="1 2 3" runs longer storms, one per seed: run that binary directly.
stolon_test(e2e_storm_test
  SOURCES integration/e2e/storm_test.cc
  DEPS e2e_test_harness
  LABELS integration e2e TIMEOUT 480)
add_dependencies(e2e_storm_test stolon-sentinel stolon-keeper stolon-proxy stolonctl)
