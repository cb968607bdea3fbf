# Shared fixture for tests that run real PostgreSQL through stolon_postgresql (see
# support/postgres.h for the privilege-drop pattern); reusable by the keeper tests.
add_library(stolon_test_postgres STATIC support/postgres.cc)
target_include_directories(stolon_test_postgres PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_compile_options(stolon_test_postgres PRIVATE ${STOLON_WARNINGS})
target_link_libraries(stolon_test_postgres PUBLIC stolon_test_support stolon_postgresql stolon_common
  GTest::gmock GTest::gtest)

stolon_test(postgresql_integration_test
  SOURCES integration/postgresql/main.cc integration/postgresql/manager_test.cc
  DEPS stolon_test_postgres LABELS integration TIMEOUT 300)
