// Test doubles for the proxy: a store whose answers tests set, and a relay control that records.
#pragma once

#include <mutex>
#include <optional>
#include <vector>

#include "proxy/checker.h"

namespace stolon::proxy::testing {

// Thread-safe: the daemon's check thread reads while the test writes.
class FakeProxyStore final : public ProxyStore {
 public:
  absl::StatusOr<std::optional<cluster::ClusterData>> GetClusterData() override {
    std::lock_guard l(mu_);
    ++reads_;
    return cd_;
  }
  absl::Status SetProxyInfo(const cluster::ProxyInfo& info, Duration ttl) override {
    std::lock_guard l(mu_);
    if (!publish_status_.ok()) return publish_status_;
    infos_.push_back({info, ttl});
    return absl::OkStatus();
  }
  void Set(absl::StatusOr<std::optional<cluster::ClusterData>> cd) {
    std::lock_guard l(mu_);
    cd_ = std::move(cd);
  }
  void SetPublishStatus(absl::Status st) {
    std::lock_guard l(mu_);
    publish_status_ = std::move(st);
  }
  struct Published {
    cluster::ProxyInfo info;
    Duration ttl;
  };
  std::vector<Published> infos() {
    std::lock_guard l(mu_);
    return infos_;
  }
  int reads() {
    std::lock_guard l(mu_);
    return reads_;
  }

 private:
  std::mutex mu_;
  absl::StatusOr<std::optional<cluster::ClusterData>> cd_ = std::optional<cluster::ClusterData>();
  absl::Status publish_status_;
  std::vector<Published> infos_;
  int reads_ = 0;
};

class FakeRelayControl final : public RelayControl {
 public:
  absl::Status StartListening() override {
    ++start_calls;
    listening = listen_status.ok();
    return listen_status;
  }
  size_t SetDestination(std::optional<asio::ip::tcp::endpoint> dest) override {
    ++set_calls;
    if (dest == destination) return 0;
    destination = dest;
    return open;
  }
  absl::Status listen_status;
  bool listening = false;
  int start_calls = 0;
  int set_calls = 0;
  size_t open = 0;  // what a change reports as closed
  std::optional<asio::ip::tcp::endpoint> destination;
};

// A clusterdata with one master db at host:port and `enabled` proxies, proxy generation 4.
inline cluster::ClusterData ClusterWithMaster(const std::string& host, int port,
                                              std::vector<std::string> enabled,
                                              const std::string& db_uid = "d4e5f601") {
  cluster::ClusterData cd;
  cd.cluster.spec.init_mode = "new";
  cluster::DB db;
  db.uid = db_uid;
  db.status.listen_address = host;
  db.status.port = std::to_string(port);
  cd.dbs[db_uid] = db;
  cd.proxy.generation = 4;
  cd.proxy.spec.master_db_uid = db_uid;
  cd.proxy.spec.enabled_proxies = std::move(enabled);
  return cd;
}

}  // namespace stolon::proxy::testing
