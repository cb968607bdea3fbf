stolon_test(ctl_unit_test
  SOURCES unit/ctl/tabwriter_test.cc unit/ctl/status_test.cc unit/ctl/ops_test.cc
  DEPS stolon_ctl LABELS unit)

stolon_test(ctl_commands_test
  SOURCES unit/ctl/commands_test.cc
  DEPS stolon_ctl_cli LABELS unit)
