#include "keeper/config.h"

#include <arpa/inet.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "CLI/CLI.hpp"
#include "common/status.h"
#include "fmt/format.h"
#include "postgresql/config.h"
#include "spdlog/spdlog.h"
#include "store/store_config.h"

namespace stolon::keeper {
namespace {

// The advertised address is what other components connect to: a hostname may resolve
// differently elsewhere, a loopback address only works when everything runs on one host.
void WarnAboutAdvertiseAddress(const std::string& addr) {
  unsigned char buf[sizeof(struct in6_addr)];
  bool v4 = inet_pton(AF_INET, addr.c_str(), buf) == 1;
  bool v6 = !v4 && inet_pton(AF_INET6, addr.c_str(), buf) == 1;
  if (!v4 && !v6) {
    if (addr != "*") {
      spdlog::warn(
          "provided --pg-advertise-address {:?} is not an ip address but a hostname. This will be "
          "advertised to the other components and may have undefined behaviors if resolved "
          "differently by other hosts",
          addr);
    }
    return;
  }
  bool loopback = v4 ? buf[0] == 127 : IN6_IS_ADDR_LOOPBACK(reinterpret_cast<in6_addr*>(buf));
  if (loopback) {
    spdlog::warn(
        "provided --pg-advertise-address {:?} is a loopback ip. This will be advertised to the "
        "other components and communication will fail if they are on different hosts",
        addr);
  }
}

// Reads a password file raw (no trimming here), warning when others can read it.
absl::StatusOr<std::string> ReadPasswordFile(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return absl::InvalidArgumentError(
        fmt::format("cannot stat password file {:?}: {}", path, std::strerror(errno)));
  }
  if ((st.st_mode & 077) != 0) {
    spdlog::warn(
        "password file {} permissions {:#o} are too open. This file should only be readable to "
        "the user executing stolon! Continuing...",
        path, st.st_mode & 0777);
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        fmt::format("cannot read password file {:?}: {}", path, std::strerror(errno)));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string TrimTrailingNewLines(const std::string& s) {
  size_t end = s.find_last_not_of("\r\n");
  return end == std::string::npos ? std::string() : s.substr(0, end + 1);
}

// Trims trailing new lines from `password`, with stolon's warning and fatal messages; `who` is
// "superuser" or "replication user".
absl::Status TrimPassword(std::string& password, const char* who) {
  std::string trimmed = TrimTrailingNewLines(password);
  if (trimmed == password) return absl::OkStatus();
  spdlog::warn("{} password contain trailing new line, removing", who);
  if (trimmed.empty()) {
    return absl::InvalidArgumentError(
        fmt::format("{} password is empty after removing trailing new line", who));
  }
  password = trimmed;
  return absl::OkStatus();
}

// The required-password rules for one user; `flag` is "repl" or "su".
absl::Status CheckAuth(const std::string& method, const std::string& password,
                       const std::string& password_file, const char* flag) {
  if (!postgresql::IsValidAuthMethod(method)) {
    return absl::InvalidArgumentError(fmt::format(
        "--pg-{}-auth-method must be one of: md5, scram-sha-256, trust (got {:?})", flag, method));
  }
  if (password.empty() && password_file.empty() && method != postgresql::kAuthTrust) {
    return absl::InvalidArgumentError(
        fmt::format("one of --pg-{0}-password or --pg-{0}-passwordfile is required", flag));
  }
  if (!password.empty() && !password_file.empty()) {
    return absl::InvalidArgumentError(fmt::format(
        "only one of --pg-{0}-password or --pg-{0}-passwordfile must be provided", flag));
  }
  if (method == postgresql::kAuthTrust && (!password.empty() || !password_file.empty())) {
    return absl::InvalidArgumentError(fmt::format(
        "--pg-{0}-password or --pg-{0}-passwordfile must not be provided when using trust auth "
        "method",
        flag));
  }
  return absl::OkStatus();
}

// A TCP port given as a string flag: a decimal number in 1..65535.
absl::Status CheckPort(const std::string& flag, const std::string& value) {
  int port = 0;
  const char* end = value.data() + value.size();
  auto [p, ec] = std::from_chars(value.data(), end, port);
  if (value.empty() || ec != std::errc() || p != end || port < 1 || port > 65535) {
    return absl::InvalidArgumentError(
        fmt::format("invalid {} {:?}: must be a port number between 1 and 65535", flag, value));
  }
  return absl::OkStatus();
}

std::string CurrentOsUser() {
  if (passwd* pw = ::getpwuid(::geteuid()); pw != nullptr && pw->pw_name != nullptr) {
    return pw->pw_name;
  }
  const char* u = std::getenv("USER");
  return u ? u : "";
}

}  // namespace

bool IsValidKeeperUid(const std::string& uid) {
  // ^[a-z0-9_]+$ without std::regex (GCC 12 -Wmaybe-uninitialized under sanitizers).
  if (uid.empty()) return false;
  for (char ch : uid) {
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_')) return false;
  }
  return true;
}

void AddKeeperFlags(CLI::App& app, KeeperConfig& c) {
  // As with Go's flag package, a flag given twice takes the last value.
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  AddCommonFlags(app, c.common, Component::kKeeper);
  app.add_option("--uid", c.uid,
                 "keeper uid (must be unique in the cluster and can contain only lower-case "
                 "letters, numbers and the underscore character). If not provided a random uid "
                 "will be generated.");
  app.add_option("--id", c.id, "keeper id (deprecated, use --uid)")->group("");  // hidden
  app.add_option("--data-dir", c.data_dir, "data directory");
  app.add_option("--pg-listen-address", c.pg_listen_address,
                 "postgresql instance listening address");
  app.add_option("--pg-port", c.pg_port, "postgresql instance listening port")
      ->capture_default_str();
  app.add_option("--pg-advertise-address", c.pg_advertise_address,
                 "postgresql instance address from outside. Use it to expose ip different than "
                 "local ip with a NAT networking config");
  app.add_option("--pg-advertise-port", c.pg_advertise_port,
                 "postgresql instance port from outside. Use it to expose port different than "
                 "local port with a PAT networking config");
  app.add_option("--pg-bin-path", c.pg_bin_path,
                 "absolute path to postgresql binaries. If empty "
                 "they will be searched in the current PATH");
  app.add_option(
         "--pg-repl-auth-method", c.pg_repl_auth_method,
         "postgres replication user auth method. Default is md5. (md5, scram-sha-256, trust)")
      ->capture_default_str();
  app.add_option("--pg-repl-username", c.pg_repl_username,
                 "postgres replication user name. Required. It'll be created on db initialization. "
                 "Must be the same for all keepers.");
  app.add_option("--pg-repl-password", c.pg_repl_password,
                 "postgres replication user password. Only one of --pg-repl-password or "
                 "--pg-repl-passwordfile must be provided. Must be the same for all keepers.");
  app.add_option("--pg-repl-passwordfile", c.pg_repl_password_file,
                 "postgres replication user password file. Only one of --pg-repl-password or "
                 "--pg-repl-passwordfile must be provided. Must be the same for all keepers.");
  app.add_option("--pg-su-auth-method", c.pg_su_auth_method,
                 "postgres superuser auth method. Default is md5. (md5, scram-sha-256, trust)")
      ->capture_default_str();
  app.add_option(
      "--pg-su-username", c.pg_su_username,
      "postgres superuser user name. Used for keeper managed instance access and pg_rewind based "
      "synchronization. It'll be created on db initialization. Defaults to the name of the "
      "effective user running stolon-keeper. Must be the same for all keepers.");
  app.add_option("--pg-su-password", c.pg_su_password,
                 "postgres superuser password. Only one of --pg-su-password or "
                 "--pg-su-passwordfile must be provided. Must be the same for all keepers.");
  app.add_option("--pg-su-passwordfile", c.pg_su_password_file,
                 "postgres superuser password file. Only one of --pg-su-password or "
                 "--pg-su-passwordfile must be provided. Must be the same for all keepers.");
  // Go bool flags: "--can-be-master" alone means true, "--can-be-master=false" turns it off.
  app.add_flag("--can-be-master", c.can_be_master, "whether this keeper can be elected master")
      ->default_str("true");
  app.add_flag("--can-be-synchronous-replica", c.can_be_synchronous_replica,
               "prevent keeper from being chosen as synchronous replica")
      ->default_str("true");
  app.add_flag("--disable-data-dir-locking", c.disable_data_dir_locking,
               "disable locking on data dir. Warning! It'll cause data corruptions if two keepers "
               "are concurrently running with the same data dir.")
      ->default_str("false");
  BindEnv(app, "STKEEPER");
}

namespace {

// --uid (or the deprecated --id) and --data-dir / --pg-bin-path made absolute.
absl::Status FinalizeIdentityAndPaths(KeeperConfig& c) {
  if (!c.id.empty()) {
    spdlog::warn("the --id flag is deprecated, use --uid instead");
    if (c.uid.empty()) c.uid = c.id;
  }
  if (!c.uid.empty() && !IsValidKeeperUid(c.uid)) {
    return absl::InvalidArgumentError(fmt::format(
        "keeper uid {:?} not valid. It can contain only lower-case letters, numbers and the "
        "underscore character",
        c.uid));
  }
  if (c.data_dir.empty()) return absl::InvalidArgumentError("data dir required: pass --data-dir");
  // The keeper may leave its working directory (one its user cannot enter breaks PostgreSQL's
  // tools), so paths given relative to it are made absolute now.
  for (auto [flag, path] :
       {std::pair{"--data-dir", &c.data_dir}, {"--pg-bin-path", &c.pg_bin_path}}) {
    if (path->empty() || std::filesystem::path(*path).is_absolute()) continue;
    std::error_code ec;
    auto abs = std::filesystem::absolute(*path, ec);
    if (ec) {
      return absl::InvalidArgumentError(
          fmt::format("cannot resolve the relative {} {:?} ({}): pass an absolute path", flag,
                      *path, ec.message()));
    }
    *path = abs.lexically_normal().string();
  }
  return absl::OkStatus();
}

// --pg-listen-address, --pg-port and their advertised counterparts.
absl::Status FinalizePgAddress(KeeperConfig& c) {
  if (c.pg_listen_address.empty()) {
    return absl::InvalidArgumentError("--pg-listen-address is required");
  }
  if (c.pg_advertise_address.empty()) c.pg_advertise_address = c.pg_listen_address;
  RETURN_IF_ERROR(CheckPort("--pg-port", c.pg_port));
  if (!c.pg_advertise_port.empty())
    RETURN_IF_ERROR(CheckPort("--pg-advertise-port", c.pg_advertise_port));
  if (c.pg_advertise_port.empty()) c.pg_advertise_port = c.pg_port;
  WarnAboutAdvertiseAddress(c.pg_advertise_address);
  return absl::OkStatus();
}

// Reads `file` (when given) into `password`; `who` names the user in the error.
absl::Status LoadPasswordFile(const std::string& file, std::string& password,
                              const std::string& who) {
  if (file.empty()) return absl::OkStatus();
  auto pw = ReadPasswordFile(file);
  if (!pw.ok()) {
    return absl::InvalidArgumentError(
        fmt::format("cannot read {} password: {}", who, std::string(pw.status().message())));
  }
  password = *pw;
  return absl::OkStatus();
}

// The superuser and replication user: names, auth methods, passwords.
absl::Status FinalizeCredentials(KeeperConfig& c) {
  if (c.pg_repl_username.empty())
    return absl::InvalidArgumentError("--pg-repl-username is required");
  RETURN_IF_ERROR(
      CheckAuth(c.pg_repl_auth_method, c.pg_repl_password, c.pg_repl_password_file, "repl"));
  RETURN_IF_ERROR(CheckAuth(c.pg_su_auth_method, c.pg_su_password, c.pg_su_password_file, "su"));
  if (c.pg_su_username.empty()) {
    c.pg_su_username = CurrentOsUser();
    if (c.pg_su_username.empty()) {
      return absl::InvalidArgumentError(
          "cannot determine the current user name: pass --pg-su-username");
    }
  }
  RETURN_IF_ERROR(
      LoadPasswordFile(c.pg_repl_password_file, c.pg_repl_password, "pg replication user"));
  RETURN_IF_ERROR(LoadPasswordFile(c.pg_su_password_file, c.pg_su_password, "pg superuser"));
  RETURN_IF_ERROR(TrimPassword(c.pg_su_password, "superuser"));
  RETURN_IF_ERROR(TrimPassword(c.pg_repl_password, "replication user"));
  if (c.pg_su_username == c.pg_repl_username) {
    spdlog::warn(
        "superuser name and replication user name are the same. Different users are suggested.");
    if (c.pg_su_auth_method != c.pg_repl_auth_method) {
      return absl::InvalidArgumentError(
          "do not support different auth methods when utilizing superuser for replication.");
    }
    if (c.pg_su_password != c.pg_repl_password && c.pg_su_auth_method != postgresql::kAuthTrust &&
        c.pg_repl_auth_method != postgresql::kAuthTrust) {
      return absl::InvalidArgumentError(
          "provided superuser name and replication user name are the same but provided "
          "passwords are different");
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status FinalizeConfig(KeeperConfig& c) {
  RETURN_IF_ERROR(FinalizeIdentityAndPaths(c));
  RETURN_IF_ERROR(ValidateCommonConfig(c.common));
  if (auto sc = store::StoreConfigFromFlags(c.common); !sc.ok()) return sc.status();
  RETURN_IF_ERROR(FinalizePgAddress(c));
  return FinalizeCredentials(c);
}

}  // namespace stolon::keeper
