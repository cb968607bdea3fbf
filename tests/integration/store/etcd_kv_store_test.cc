// EtcdKvStore against a real etcd started by the fixture: KV semantics, CAS, TTL, leases, watch,
// failover, unreachable endpoints and TLS failures.
#include "store/etcd_kv_store.h"

#include <chrono>
#include <fstream>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "support/etcd.h"
#include "support/process.h"

namespace stolon::store {
namespace {

using ::stolon::testing::EtcdCluster;
using ::stolon::testing::PickFreePort;
using ::stolon::testing::WaitFor;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

std::unique_ptr<EtcdKvStore> Open(std::vector<std::string> endpoints,
                                  std::chrono::milliseconds timeout = 3s) {
  EtcdOptions o;
  o.endpoints = std::move(endpoints);
  o.timeout = timeout;
  auto s = EtcdKvStore::Create(o);
  EXPECT_TRUE(s.ok()) << s.status();
  return std::move(*s);
}

class EtcdKvStoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { etcd_ = new EtcdCluster(); }
  static void TearDownTestSuite() {
    delete etcd_;
    etcd_ = nullptr;
  }
  void SetUp() override { kv_ = Open(etcd_->endpoints()); }

  static EtcdCluster* etcd_;
  std::unique_ptr<EtcdKvStore> kv_;
};
EtcdCluster* EtcdKvStoreTest::etcd_ = nullptr;

TEST_F(EtcdKvStoreTest, PutGetListDelete) {
  auto r1 = kv_->Put("t1/a/x", "1", std::nullopt);
  ASSERT_TRUE(r1.ok()) << r1.status();
  ASSERT_TRUE(kv_->Put("t1/a/y", "2", std::nullopt).ok());
  ASSERT_TRUE(kv_->Put("t1/ab", "3", std::nullopt).ok());  // not under "t1/a/"

  auto got = kv_->Get("t1/a/x");
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->value, "1");
  EXPECT_EQ((*got)->mod_revision, *r1);
  EXPECT_EQ((*got)->create_revision, *r1);

  auto list = kv_->List("t1/a/");
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].key, "t1/a/x");
  EXPECT_EQ((*list)[1].key, "t1/a/y");

  // Keys are used as given: "/t1/a/x" is another key.
  auto other = kv_->Get("/t1/a/x");
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->has_value());

  ASSERT_TRUE(kv_->Delete("t1/a/x").ok());
  ASSERT_TRUE(kv_->Delete("t1/a/x").ok());  // missing key: fine
  got = kv_->Get("t1/a/x");
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value());
}

TEST_F(EtcdKvStoreTest, CompareAndSwap) {
  auto created = kv_->CompareAndSwap("t2/k", "v1", 0);
  ASSERT_TRUE(created.ok()) << created.status();
  // Create-if-absent refuses an existing key.
  auto again = kv_->CompareAndSwap("t2/k", "other", 0);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAborted) << again.status();
  EXPECT_THAT(std::string(again.status().message()), HasSubstr("already exists"));

  auto swapped = kv_->CompareAndSwap("t2/k", "v2", *created);
  ASSERT_TRUE(swapped.ok()) << swapped.status();
  EXPECT_GT(*swapped, *created);
  // A stale revision loses.
  auto stale = kv_->CompareAndSwap("t2/k", "v3", *created);
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kAborted) << stale.status();
  auto got = kv_->Get("t2/k");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->value, "v2");
  EXPECT_EQ((*got)->mod_revision, *swapped);
  EXPECT_EQ((*got)->create_revision, *created);
}

TEST_F(EtcdKvStoreTest, TtlKeyStaysWhileRefreshedAndExpiresOtherwise) {
  const auto ttl = 2s;
  ASSERT_TRUE(kv_->Put("t3/info", "x", ttl).ok());
  // Refreshed every 500ms for 3s (longer than the TTL): it stays.
  for (int i = 0; i < 6; ++i) {
    std::this_thread::sleep_for(500ms);
    ASSERT_TRUE(kv_->Put("t3/info", "x", ttl).ok());
    auto got = kv_->Get("t3/info");
    ASSERT_TRUE(got.ok() && got->has_value()) << "refreshed key vanished at round " << i;
  }
  // Not refreshed: gone within TTL + 2s.
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(WaitFor(
      [&] {
        auto got = kv_->Get("t3/info");
        return got.ok() && !got->has_value();
      },
      ttl + 2s));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 1s);
}

TEST_F(EtcdKvStoreTest, LeaseKeepAliveAndRevoke) {
  auto lease = kv_->GrantLease(5s);
  ASSERT_TRUE(lease.ok()) << lease.status();
  ASSERT_TRUE(kv_->CompareAndSwap("t4/cand", "me", 0, *lease).ok());
  auto ttl = kv_->KeepAliveLease(*lease);
  ASSERT_TRUE(ttl.ok()) << ttl.status();
  EXPECT_EQ(*ttl, 5s);
  auto got = kv_->Get("t4/cand");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->lease, *lease);

  ASSERT_TRUE(kv_->RevokeLease(*lease).ok());
  got = kv_->Get("t4/cand");
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value());
  EXPECT_EQ(kv_->KeepAliveLease(*lease).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(kv_->RevokeLease(*lease).ok());  // unknown lease: fine
}

TEST_F(EtcdKvStoreTest, WatchSeesPutsAndDeletes) {
  auto w = kv_->Watch("t5/", 0);
  ASSERT_TRUE(w.ok()) << w.status();
  ASSERT_TRUE(kv_->Put("t5/a", "1", std::nullopt).ok());
  ASSERT_TRUE(kv_->Put("t6/other", "1", std::nullopt).ok());
  ASSERT_TRUE(kv_->Delete("t5/a").ok());
  std::vector<KvEvent> events;
  for (int i = 0; i < 20 && events.size() < 2; ++i) {
    auto evs = (*w)->Next(200ms);
    ASSERT_TRUE(evs.ok()) << evs.status();
    events.insert(events.end(), evs->begin(), evs->end());
  }
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].type, KvEvent::Type::kPut);
  EXPECT_EQ(events[0].kv.key, "t5/a");
  EXPECT_EQ(events[0].kv.value, "1");
  EXPECT_EQ(events[1].type, KvEvent::Type::kDelete);
  EXPECT_EQ(events[1].kv.key, "t5/a");
  // Nothing more: an empty batch after the timeout.
  auto none = (*w)->Next(100ms);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_F(EtcdKvStoreTest, FailsOverFromDeadEndpoint) {
  const std::string dead = "http://127.0.0.1:" + std::to_string(PickFreePort());
  auto kv = Open({dead, etcd_->endpoint(0)}, 3s);
  ASSERT_TRUE(kv->Put("t7/k", "v", std::nullopt).ok());
  auto got = kv->Get("t7/k");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ((*got)->value, "v");
}

TEST(EtcdKvStoreErrorsTest, UnreachableEndpointIsUnavailableWithinTimeout) {
  const std::string dead = "http://127.0.0.1:" + std::to_string(PickFreePort());
  auto kv = Open({dead}, 1s);
  const auto start = std::chrono::steady_clock::now();
  auto got = kv->Get("stolon/cluster/x/clusterdata");
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(got.status().code(), absl::StatusCode::kUnavailable) << got.status();
  EXPECT_THAT(std::string(got.status().message()), HasSubstr(dead));
  EXPECT_THAT(std::string(got.status().message()),
              HasSubstr("check --store-endpoints / that etcd is running"));
  EXPECT_LT(took, 2s);
  EXPECT_EQ(kv->Put("k", "v", std::nullopt).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(kv->CompareAndSwap("k", "v", 0).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(kv->GrantLease(5s).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(kv->Watch("k", 0).status().code(), absl::StatusCode::kUnavailable);
}

TEST(EtcdKvStoreErrorsTest, BadOptions) {
  EtcdOptions o;
  EXPECT_EQ(EtcdKvStore::Create(o).status().code(), absl::StatusCode::kInvalidArgument);
  o.endpoints = {"http://127.0.0.1:1", "https://127.0.0.1:2"};
  EXPECT_EQ(EtcdKvStore::Create(o).status().code(), absl::StatusCode::kInvalidArgument);
  o.endpoints = {"https://127.0.0.1:2"};
  o.ca_file = "/nonexistent/ca.pem";
  auto s = EtcdKvStore::Create(o);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("--store-ca-file"));
}

// ---------------------------------------------------------------------------------------------
// TLS: certificates made with openssl for this test.

class Pki {
 public:
  explicit Pki(const std::string& dir) : dir_(dir) {
    MakeCa("ca");
    MakeCa("otherca");
    MakeCert("server", "ca", "subjectAltName=IP:127.0.0.1,DNS:localhost");
    MakeCert("client", "ca", "extendedKeyUsage=clientAuth");
  }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

 private:
  void Run(const std::vector<std::string>& argv) {
    std::string out;
    int rc = ::stolon::testing::RunCommand(argv, &out, 30s);
    if (rc != 0) throw std::runtime_error("openssl failed: " + out);
  }
  void MakeCa(const std::string& n) {
    Run({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
         "/CN=" + n, "-keyout", Path(n + ".key"), "-out", Path(n + ".pem")});
  }
  void MakeCert(const std::string& n, const std::string& ca, const std::string& ext) {
    Run({"/usr/bin/openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + n, "-keyout",
         Path(n + ".key"), "-out", Path(n + ".csr")});
    std::ofstream(Path(n + ".ext")) << ext << "\n";
    Run({"/usr/bin/openssl", "x509", "-req", "-in", Path(n + ".csr"), "-CA", Path(ca + ".pem"),
         "-CAkey", Path(ca + ".key"), "-CAcreateserial", "-days", "2", "-extfile", Path(n + ".ext"),
         "-out", Path(n + ".pem")});
  }
  std::string dir_;
};

class EtcdTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new ::stolon::testing::TempDir("stolon-pki");
    pki_ = new Pki(dir_->path());
    ::stolon::testing::EtcdClusterOptions o;
    o.server_cert_file = pki_->Path("server.pem");
    o.server_key_file = pki_->Path("server.key");
    o.client_ca_file = pki_->Path("ca.pem");
    o.etcdctl_cert_file = pki_->Path("client.pem");
    o.etcdctl_key_file = pki_->Path("client.key");
    etcd_ = new EtcdCluster(o);
  }
  static void TearDownTestSuite() {
    delete etcd_;
    delete pki_;
    delete dir_;
  }
  EtcdOptions Options() const {
    EtcdOptions o;
    o.endpoints = etcd_->endpoints();
    o.timeout = 2s;
    o.cert_file = pki_->Path("client.pem");
    o.key_file = pki_->Path("client.key");
    return o;
  }
  static ::stolon::testing::TempDir* dir_;
  static Pki* pki_;
  static EtcdCluster* etcd_;
};
::stolon::testing::TempDir* EtcdTlsTest::dir_ = nullptr;
Pki* EtcdTlsTest::pki_ = nullptr;
EtcdCluster* EtcdTlsTest::etcd_ = nullptr;

TEST_F(EtcdTlsTest, RightCaWorks) {
  EtcdOptions o = Options();
  o.ca_file = pki_->Path("ca.pem");
  auto kv = EtcdKvStore::Create(o);
  ASSERT_TRUE(kv.ok()) << kv.status();
  ASSERT_TRUE((*kv)->Put("tls/k", "v", std::nullopt).ok());
  auto got = (*kv)->Get("tls/k");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ((*got)->value, "v");
}

TEST_F(EtcdTlsTest, WrongCaIsATlsError) {
  EtcdOptions o = Options();
  o.ca_file = pki_->Path("otherca.pem");
  auto kv = EtcdKvStore::Create(o);
  ASSERT_TRUE(kv.ok()) << kv.status();
  auto got = (*kv)->Get("tls/k");
  EXPECT_EQ(got.status().code(), absl::StatusCode::kUnavailable) << got.status();
  EXPECT_THAT(std::string(got.status().message()), HasSubstr("TLS handshake/verification"));
}

TEST_F(EtcdTlsTest, SkipVerifyAcceptsAnyServerCertificate) {
  EtcdOptions o = Options();
  o.ca_file = pki_->Path("otherca.pem");
  o.skip_tls_verify = true;
  auto kv = EtcdKvStore::Create(o);
  ASSERT_TRUE(kv.ok()) << kv.status();
  auto put = (*kv)->Put("tls/skip", "v", std::nullopt);
  EXPECT_TRUE(put.ok()) << put.status();
}

TEST_F(EtcdTlsTest, MissingClientCertificateIsRefused) {
  EtcdOptions o = Options();
  o.ca_file = pki_->Path("ca.pem");
  o.cert_file.clear();
  o.key_file.clear();
  auto kv = EtcdKvStore::Create(o);
  ASSERT_TRUE(kv.ok()) << kv.status();
  auto got = (*kv)->Get("tls/k");
  EXPECT_EQ(got.status().code(), absl::StatusCode::kUnavailable) << got.status();
}

}  // namespace
}  // namespace stolon::store
