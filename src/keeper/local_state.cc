#include "keeper/local_state.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/files.h"
#include "common/log.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"
#include "spdlog/spdlog.h"

namespace stolon::keeper {
namespace {

using nlohmann::json;

absl::Status Errno(const std::string& what) {
  return absl::InternalError(fmt::format("{}: {}", what, std::strerror(errno)));
}

}  // namespace

std::string EncodeKeeperLocalState(const KeeperLocalState& s) {
  return json{{"UID", s.uid}, {"ClusterUID", s.cluster_uid}}.dump();
}

absl::StatusOr<KeeperLocalState> ParseKeeperLocalState(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError("keeperstate: not a JSON object");
  }
  KeeperLocalState s;
  if (auto it = j.find("UID"); it != j.end() && it->is_string()) s.uid = it->get<std::string>();
  if (auto it = j.find("ClusterUID"); it != j.end() && it->is_string()) {
    s.cluster_uid = it->get<std::string>();
  }
  return s;
}

std::string EncodeDBLocalState(const DBLocalState& s) {
  json j{{"UID", s.uid}, {"Generation", s.generation}, {"Initializing", s.initializing}};
  if (s.init_pg_parameters) {
    j["InitPGParameters"] = *s.init_pg_parameters;
  } else {
    j["InitPGParameters"] = nullptr;
  }
  return j.dump();
}

absl::StatusOr<DBLocalState> ParseDBLocalState(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError("dbstate: not a JSON object");
  }
  DBLocalState s;
  try {
    if (auto it = j.find("UID"); it != j.end() && !it->is_null()) s.uid = it->get<std::string>();
    if (auto it = j.find("Generation"); it != j.end() && !it->is_null()) {
      s.generation = it->get<int64_t>();
    }
    if (auto it = j.find("Initializing"); it != j.end() && !it->is_null()) {
      s.initializing = it->get<bool>();
    }
    if (auto it = j.find("InitPGParameters"); it != j.end() && !it->is_null()) {
      s.init_pg_parameters = it->get<cluster::PGParameters>();
    }
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(fmt::format("dbstate: {}", e.what()));
  }
  return s;
}

absl::Status CreateDataDir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return absl::InternalError(fmt::format(
        "cannot create the data dir {}: {} (create it for the keeper's user, or choose another "
        "--data-dir)",
        dir, ec.message()));
  }
  if (::chmod(dir.c_str(), 0700) != 0) return Errno(fmt::format("cannot chmod data dir {}", dir));
  return absl::OkStatus();
}

absl::StatusOr<std::optional<KeeperLocalState>> LoadKeeperLocalState(const std::string& data_dir) {
  std::string path = data_dir + "/keeperstate";
  auto text = ReadFileIfExists(path);
  if (!text.ok()) return text.status();
  if (!text->has_value()) return std::optional<KeeperLocalState>();
  auto s = ParseKeeperLocalState(**text);
  if (!s.ok()) {
    return absl::InvalidArgumentError(
        fmt::format("cannot parse {}: {}", path, std::string(s.status().message())));
  }
  return std::optional<KeeperLocalState>(*s);
}

absl::Status SaveKeeperLocalState(const std::string& data_dir, const KeeperLocalState& s) {
  return AtomicWriteFile(data_dir + "/keeperstate", EncodeKeeperLocalState(s));
}

absl::StatusOr<std::optional<DBLocalState>> LoadDBLocalState(const std::string& data_dir) {
  std::string path = data_dir + "/dbstate";
  auto text = ReadFileIfExists(path);
  if (!text.ok()) return text.status();
  if (!text->has_value()) return std::optional<DBLocalState>();
  auto s = ParseDBLocalState(**text);
  if (!s.ok()) {
    return absl::InvalidArgumentError(
        fmt::format("cannot parse {}: {}", path, std::string(s.status().message())));
  }
  return std::optional<DBLocalState>(*s);
}

absl::Status SaveDBLocalState(const std::string& data_dir, const DBLocalState& s) {
  return AtomicWriteFile(data_dir + "/dbstate", EncodeDBLocalState(s));
}

absl::StatusOr<KeeperLocalState> ResolveKeeperUid(const std::string& data_dir,
                                                  const std::string& flag_uid,
                                                  const std::string& generated_uid) {
  auto saved = LoadKeeperLocalState(data_dir);
  if (!saved.ok()) return saved.status();
  KeeperLocalState state = saved->value_or(KeeperLocalState{});
  if (!state.uid.empty()) {
    if (!flag_uid.empty() && flag_uid != state.uid) {
      return absl::FailedPreconditionError(fmt::format(
          "saved uid {:?} differs from configuration uid: {:?} (this data dir belongs to keeper "
          "{:?}: start it with --uid={} or use another --data-dir)",
          state.uid, flag_uid, state.uid, state.uid));
    }
    return state;
  }
  if (!flag_uid.empty()) {
    state.uid = flag_uid;
  } else {
    state.uid = generated_uid;
    spdlog::info("uid generated{}", LogFields({{"uid", state.uid}}));
  }
  if (absl::Status s = SaveKeeperLocalState(data_dir, state); !s.ok()) return s;
  return state;
}

absl::StatusOr<DataDirLock> DataDirLock::Acquire(const std::string& data_dir) {
  std::string path = data_dir + "/lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::FailedPreconditionError(fmt::format(
        "cannot take exclusive lock on data dir {:?}: {}", data_dir, std::strerror(errno)));
  }
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  if (::fcntl(fd, F_SETLK, &fl) != 0) {
    int err = errno;
    ::close(fd);
    return absl::FailedPreconditionError(fmt::format(
        "cannot take exclusive lock on data dir {:?}: {} (another keeper is running on this data "
        "dir; stop it or use another --data-dir)",
        data_dir, std::strerror(err)));
  }
  return DataDirLock(fd);
}

DataDirLock& DataDirLock::operator=(DataDirLock&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

DataDirLock::~DataDirLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace stolon::keeper
