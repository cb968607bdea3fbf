// The keeper's files in its data dir (stolon v0.17 layout):
//   <data-dir>/keeperstate  {"UID": "...", "ClusterUID": "..."}
//   <data-dir>/dbstate      {"UID": "...", "Generation": N, "Initializing": b, "InitPGParameters":
//   {...}|null} <data-dir>/lock         the fcntl lock taken while a keeper runs on the dir
// State files are written atomically: temp file in the same dir, fsync, chmod 0600, rename,
// fsync of the directory.
#pragma once

#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cluster/cluster.h"

namespace stolon::keeper {

struct KeeperLocalState {
  std::string uid;          // "UID"
  std::string cluster_uid;  // "ClusterUID"
  bool operator==(const KeeperLocalState&) const = default;
};

struct DBLocalState {
  std::string uid;            // "UID": the db this data dir holds
  int64_t generation = 0;     // "Generation": the last db generation fully applied
  bool initializing = false;  // "Initializing": an init/resync is in progress (crash = redo)
  std::optional<cluster::PGParameters> init_pg_parameters;  // "InitPGParameters"
  bool operator==(const DBLocalState&) const = default;
};

std::string EncodeKeeperLocalState(const KeeperLocalState& s);
absl::StatusOr<KeeperLocalState> ParseKeeperLocalState(const std::string& json);
std::string EncodeDBLocalState(const DBLocalState& s);
absl::StatusOr<DBLocalState> ParseDBLocalState(const std::string& json);

// Reads <data_dir>/keeperstate; nullopt when the file does not exist. A file that exists but does
// not parse is an error naming the file.
absl::StatusOr<std::optional<KeeperLocalState>> LoadKeeperLocalState(const std::string& data_dir);
absl::Status SaveKeeperLocalState(const std::string& data_dir, const KeeperLocalState& s);
// Reads <data_dir>/dbstate; nullopt when the file does not exist.
absl::StatusOr<std::optional<DBLocalState>> LoadDBLocalState(const std::string& data_dir);
absl::Status SaveDBLocalState(const std::string& data_dir, const DBLocalState& s);

// Where the keeper pass keeps its two state files: the data dir in the daemon, memory in tests.
class LocalStateStore {
 public:
  virtual ~LocalStateStore() = default;
  virtual absl::StatusOr<std::optional<KeeperLocalState>> LoadKeeperState() = 0;
  virtual absl::Status SaveKeeperState(const KeeperLocalState& s) = 0;
  virtual absl::StatusOr<std::optional<DBLocalState>> LoadDBState() = 0;
  virtual absl::Status SaveDBState(const DBLocalState& s) = 0;
};

// The files <data_dir>/keeperstate and <data_dir>/dbstate, written atomically.
class FileLocalStateStore final : public LocalStateStore {
 public:
  explicit FileLocalStateStore(std::string data_dir) : data_dir_(std::move(data_dir)) {}
  absl::StatusOr<std::optional<KeeperLocalState>> LoadKeeperState() override {
    return LoadKeeperLocalState(data_dir_);
  }
  absl::Status SaveKeeperState(const KeeperLocalState& s) override {
    return SaveKeeperLocalState(data_dir_, s);
  }
  absl::StatusOr<std::optional<DBLocalState>> LoadDBState() override {
    return LoadDBLocalState(data_dir_);
  }
  absl::Status SaveDBState(const DBLocalState& s) override {
    return SaveDBLocalState(data_dir_, s);
  }

 private:
  std::string data_dir_;
};

// In memory, for tests: `fail_saves` makes every save fail (a full or read-only disk).
class MemLocalStateStore final : public LocalStateStore {
 public:
  absl::StatusOr<std::optional<KeeperLocalState>> LoadKeeperState() override {
    return keeper_state;
  }
  absl::Status SaveKeeperState(const KeeperLocalState& s) override {
    if (fail_saves) return absl::InternalError("cannot write keeperstate: disk full");
    keeper_state = s;
    return absl::OkStatus();
  }
  absl::StatusOr<std::optional<DBLocalState>> LoadDBState() override { return db_state; }
  absl::Status SaveDBState(const DBLocalState& s) override {
    if (fail_saves) return absl::InternalError("cannot write dbstate: disk full");
    db_state = s;
    return absl::OkStatus();
  }

  std::optional<KeeperLocalState> keeper_state;
  std::optional<DBLocalState> db_state;
  bool fail_saves = false;
};

// Creates `dir` (and parents) with mode 0700 if missing.
absl::Status CreateDataDir(const std::string& dir);

// The resolved keeper uid: the saved uid when there is one (a different --uid is an error), else
// the --uid, else a generated one. Saves keeperstate when it was not there. `generated` is set
// when a new uid was made up.
absl::StatusOr<KeeperLocalState> ResolveKeeperUid(const std::string& data_dir,
                                                  const std::string& flag_uid,
                                                  const std::string& generated_uid);

// An exclusive fcntl (F_SETLK, write) lock on a file, held until destruction (the fd is closed).
// The file is created with mode 0644 if missing and never deleted.
class DataDirLock {
 public:
  // Takes the lock on <data_dir>/lock without waiting. FailedPrecondition naming the path and the
  // OS error when another process holds it.
  static absl::StatusOr<DataDirLock> Acquire(const std::string& data_dir);
  DataDirLock(DataDirLock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  DataDirLock& operator=(DataDirLock&& o) noexcept;
  ~DataDirLock();

 private:
  explicit DataDirLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace stolon::keeper
