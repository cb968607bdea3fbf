stolon_test(postgresql_test
  SOURCES unit/postgresql/conninfo_test.cc unit/postgresql/config_test.cc unit/postgresql/util_test.cc
    unit/postgresql/postmaster_test.cc
  DEPS stolon_postgresql LABELS unit)
