#include "keeper/shared_state.h"

namespace stolon::keeper {

DBLocalState SharedState::db_state() const {
  absl::MutexLock l(&mu_);
  return db_state_;
}
void SharedState::set_db_state(DBLocalState s) {
  absl::MutexLock l(&mu_);
  db_state_ = std::move(s);
}
std::string SharedState::cluster_uid() const {
  absl::MutexLock l(&mu_);
  return cluster_uid_;
}
void SharedState::set_cluster_uid(std::string uid) {
  absl::MutexLock l(&mu_);
  cluster_uid_ = std::move(uid);
}
Duration SharedState::sleep_interval() const {
  absl::MutexLock l(&mu_);
  return sleep_interval_;
}
void SharedState::set_sleep_interval(Duration d) {
  absl::MutexLock l(&mu_);
  sleep_interval_ = d;
}
std::optional<cluster::PostgresState> SharedState::pg_state() const {
  absl::MutexLock l(&mu_);
  return pg_state_;
}
void SharedState::set_pg_state(std::optional<cluster::PostgresState> s) {
  absl::MutexLock l(&mu_);
  pg_state_ = std::move(s);
}
std::optional<postgresql::PGVersion> SharedState::binary_version() const {
  absl::MutexLock l(&mu_);
  return binary_version_;
}
void SharedState::set_binary_version(postgresql::PGVersion v) {
  absl::MutexLock l(&mu_);
  binary_version_ = v;
}

PassReport SharedState::pass_report() const {
  absl::MutexLock l(&mu_);
  return pass_report_;
}
void SharedState::UpdatePassReport(const std::function<void(PassReport&)>& f) {
  absl::MutexLock l(&mu_);
  f(pass_report_);
}

}  // namespace stolon::keeper
