stolon_test(sentinel_test
  SOURCES
    unit/sentinel/sim.cc unit/sentinel/health_test.cc unit/sentinel/init_test.cc
    unit/sentinel/failover_test.cc unit/sentinel/standbys_test.cc unit/sentinel/sync_test.cc
    unit/sentinel/scenario_test.cc unit/sentinel/misc_test.cc unit/sentinel/schedule_test.cc
  DEPS stolon_sentinel stolon_cluster stolon_common absl::strings
  LABELS unit)
