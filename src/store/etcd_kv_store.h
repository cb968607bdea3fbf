// EtcdKvStore: KvStore on etcd v3's gRPC API (KV, Lease, Watch), the way stolon's etcdv3 backend
// uses it: keys used exactly as given, linearizable reads, a fresh lease per TTL put, CAS as a
// txn on ModRevision (CreateRevision == 0 for create).
//
// Several endpoints (one gRPC channel each, connected lazily) with failover: a request goes to the
// current endpoint; on UNAVAILABLE or DEADLINE_EXCEEDED it moves on to the next one and retries,
// all within one overall deadline of `timeout` per KvStore call (per RPC for calls made of two
// RPCs: Put with a TTL). In the first round each endpoint gets an equal share of the remaining
// time, so a frozen member cannot eat the whole budget. Between rounds of failures the call waits
// briefly while polling the next endpoint's channel, which is what lets a channel that never
// connected (or lost its connection) reconnect once its member answers again: the same object
// recovers without being recreated. gRPC/etcd errors are translated here, once:
// unreachable/timeout → kUnavailable naming the endpoints, TLS failures → kUnavailable saying the
// TLS handshake/verification failed, lost CAS → kAborted, unknown lease → kNotFound.
//
// Thread-safe: calls may come from any thread concurrently.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "store/kv_store.h"

namespace grpc {
class Channel;
class ClientContext;
class Status;
}  // namespace grpc

namespace stolon::store {

struct EtcdOptions {
  // Full URLs with scheme, all http or all https ("http://127.0.0.1:2379"). See ParseEndpoints.
  std::vector<std::string> endpoints;
  std::chrono::milliseconds timeout{5000};  // bound of every request
  std::string cert_file;                    // client certificate (PEM), optional
  std::string key_file;                     // client key (PEM), required with cert_file
  std::string ca_file;                      // CA bundle (PEM); empty: the system roots
  bool skip_tls_verify = false;             // accept any server certificate (insecure)
};

class EtcdKvStore final : public KvStore {
 public:
  // Builds the channels (no connection is made yet). Fails with kInvalidArgument on a bad
  // endpoint list or unreadable TLS files.
  static absl::StatusOr<std::unique_ptr<EtcdKvStore>> Create(const EtcdOptions& options);
  ~EtcdKvStore() override;

  absl::StatusOr<std::optional<KvPair>> Get(const std::string& key) override;
  absl::StatusOr<std::vector<KvPair>> List(const std::string& prefix) override;
  absl::StatusOr<int64_t> Put(const std::string& key, const std::string& value,
                              std::optional<std::chrono::seconds> ttl = std::nullopt) override;
  absl::StatusOr<int64_t> CompareAndSwap(const std::string& key, const std::string& value,
                                         int64_t expected_mod_revision,
                                         LeaseId lease = kNoLease) override;
  absl::Status Delete(const std::string& key) override;
  // The watch runs on one endpoint's stream with etcd's "hasleader" requirement (a member cut
  // off from the quorum cancels it); when it breaks, Next fails and the caller re-creates it.
  absl::StatusOr<std::unique_ptr<KvWatch>> Watch(const std::string& prefix,
                                                 int64_t start_revision = 0) override;
  absl::StatusOr<LeaseId> GrantLease(std::chrono::seconds ttl) override;
  // One LeaseKeepAlive round trip on a short-lived stream.
  absl::StatusOr<std::chrono::seconds> KeepAliveLease(LeaseId lease = kNoLease) override;
  absl::Status RevokeLease(LeaseId lease = kNoLease) override;

  const EtcdOptions& options() const { return options_; }

 private:
  struct Endpoint;
  class EtcdWatch;

  explicit EtcdKvStore(EtcdOptions options);

  // Runs `rpc(endpoint, context)` with failover and the overall deadline; translates the final
  // error. `what` names the operation for messages ("get stolon/cluster/x/clusterdata").
  template <typename Rpc>
  absl::Status Call(const std::string& what, Rpc&& rpc);
  absl::Status Translate(const grpc::Status& s, const std::string& what) const;
  absl::Status UnavailableError(const grpc::Status& last, const std::string& what) const;
  std::string EndpointList() const;

  EtcdOptions options_;
  std::vector<std::unique_ptr<Endpoint>> endpoints_;
  std::atomic<size_t> current_{0};
};

// Whether a gRPC error message is a TLS handshake or certificate verification failure.
bool IsTlsFailureMessage(const std::string& message);

}  // namespace stolon::store
