# docs/grafana/stolon-cluster.json: valid JSON whose queries name only metrics the programs serve.
stolon_test(grafana_dashboard_test SOURCES unit/dashboard/grafana_dashboard_test.cc
  DEPS stolon_keeper stolon_sentinel_daemon stolon_proxy stolon_store nlohmann_json::nlohmann_json
  LABELS unit TIMEOUT 60)
