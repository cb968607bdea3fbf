stolon_test(keeper_test
  SOURCES unit/keeper/config_test.cc unit/keeper/local_state_test.cc unit/keeper/state_machine_test.cc
    unit/keeper/metrics_test.cc unit/keeper/report_test.cc unit/keeper/decide_test.cc
  DEPS stolon_keeper stolon_cluster stolon_test_support LABELS unit)
