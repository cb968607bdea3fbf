stolon_test(ctl_unit_test
  SOURCES unit/ctl/tabwriter_test.cc unit/ctl/status_test.cc unit/ctl/ops_test.cc
  DEPS stolon_ctl LABELS unit)
