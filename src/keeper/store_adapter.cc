#include "keeper/store_adapter.h"

#include "spdlog/spdlog.h"

namespace stolon::keeper {

absl::StatusOr<std::unique_ptr<DomainKeeperStore>> DomainKeeperStore::Open(KvFactory factory,
                                                                           std::string base,
                                                                           int reopen_after) {
  auto kv = factory();
  if (!kv.ok()) return kv.status();
  std::unique_ptr<DomainKeeperStore> s(
      new DomainKeeperStore(std::move(factory), std::move(base), reopen_after));
  auto c = std::make_shared<Client>();
  c->kv = std::move(*kv);
  c->store = std::make_unique<store::Store>(*c->kv, s->base_);
  std::lock_guard l(s->mu_);
  s->client_ = std::move(c);
  return s;
}

std::shared_ptr<DomainKeeperStore::Client> DomainKeeperStore::Current() {
  std::lock_guard l(mu_);
  return client_;
}

void DomainKeeperStore::Note(const absl::Status& s, const std::shared_ptr<Client>& used) {
  std::lock_guard l(mu_);
  if (used != client_) return;  // already replaced
  if (s.code() != absl::StatusCode::kUnavailable) {
    failures_ = 0;
    return;
  }
  if (++failures_ < reopen_after_) return;
  auto kv = factory_();
  if (!kv.ok()) {
    spdlog::error("cannot reopen the store client: {}", std::string(kv.status().message()));
    return;
  }
  spdlog::debug("store unavailable {} times in a row: reopening the store client", failures_);
  auto c = std::make_shared<Client>();
  c->kv = std::move(*kv);
  c->store = std::make_unique<store::Store>(*c->kv, base_);
  client_ = std::move(c);  // the old one is freed when its last in-flight call ends
  failures_ = 0;
}

absl::StatusOr<std::optional<cluster::ClusterData>> DomainKeeperStore::GetClusterData() {
  auto c = Current();
  auto v = c->store->GetClusterData();
  Note(v.status(), c);
  if (!v.ok()) return v.status();
  if (!v->has_value()) return std::optional<cluster::ClusterData>();
  return std::optional<cluster::ClusterData>(std::move((*v)->value));
}

absl::Status DomainKeeperStore::SetKeeperInfo(const std::string& uid,
                                              const cluster::KeeperInfo& ki, Duration ttl) {
  auto c = Current();
  absl::Status s = c->store->SetKeeperInfo(uid, ki, std::chrono::ceil<std::chrono::seconds>(ttl));
  Note(s, c);
  return s;
}

}  // namespace stolon::keeper
