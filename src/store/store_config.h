// StoreConfig: the store settings every component gets from the common flags (--store-backend,
// --store-endpoints, --store-timeout, --store-prefix, TLS files, --cluster-name), validated once,
// and the factory that opens the KvStore they describe.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/duration.h"
#include "common/flags.h"
#include "store/kv_store.h"

namespace stolon::store {

inline constexpr const char* kDefaultStorePrefix = "stolon/cluster";
inline constexpr const char* kDefaultEtcdEndpoint = "http://127.0.0.1:2379";

struct StoreConfig {
  std::string backend = "etcdv3";                               // only etcdv3 is supported
  std::vector<std::string> endpoints = {kDefaultEtcdEndpoint};  // full URLs, one scheme
  Duration timeout = std::chrono::seconds(5);
  std::string prefix = kDefaultStorePrefix;
  std::string cluster_name;
  std::string cert_file;
  std::string key_file;
  std::string ca_file;
  bool skip_tls_verify = false;

  // Whether the endpoints use https.
  bool tls() const;
  // The cluster's key base: path.Join(prefix, cluster_name), e.g. "stolon/cluster/mycluster".
  // As with stolon's etcdv3 backend, a leading "/" is kept: "/stolon/..." is another namespace.
  std::string BasePath() const;
};

// Parses --store-endpoints: a comma-separated list; empty means http://127.0.0.1:2379; an entry
// without a scheme is http; every entry must use the same scheme, http or https. Returns full
// URLs ("http://host:port"). Errors are InvalidArgument naming the bad entry.
absl::StatusOr<std::vector<std::string>> ParseStoreEndpoints(std::string_view endpoints);

// Checks the backend name: etcdv3 is OK; etcd/etcdv2/consul/kubernetes are Unimplemented
// ("... not supported yet by stolon-cpp: use etcdv3"); anything else is
// InvalidArgument `Unknown store backend: "<x>"`; empty is "store backend type required".
absl::Status CheckStoreBackend(std::string_view backend);

// Builds the StoreConfig from the parsed common flags, validating backend, endpoints, timeout.
absl::StatusOr<StoreConfig> StoreConfigFromFlags(const CommonConfig& flags);

// Opens the KvStore for `config` (an EtcdKvStore; no connection is made yet).
absl::StatusOr<std::unique_ptr<KvStore>> NewKvStore(const StoreConfig& config);

// Go's path.Join of two parts (cleaned: no duplicate or trailing slashes, "." and ".." resolved).
std::string JoinPath(std::string_view a, std::string_view b);

}  // namespace stolon::store
