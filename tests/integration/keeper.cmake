# Keeper integration tests: real etcd + PostgreSQL 15, the stolon-keeper binary run as the
# unprivileged user. One binary per scenario group so ctest -j can run them in parallel.
add_library(keeper_test_harness STATIC integration/keeper/harness.cc)
target_include_directories(keeper_test_harness PUBLIC ${PROJECT_SOURCE_DIR}/tests ${PROJECT_SOURCE_DIR}/src)
target_compile_options(keeper_test_harness PRIVATE ${STOLON_WARNINGS})
target_link_libraries(keeper_test_harness PUBLIC stolon_test_support stolon_store stolon_postgresql
  stolon_cluster GTest::gtest)

foreach(t init config replication faults standby_cluster)
  stolon_test(keeper_${t}_test
    SOURCES integration/keeper/${t}_test.cc
    DEPS keeper_test_harness
    LABELS integration TIMEOUT 300)
  add_dependencies(keeper_${t}_test stolon-keeper)
endforeach()
