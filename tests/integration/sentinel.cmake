# Sentinel integration tests: real etcd, stolon-sentinel and stolon-keeper processes, PostgreSQL
# 15. One binary per scenario so ctest -j runs them in parallel.
add_library(sentinel_test_harness STATIC integration/sentinel/harness.cc)
target_include_directories(sentinel_test_harness PUBLIC ${PROJECT_SOURCE_DIR}/tests ${PROJECT_SOURCE_DIR}/src)
target_compile_options(sentinel_test_harness PRIVATE ${STOLON_WARNINGS})
target_link_libraries(sentinel_test_harness PUBLIC keeper_test_harness stolon_ctl stolon_store
  stolon_cluster stolon_test_support GTest::gtest)

foreach(t init failover sync_failover two_sentinels)
  stolon_test(sentinel_${t}_test
    SOURCES integration/sentinel/${t}_test.cc
    DEPS sentinel_test_harness
    LABELS integration TIMEOUT 300)
  add_dependencies(sentinel_${t}_test stolon-sentinel stolon-keeper)
endforeach()
