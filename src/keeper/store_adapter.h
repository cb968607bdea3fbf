// KeeperStore over the domain store::Store (stolon's key layout and TTL floor), reopening the
// store client after repeated unavailability.
#pragma once

#include <functional>
#include <memory>
#include <mutex>

#include "absl/base/thread_annotations.h"
#include "keeper/state_machine.h"
#include "store/kv_store.h"
#include "store/store.h"

namespace stolon::keeper {

class DomainKeeperStore final : public KeeperStore {
 public:
  using KvFactory = std::function<absl::StatusOr<std::unique_ptr<store::KvStore>>()>;

  // `factory` opens a new KvStore; `base` is the cluster's key base. The first client is opened
  // here. After `reopen_after` consecutive kUnavailable results the client is replaced by a new
  // one: an etcd gRPC channel was seen never reconnecting after its only endpoint restarted
  // (store package, single endpoint), while a fresh channel connects at once.
  static absl::StatusOr<std::unique_ptr<DomainKeeperStore>> Open(KvFactory factory,
                                                                  std::string base,
                                                                  int reopen_after = 3);

  absl::StatusOr<std::optional<cluster::ClusterData>> GetClusterData() override;
  absl::Status SetKeeperInfo(const std::string& uid, const cluster::KeeperInfo& ki,
                             Duration ttl) override;

 private:
  struct Client {
    std::unique_ptr<store::KvStore> kv;
    std::unique_ptr<store::Store> store;
  };
  DomainKeeperStore(KvFactory factory, std::string base, int reopen_after)
      : factory_(std::move(factory)), base_(std::move(base)), reopen_after_(reopen_after) {}
  std::shared_ptr<Client> Current();
  // Counts an outcome of a call made on `used`; reopens when the count is reached.
  void Note(const absl::Status& s, const std::shared_ptr<Client>& used);

  KvFactory factory_;
  std::string base_;
  int reopen_after_;
  std::mutex mu_;
  std::shared_ptr<Client> client_ ABSL_GUARDED_BY(mu_);
  int failures_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace stolon::keeper
