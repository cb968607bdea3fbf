#include "store/etcd_kv_store.h"

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "common/duration.h"
#include "common/status.h"
#include "fmt/format.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_certificate_verifier.h"
#include "grpcpp/security/tls_credentials_options.h"
#include "spdlog/spdlog.h"
#include "store/proto/rpc.grpc.pb.h"

namespace stolon::store {

namespace pb = etcdserverpb;
using Clock = std::chrono::steady_clock;

// Pause between rounds of failed attempts within one call.
constexpr auto kRetryPause = std::chrono::milliseconds(100);

struct EtcdKvStore::Endpoint {
  std::string url;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<pb::KV::Stub> kv;
  std::unique_ptr<pb::Lease::Stub> lease;
  std::unique_ptr<pb::Watch::Stub> watch;
};

bool IsTlsFailureMessage(const std::string& message) {
  std::string m = message;
  std::transform(m.begin(), m.end(), m.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const char* needle : {"ssl", "certificate", "tls", "x509", "handshake failed"}) {
    if (m.find(needle) != std::string::npos) return true;
  }
  return false;
}

namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path, const char* flag) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        fmt::format("cannot read {} \"{}\": no such file or not readable", flag, path));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// "http://host:port[/...]" → "host:port".
std::string TargetOf(const std::string& url) {
  std::string t = url;
  if (auto p = t.find("://"); p != std::string::npos) t = t.substr(p + 3);
  if (auto p = t.find('/'); p != std::string::npos) t = t.substr(0, p);
  return t;
}

bool IsHttps(const std::string& url) { return url.rfind("https://", 0) == 0; }

absl::StatusCode FromGrpcCode(grpc::StatusCode c) {
  // gRPC and absl share the canonical code numbering.
  return static_cast<absl::StatusCode>(static_cast<int>(c));
}

bool Retryable(const grpc::Status& s) {
  if (s.error_code() == grpc::StatusCode::UNAVAILABLE ||
      s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return true;
  }
  // A member that lost quorum answers with its own server-side timeout as code UNKNOWN
  // ("context deadline exceeded", "etcdserver: request timed out", "...leader changed"): the
  // request may succeed on another member or later, so it means "unavailable", not a bad request.
  if (s.error_code() == grpc::StatusCode::UNKNOWN) {
    const std::string& m = s.error_message();
    return m.find("context deadline exceeded") != std::string::npos ||
           m.find("request timed out") != std::string::npos ||
           m.find("leader changed") != std::string::npos ||
           m.find("no leader") != std::string::npos;
  }
  return false;
}

std::chrono::system_clock::time_point SystemDeadline(Clock::time_point until) {
  return std::chrono::system_clock::now() +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(until - Clock::now());
}

// The pause between retry rounds. It must poll the channel rather than sleep: with gRPC's sync
// API the socket events of a connection attempt (TCP connect done, then the server's HTTP/2
// SETTINGS) are only handled while some thread polls: a blocking call while it waits, or gRPC's
// backup poller, every 5s only. Once a connection attempt failed (e.g. into a frozen etcd), the
// channel stays in TRANSIENT_FAILURE until one succeeds, and fail-fast calls then fail at once
// without polling; so no later attempt was ever seen completing before its connect deadline
// ("tcp handshaker shutdown") and the channel never recovered, even with etcd back. Waits until
// `until`, returning early when a channel that was not connected becomes READY or a connected
// one changes state.
void PollingPause(grpc::Channel& channel, Clock::time_point until) {
  if (Clock::now() >= until) return;
  const auto deadline = SystemDeadline(until);
  const grpc_connectivity_state state = channel.GetState(/*try_to_connect=*/true);
  if (state == GRPC_CHANNEL_READY) {
    // The failure came from etcd itself (no leader, ...) or a stalled member.
    channel.WaitForStateChange(state, deadline);
  } else {
    channel.WaitForConnected(deadline);
  }
}

KvPair FromPb(const mvccpb::KeyValue& kv) {
  return KvPair{kv.key(), kv.value(), kv.mod_revision(), kv.create_revision(), kv.lease()};
}

std::string RangeKey(const std::string& prefix) {
  // An empty prefix means the whole keyspace: etcd spells that key "\0", range end "\0".
  return prefix.empty() ? std::string(1, '\0') : prefix;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Construction.

EtcdKvStore::EtcdKvStore(EtcdOptions options) : options_(std::move(options)) {}
EtcdKvStore::~EtcdKvStore() = default;

namespace {

// The channel credentials: insecure for http:// endpoints; for https://, TLS with the CA and
// client certificate files given, or without server verification (--store-skip-tls-verify).
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeCredentials(
    const EtcdOptions& options, bool tls) {
  if (!tls) return grpc::InsecureChannelCredentials();
  std::shared_ptr<grpc::ChannelCredentials> creds;
  std::string ca, cert, key;
  if (!options.ca_file.empty()) {
    ASSIGN_OR_RETURN(ca, ReadFile(options.ca_file, "--store-ca-file"));
  }
  if (!options.cert_file.empty()) {
    ASSIGN_OR_RETURN(cert, ReadFile(options.cert_file, "--store-cert-file"));
    ASSIGN_OR_RETURN(key, ReadFile(options.key_file, "--store-key"));
  }
  if (options.skip_tls_verify) {
    // gRPC's stable SSL credentials always verify; the experimental TLS credentials accept a
    // verifier, and the no-op one accepts any server certificate and name.
    grpc::experimental::TlsChannelCredentialsOptions o;
    o.set_verify_server_certs(false);
    o.set_check_call_host(false);
    o.set_certificate_verifier(std::make_shared<grpc::experimental::NoOpCertificateVerifier>());
    if (!cert.empty()) {
      std::vector<grpc::experimental::IdentityKeyCertPair> pairs = {{key, cert}};
      o.set_certificate_provider(
          std::make_shared<grpc::experimental::StaticDataCertificateProvider>(pairs));
      o.watch_identity_key_cert_pairs();
    }
    creds = grpc::experimental::TlsCredentials(o);
  } else {
    grpc::SslCredentialsOptions o;
    o.pem_root_certs = ca;
    o.pem_private_key = key;
    o.pem_cert_chain = cert;
    creds = grpc::SslCredentials(o);
  }
  if (!creds) return absl::InvalidArgumentError("cannot build TLS credentials for etcd");
  return creds;
}

// The channel arguments of one endpoint's connection.
grpc::ChannelArguments MakeChannelArguments(int timeout_ms) {
  grpc::ChannelArguments args;
  // Reconnect quickly after an etcd member comes back (gRPC's default backoff grows to 120s).
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  // Despite its name this is gRPC's minimum connect timeout (20s by default): how long one
  // attempt (TCP, TLS, HTTP/2 SETTINGS) may take. Longer than the store timeout helps no call;
  // much shorter fails slow but live handshakes (TLS on a loaded host), and an attempt parked
  // in a frozen member's accept queue completes as soon as the member is thawed.
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, timeout_ms);
  // Detect dead connections under long-lived watch streams. etcd refuses pings more frequent
  // than every 5s (--grpc-keepalive-min-time), so stay above that.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, timeout_ms);
  // Our own connections: a frozen member seen by another store object must not affect us.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return args;
}

}  // namespace

absl::StatusOr<std::unique_ptr<EtcdKvStore>> EtcdKvStore::Create(const EtcdOptions& options) {
  if (options.endpoints.empty()) {
    return absl::InvalidArgumentError("no etcd endpoints: pass --store-endpoints");
  }
  if (options.timeout <= std::chrono::milliseconds(0)) {
    return absl::InvalidArgumentError("--store-timeout must be positive");
  }
  const bool tls = IsHttps(options.endpoints.front());
  for (const auto& e : options.endpoints) {
    if (IsHttps(e) != tls) {
      return absl::InvalidArgumentError(fmt::format(
          "etcd endpoints mix http and https ({}): use the same scheme for all --store-endpoints",
          e));
    }
  }
  if (options.cert_file.empty() != options.key_file.empty()) {
    return absl::InvalidArgumentError("--store-cert-file and --store-key must be given together");
  }

  ASSIGN_OR_RETURN(std::shared_ptr<grpc::ChannelCredentials> creds, MakeCredentials(options, tls));

  const int timeout_ms = static_cast<int>(options.timeout.count());
  std::unique_ptr<EtcdKvStore> store(new EtcdKvStore(options));
  for (const auto& url : options.endpoints) {
    grpc::ChannelArguments args = MakeChannelArguments(timeout_ms);
    auto ep = std::make_unique<Endpoint>();
    ep->url = url;
    ep->channel = grpc::CreateCustomChannel(TargetOf(url), creds, args);
    ep->kv = pb::KV::NewStub(ep->channel);
    ep->lease = pb::Lease::NewStub(ep->channel);
    ep->watch = pb::Watch::NewStub(ep->channel);
    store->endpoints_.push_back(std::move(ep));
  }
  return store;
}

// ---------------------------------------------------------------------------------------------
// The request loop with failover and error translation.

std::string EtcdKvStore::EndpointList() const {
  return fmt::format("{}", fmt::join(options_.endpoints, ","));
}

absl::Status EtcdKvStore::UnavailableError(const grpc::Status& last,
                                           const std::string& what) const {
  if (IsHttps(options_.endpoints.front()) && IsTlsFailureMessage(last.error_message())) {
    return absl::UnavailableError(fmt::format(
        "{}: TLS handshake/verification with etcd at {} failed ({}): check --store-ca-file, "
        "--store-cert-file/--store-key and that the endpoints use the right host names",
        what, EndpointList(), last.error_message()));
  }
  return absl::UnavailableError(fmt::format(
      "{}: etcd at {} unreachable or not answering within {} ({}): check --store-endpoints / "
      "that etcd is running",
      what, EndpointList(), FormatGoDuration(options_.timeout), last.error_message()));
}

absl::Status EtcdKvStore::Translate(const grpc::Status& s, const std::string& what) const {
  if (s.ok()) return absl::OkStatus();
  if (Retryable(s)) return UnavailableError(s, what);
  return absl::Status(FromGrpcCode(s.error_code()),
                      fmt::format("{}: etcd error: {}", what, s.error_message()));
}

template <typename Rpc>
absl::Status EtcdKvStore::Call(const std::string& what, Rpc&& rpc) {
  const auto deadline = Clock::now() + options_.timeout;
  const size_t n = endpoints_.size();
  grpc::Status last(grpc::StatusCode::DEADLINE_EXCEEDED, "no attempt made");
  bool tls_failure_seen = false;
  for (size_t attempt = 0;; ++attempt) {
    const auto now = Clock::now();
    if (now >= deadline) break;
    const auto remaining = deadline - now;
    const auto budget = attempt < n ? remaining / static_cast<int>(n - attempt) : remaining;
    size_t idx = current_.load();
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::duration_cast<std::chrono::system_clock::duration>(budget));
    grpc::Status s = rpc(*endpoints_[idx], ctx);
    if (s.ok()) return absl::OkStatus();
    if (!Retryable(s)) return Translate(s, what);
    // Keep a TLS failure as the error to report: later attempts during gRPC's reconnect backoff
    // only say "failed to connect", which would hide the cause.
    if (!tls_failure_seen || IsTlsFailureMessage(s.error_message())) last = s;
    tls_failure_seen = tls_failure_seen || IsTlsFailureMessage(s.error_message());
    SPDLOG_DEBUG("etcd {} at {} failed: {}", what, endpoints_[idx]->url, s.error_message());
    if (n > 1) {
      size_t next = (idx + 1) % n;
      if (current_.compare_exchange_strong(idx, next)) {
        spdlog::debug("etcd: switching to endpoint {} after: {}", endpoints_[next]->url,
                      s.error_message());
      }
    }
    // After a full round of fast failures, pause briefly instead of spinning until the deadline,
    // polling the endpoint tried next so that its reconnection makes progress (PollingPause).
    if ((attempt + 1) % n == 0) {
      if (Clock::now() >= deadline) break;
      PollingPause(*endpoints_[current_.load()]->channel,
                   std::min(deadline, Clock::now() + kRetryPause));
    }
  }
  return UnavailableError(last, what);
}

// ---------------------------------------------------------------------------------------------
// KV.

absl::StatusOr<std::optional<KvPair>> EtcdKvStore::Get(const std::string& key) {
  pb::RangeRequest req;
  req.set_key(key);
  pb::RangeResponse resp;
  RETURN_IF_ERROR(Call("get " + key, [&](Endpoint& ep, grpc::ClientContext& ctx) {
    return ep.kv->Range(&ctx, req, &resp);
  }));
  if (resp.kvs_size() == 0) return std::optional<KvPair>();
  return std::optional<KvPair>(FromPb(resp.kvs(0)));
}

absl::StatusOr<std::vector<KvPair>> EtcdKvStore::List(const std::string& prefix) {
  pb::RangeRequest req;
  req.set_key(RangeKey(prefix));
  req.set_range_end(PrefixRangeEnd(prefix));
  req.set_sort_order(pb::RangeRequest::ASCEND);
  req.set_sort_target(pb::RangeRequest::KEY);
  pb::RangeResponse resp;
  RETURN_IF_ERROR(Call("list " + prefix, [&](Endpoint& ep, grpc::ClientContext& ctx) {
    return ep.kv->Range(&ctx, req, &resp);
  }));
  std::vector<KvPair> out;
  out.reserve(static_cast<size_t>(resp.kvs_size()));
  for (const auto& kv : resp.kvs()) out.push_back(FromPb(kv));
  return out;
}

absl::StatusOr<int64_t> EtcdKvStore::Put(const std::string& key, const std::string& value,
                                         std::optional<std::chrono::seconds> ttl) {
  pb::PutRequest req;
  req.set_key(key);
  req.set_value(value);
  if (ttl) {
    ASSIGN_OR_RETURN(LeaseId lease, GrantLease(*ttl));
    req.set_lease(lease);
  }
  pb::PutResponse resp;
  RETURN_IF_ERROR(Call("put " + key, [&](Endpoint& ep, grpc::ClientContext& ctx) {
    return ep.kv->Put(&ctx, req, &resp);
  }));
  return resp.header().revision();
}

absl::StatusOr<int64_t> EtcdKvStore::CompareAndSwap(const std::string& key,
                                                    const std::string& value,
                                                    int64_t expected_mod_revision, LeaseId lease) {
  pb::TxnRequest req;
  pb::Compare* cmp = req.add_compare();
  cmp->set_key(key);
  cmp->set_result(pb::Compare::EQUAL);
  if (expected_mod_revision == 0) {
    cmp->set_target(pb::Compare::CREATE);
    cmp->set_create_revision(0);
  } else {
    cmp->set_target(pb::Compare::MOD);
    cmp->set_mod_revision(expected_mod_revision);
  }
  pb::PutRequest* put = req.add_success()->mutable_request_put();
  put->set_key(key);
  put->set_value(value);
  put->set_lease(lease);
  // On failure read the key's revisions (no value) to say what we found.
  pb::RangeRequest* get = req.add_failure()->mutable_request_range();
  get->set_key(key);
  get->set_keys_only(true);
  pb::TxnResponse resp;
  RETURN_IF_ERROR(Call("compare-and-swap " + key, [&](Endpoint& ep, grpc::ClientContext& ctx) {
    return ep.kv->Txn(&ctx, req, &resp);
  }));
  if (resp.succeeded()) return resp.header().revision();
  int64_t current = 0;
  if (resp.responses_size() > 0 && resp.responses(0).response_range().kvs_size() > 0) {
    current = resp.responses(0).response_range().kvs(0).mod_revision();
  }
  if (expected_mod_revision == 0) {
    return absl::AbortedError(fmt::format("key {} already exists", key));
  }
  return absl::AbortedError(
      fmt::format("key {} was modified (expected mod revision {}, current {})", key,
                  expected_mod_revision, current == 0 ? "deleted" : std::to_string(current)));
}

absl::Status EtcdKvStore::Delete(const std::string& key) {
  pb::DeleteRangeRequest req;
  req.set_key(key);
  pb::DeleteRangeResponse resp;
  return Call("delete " + key, [&](Endpoint& ep, grpc::ClientContext& ctx) {
    return ep.kv->DeleteRange(&ctx, req, &resp);
  });
}

// ---------------------------------------------------------------------------------------------
// Leases.

absl::StatusOr<LeaseId> EtcdKvStore::GrantLease(std::chrono::seconds ttl) {
  pb::LeaseGrantRequest req;
  req.set_ttl(std::max<int64_t>(ttl.count(), 1));
  pb::LeaseGrantResponse resp;
  RETURN_IF_ERROR(Call(fmt::format("grant lease of {}s", ttl.count()),
                       [&](Endpoint& ep, grpc::ClientContext& ctx) {
                         return ep.lease->LeaseGrant(&ctx, req, &resp);
                       }));
  if (!resp.error().empty()) {
    return absl::InternalError(fmt::format("etcd lease grant failed: {}", resp.error()));
  }
  return resp.id();
}

absl::StatusOr<std::chrono::seconds> EtcdKvStore::KeepAliveLease(LeaseId lease) {
  pb::LeaseKeepAliveResponse resp;
  RETURN_IF_ERROR(Call(
      fmt::format("keep lease {:x} alive", lease), [&](Endpoint& ep, grpc::ClientContext& ctx) {
        // etcd has no unary keepalive: one request and one response on a short-lived stream.
        auto stream = ep.lease->LeaseKeepAlive(&ctx);
        pb::LeaseKeepAliveRequest req;
        req.set_id(lease);
        bool got = stream->Write(req) && stream->Read(&resp);
        stream->WritesDone();
        if (got) {
          ctx.TryCancel();  // we have what we need; do not wait for the server to close
          stream->Finish().IgnoreError();
          return grpc::Status::OK;
        }
        grpc::Status s = stream->Finish();
        return s.ok() ? grpc::Status(grpc::StatusCode::UNAVAILABLE, "keepalive stream closed") : s;
      }));
  if (resp.ttl() <= 0) {
    return absl::NotFoundError(fmt::format("lease {:x} not found (expired or revoked)", lease));
  }
  return std::chrono::seconds(resp.ttl());
}

absl::Status EtcdKvStore::RevokeLease(LeaseId lease) {
  pb::LeaseRevokeRequest req;
  req.set_id(lease);
  pb::LeaseRevokeResponse resp;
  absl::Status s =
      Call(fmt::format("revoke lease {:x}", lease), [&](Endpoint& ep, grpc::ClientContext& ctx) {
        return ep.lease->LeaseRevoke(&ctx, req, &resp);
      });
  if (absl::IsNotFound(s)) return absl::OkStatus();  // already gone
  return s;
}

// ---------------------------------------------------------------------------------------------
// Watch: a bidi stream with a reader thread that queues events for Next().

class EtcdKvStore::EtcdWatch final : public KvWatch {
 public:
  EtcdWatch(Endpoint& ep, const std::string& prefix, int64_t start_revision) {
    // Let the member cancel the watch when it loses the leader (clientv3's WithRequireLeader).
    ctx_.AddMetadata("hasleader", "true");
    stream_ = ep.watch->Watch(&ctx_);
    pb::WatchRequest req;
    auto* create = req.mutable_create_request();
    create->set_key(RangeKey(prefix));
    create->set_range_end(PrefixRangeEnd(prefix));
    create->set_start_revision(start_revision);
    if (!stream_->Write(req)) {
      std::lock_guard l(mu_);
      error_ = absl::UnavailableError("watch stream closed before the create request was sent");
    }
    reader_ = std::thread([this] { ReadLoop(); });
  }

  ~EtcdWatch() override {
    ctx_.TryCancel();
    reader_.join();
  }

  // Waits until etcd confirmed the watch or it failed; returns the failure (raw, untranslated).
  absl::Status WaitCreated(Clock::duration timeout) {
    std::unique_lock l(mu_);
    if (!cv_.wait_for(l, timeout, [&] { return created_ || !error_.ok(); })) {
      return absl::DeadlineExceededError("no answer to the watch create request");
    }
    return error_;
  }

  absl::StatusOr<std::vector<KvEvent>> Next(std::chrono::milliseconds timeout) override {
    std::unique_lock l(mu_);
    cv_.wait_for(l, timeout, [&] { return !events_.empty() || !error_.ok(); });
    if (!events_.empty()) {
      std::vector<KvEvent> out;
      out.swap(events_);
      return out;
    }
    if (!error_.ok()) return error_;
    return std::vector<KvEvent>{};
  }

 private:
  void ReadLoop() {
    pb::WatchResponse resp;
    while (stream_->Read(&resp)) {
      std::lock_guard l(mu_);
      if (resp.created()) created_ = true;
      if (resp.canceled()) {
        error_ = resp.compact_revision() > 0
                     ? absl::OutOfRangeError(
                           fmt::format("watch canceled: revision compacted (oldest available {})",
                                       resp.compact_revision()))
                     : absl::UnavailableError(
                           fmt::format("watch canceled by etcd: {}", resp.cancel_reason()));
        cv_.notify_all();
        break;
      }
      for (const auto& ev : resp.events()) {
        KvEvent e;
        e.type = ev.type() == mvccpb::Event::DELETE ? KvEvent::Type::kDelete : KvEvent::Type::kPut;
        e.kv = FromPb(ev.kv());
        events_.push_back(std::move(e));
      }
      cv_.notify_all();
    }
    ctx_.TryCancel();
    grpc::Status s = stream_->Finish();
    std::lock_guard l(mu_);
    if (error_.ok()) {
      error_ = absl::UnavailableError(fmt::format(
          "watch stream ended: {}", s.ok() ? std::string("closed by etcd") : s.error_message()));
    }
    cv_.notify_all();
  }

  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReaderWriter<pb::WatchRequest, pb::WatchResponse>> stream_;
  std::thread reader_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool created_ = false;
  absl::Status error_;
  std::vector<KvEvent> events_;
};

absl::StatusOr<std::unique_ptr<KvWatch>> EtcdKvStore::Watch(const std::string& prefix,
                                                            int64_t start_revision) {
  const std::string what = "watch " + prefix;
  const auto deadline = Clock::now() + options_.timeout;
  const size_t n = endpoints_.size();
  absl::Status last = absl::DeadlineExceededError("no attempt made");
  for (size_t attempt = 0; Clock::now() < deadline; ++attempt) {
    const auto remaining = deadline - Clock::now();
    const auto budget = attempt < n ? remaining / static_cast<int>(n - attempt) : remaining;
    size_t idx = current_.load();
    auto w = std::make_unique<EtcdWatch>(*endpoints_[idx], prefix, start_revision);
    absl::Status s = w->WaitCreated(budget);
    if (s.ok()) return std::unique_ptr<KvWatch>(std::move(w));
    if (!absl::IsUnavailable(s) && !absl::IsDeadlineExceeded(s)) {
      return Annotate(s, what);
    }
    last = s;
    if (n > 1) current_.compare_exchange_strong(idx, (idx + 1) % n);
    if ((attempt + 1) % n == 0) {
      PollingPause(*endpoints_[current_.load()]->channel,
                   std::min(deadline, Clock::now() + kRetryPause));
    }
  }
  return UnavailableError(grpc::Status(grpc::StatusCode::UNAVAILABLE, std::string(last.message())),
                          what);
}

}  // namespace stolon::store
