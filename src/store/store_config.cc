#include "store/store_config.h"

#include "absl/strings/str_split.h"
#include "common/status.h"
#include "fmt/format.h"
#include "store/etcd_kv_store.h"

namespace stolon::store {

namespace {
std::string Trim(std::string_view s) {
  const char* ws = " \t\r\n";
  auto b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return "";
  auto e = s.find_last_not_of(ws);
  return std::string(s.substr(b, e - b + 1));
}

std::string CleanPath(std::string_view p) {
  const bool rooted = !p.empty() && p.front() == '/';
  std::vector<std::string> parts;
  for (auto seg : absl::StrSplit(absl::string_view(p.data(), p.size()), '/')) {
    if (seg.empty() || seg == ".") continue;
    if (seg == "..") {
      if (!parts.empty() && parts.back() != "..") {
        parts.pop_back();
      } else if (!rooted) {
        parts.push_back("..");
      }
      continue;
    }
    parts.emplace_back(seg);
  }
  std::string out = rooted ? "/" : "";
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += '/';
    out += parts[i];
  }
  if (out.empty()) return ".";
  return out;
}
}  // namespace

std::string JoinPath(std::string_view a, std::string_view b) {
  if (a.empty()) return CleanPath(b);
  if (b.empty()) return CleanPath(a);
  return CleanPath(std::string(a) + "/" + std::string(b));
}

bool StoreConfig::tls() const {
  return !endpoints.empty() && endpoints.front().rfind("https://", 0) == 0;
}

std::string StoreConfig::BasePath() const { return JoinPath(prefix, cluster_name); }

absl::StatusOr<std::vector<std::string>> ParseStoreEndpoints(std::string_view endpoints) {
  if (Trim(endpoints).empty()) return std::vector<std::string>{kDefaultEtcdEndpoint};
  std::vector<std::string> out;
  std::string scheme;
  for (auto raw : absl::StrSplit(absl::string_view(endpoints.data(), endpoints.size()), ',')) {
    std::string e = Trim(std::string_view(raw.data(), raw.size()));
    if (e.empty()) {
      return absl::InvalidArgumentError(fmt::format(
          "invalid --store-endpoints \"{}\": empty entry (use a comma-separated list like "
          "http://127.0.0.1:2379,http://127.0.0.2:2379)",
          endpoints));
    }
    std::string s = "http";
    std::string rest = e;
    if (auto p = e.find("://"); p != std::string::npos) {
      s = e.substr(0, p);
      rest = e.substr(p + 3);
    }
    if (s != "http" && s != "https") {
      return absl::InvalidArgumentError(
          fmt::format("invalid store endpoint \"{}\": scheme must be http or https", e));
    }
    while (!rest.empty() && rest.back() == '/') rest.pop_back();
    if (rest.empty() || rest.find('/') != std::string::npos) {
      return absl::InvalidArgumentError(
          fmt::format("invalid store endpoint \"{}\": expected [http[s]://]host:port", e));
    }
    if (!scheme.empty() && s != scheme) {
      return absl::InvalidArgumentError(fmt::format(
          "invalid --store-endpoints \"{}\": all the endpoints must use the same scheme "
          "(http or https)",
          endpoints));
    }
    scheme = s;
    out.push_back(s + "://" + rest);
  }
  return out;
}

absl::Status CheckStoreBackend(std::string_view backend) {
  if (backend.empty()) {
    return absl::InvalidArgumentError("store backend type required: pass --store-backend=etcdv3");
  }
  if (backend == "etcdv3") return absl::OkStatus();
  if (backend == "etcd" || backend == "etcdv2" || backend == "consul" || backend == "kubernetes") {
    return absl::UnimplementedError(fmt::format(
        "store backend \"{}\" is not supported yet by stolon-cpp: use --store-backend=etcdv3",
        backend));
  }
  return absl::InvalidArgumentError(
      fmt::format("Unknown store backend: \"{}\" (use etcdv3)", backend));
}

absl::StatusOr<StoreConfig> StoreConfigFromFlags(const CommonConfig& flags) {
  RETURN_IF_ERROR(CheckStoreBackend(flags.store_backend));
  StoreConfig c;
  c.backend = flags.store_backend;
  ASSIGN_OR_RETURN(c.endpoints, ParseStoreEndpoints(flags.store_endpoints));
  if (flags.store_timeout <= Duration(0)) {
    return absl::InvalidArgumentError("--store-timeout must be positive");
  }
  c.timeout = flags.store_timeout;
  c.prefix = flags.store_prefix;
  c.cluster_name = flags.cluster_name;
  c.cert_file = flags.store_cert_file;
  c.key_file = flags.store_key;
  c.ca_file = flags.store_ca_file;
  c.skip_tls_verify = flags.store_skip_tls_verify;
  return c;
}

absl::StatusOr<std::unique_ptr<KvStore>> NewKvStore(const StoreConfig& config) {
  RETURN_IF_ERROR(CheckStoreBackend(config.backend));
  EtcdOptions o;
  o.endpoints = config.endpoints;
  o.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(config.timeout);
  o.cert_file = config.cert_file;
  o.key_file = config.key_file;
  o.ca_file = config.ca_file;
  o.skip_tls_verify = config.skip_tls_verify;
  ASSIGN_OR_RETURN(auto store, EtcdKvStore::Create(o));
  return std::unique_ptr<KvStore>(std::move(store));
}

}  // namespace stolon::store
