// EtcdCluster: a throw-away etcd (1 or 3 members) on free loopback ports for integration tests,
// with data in a temp dir, and the fault injections tests need: kill, graceful stop, restart,
// freeze (SIGSTOP) and thaw. Plain http by default; https with a server certificate when asked.
//
// Failures to start or to become healthy throw std::runtime_error with the member's log tail.
// Not thread-safe; one test thread drives it.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "support/process.h"

namespace stolon::testing {

struct EtcdClusterOptions {
  int members = 1;
  // TLS on the client URLs (https) with this server certificate and key (PEM files). When
  // client_ca_file is set, clients must present a certificate signed by it.
  std::string server_cert_file;
  std::string server_key_file;
  std::string client_ca_file;
  // Client certificate and key that the fixture's own etcdctl calls present (with client_ca_file).
  std::string etcdctl_cert_file;
  std::string etcdctl_key_file;
  // Raft timing (etcd defaults 100ms/1000ms); smaller values make failover tests quicker.
  int heartbeat_ms = 100;
  int election_timeout_ms = 1000;
};

class EtcdCluster {
 public:
  // Starts every member and waits until the cluster serves quorum reads (up to 30s).
  explicit EtcdCluster(EtcdClusterOptions options = {});
  ~EtcdCluster();
  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;

  int size() const { return static_cast<int>(members_.size()); }
  // Client URLs ("http://127.0.0.1:<port>"), one per member, in member order.
  std::vector<std::string> endpoints() const;
  // The same, comma-joined (a --store-endpoints value).
  std::string endpoints_flag() const;
  std::string endpoint(int i) const;

  // (Re)starts member i with its existing data dir. Does not wait; see WaitHealthy.
  void Start(int i);
  // SIGKILL member i (no-op when not running).
  void Kill(int i);
  // SIGTERM member i and wait for it to exit.
  void Stop(int i);
  // SIGSTOP / SIGCONT member i.
  void Freeze(int i);
  void Thaw(int i);
  bool Running(int i);

  // Waits until member i answers a quorum read (etcdctl endpoint health). Returns whether it did.
  bool WaitHealthy(int i, std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Waits until every running member is healthy.
  bool WaitAllHealthy(std::chrono::milliseconds timeout = std::chrono::seconds(30));

  // Runs etcdctl (API v3) against all endpoints with `args`; returns the exit code, output in *out.
  int Etcdctl(const std::vector<std::string>& args, std::string* out) const;

  // Member i's log.
  std::string Log(int i) const;

 private:
  struct Member {
    std::string name;
    int client_port = 0;
    int peer_port = 0;
    std::string data_dir;
    std::unique_ptr<Process> process;
  };
  bool tls() const { return !options_.server_cert_file.empty(); }
  std::string log_path(int i) const;
  void AddTlsArgs(std::vector<std::string>& argv) const;

  EtcdClusterOptions options_;
  TempDir dir_;
  std::string token_;
  std::string initial_cluster_;
  std::vector<Member> members_;
};

}  // namespace stolon::testing
