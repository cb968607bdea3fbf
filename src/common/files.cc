#include "common/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "fmt/format.h"

namespace stolon {
namespace {

absl::Status Errno(const std::string& what, int err) {
  return absl::InternalError(fmt::format("{}: {}", what, std::strerror(err)));
}

std::string DirName(const std::string& path) {
  auto pos = path.rfind('/');
  if (pos == std::string::npos) return ".";
  if (pos == 0) return "/";
  return path.substr(0, pos);
}

// Writes all of `content` to `fd`, retrying short writes and EINTR; returns 0 or an errno.
int WriteAll(int fd, std::string_view content) {
  size_t off = 0;
  while (off < content.size()) {
    ssize_t n = ::write(fd, content.data() + off, content.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    off += static_cast<size_t>(n);
  }
  return 0;
}

int RealFsync(int fd) { return ::fsync(fd); }
int RealRename(const char* from, const char* to) { return ::rename(from, to); }

}  // namespace

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    const std::string what = fmt::format("cannot read {}: {}", path, std::strerror(err));
    return err == ENOENT ? absl::NotFoundError(what) : absl::InternalError(what);
  }
  std::string out;
  char buf[8192];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;  // e.g. EISDIR
      ::close(fd);
      return Errno(fmt::format("cannot read {}", path), err);
    }
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

absl::StatusOr<std::optional<std::string>> ReadFileIfExists(const std::string& path) {
  absl::StatusOr<std::string> c = ReadFile(path);
  if (absl::IsNotFound(c.status())) return std::optional<std::string>();
  if (!c.ok()) return c.status();
  return std::optional<std::string>(*std::move(c));
}

const AtomicWriteSyscalls& DefaultAtomicWriteSyscalls() {
  static const AtomicWriteSyscalls sys{&RealFsync, &RealRename};
  return sys;
}

absl::Status AtomicWriteFile(const std::string& path, std::string_view content, mode_t mode,
                             const AtomicWriteSyscalls& sys) {
  std::vector<char> name(path.begin(), path.end());
  const std::string suffix = ".tmp.XXXXXX";
  name.insert(name.end(), suffix.begin(), suffix.end());
  name.push_back('\0');
  const int fd = ::mkostemp(name.data(), O_CLOEXEC);
  if (fd < 0) return Errno(fmt::format("cannot create a temporary file for {}", path), errno);
  const std::string tmp(name.data());
  // Before the rename a failure removes the temporary file; `path` is untouched.
  auto fail = [&](const std::string& what, int err, bool open) {
    if (open) ::close(fd);
    ::unlink(tmp.c_str());
    return Errno(what, err);
  };
  if (int err = WriteAll(fd, content); err != 0)
    return fail(fmt::format("cannot write {}", tmp), err, true);
  if (::fchmod(fd, mode) != 0) return fail(fmt::format("cannot chmod {}", tmp), errno, true);
  if (sys.fsync(fd) != 0) return fail(fmt::format("cannot fsync {}", tmp), errno, true);
  if (::close(fd) != 0) return fail(fmt::format("cannot close {}", tmp), errno, false);
  if (sys.rename(tmp.c_str(), path.c_str()) != 0) {
    return fail(fmt::format("cannot rename {} to {}", tmp, path), errno, false);
  }
  const std::string dir = DirName(path);
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return Errno(fmt::format("cannot open directory {} to fsync it", dir), errno);
  const int rc = sys.fsync(dfd);
  const int err = errno;
  ::close(dfd);
  if (rc != 0) return Errno(fmt::format("cannot fsync directory {}", dir), err);
  return absl::OkStatus();
}

}  // namespace stolon
