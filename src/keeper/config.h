// stolon-keeper's command line (stolon v0.17 cmd/keeper/cmd/keeper.go): the keeper flags on top of
// the common ones, STKEEPER_* environment binding, and the start-up validation with stolon's
// messages (required flags, auth methods, password files, trailing new lines, su == repl rules).
#pragma once

#include <string>

#include "absl/status/status.h"
#include "common/flags.h"

namespace stolon::keeper {

// Everything the keeper takes from its command line / environment. After FinalizeConfig the
// password fields hold the effective passwords (read from the files when given, trailing
// new lines removed) and the advertise address/port are filled in.
struct KeeperConfig {
  CommonConfig common;
  std::string uid;
  std::string id;  // deprecated hidden alias of --uid
  std::string data_dir;
  std::string pg_listen_address;
  std::string pg_port = "5432";
  std::string pg_advertise_address;
  std::string pg_advertise_port;
  std::string pg_bin_path;
  std::string pg_repl_auth_method = "md5";
  std::string pg_repl_username;
  std::string pg_repl_password;
  std::string pg_repl_password_file;
  std::string pg_su_auth_method = "md5";
  std::string pg_su_username;
  std::string pg_su_password;
  std::string pg_su_password_file;
  bool can_be_master = true;
  bool can_be_synchronous_replica = true;
  bool disable_data_dir_locking = false;

  // PGDATA: <data-dir>/postgres.
  std::string PgDataDir() const { return data_dir + "/postgres"; }
};

// Registers the common and keeper flags on `app` (writing into `config`, which must outlive it)
// and binds every flag to its STKEEPER_* environment variable.
void AddKeeperFlags(CLI::App& app, KeeperConfig& config);

// True when `uid` is a valid keeper uid (^[a-z0-9_]+$, the replication slot name alphabet).
bool IsValidKeeperUid(const std::string& uid);

// stolon's start-up validation, in stolon's order, on a parsed config. Logs stolon's warnings
// (hostname/loopback advertise address, password file modes, trailing new lines, su == repl).
// Reads password files (raw), trims trailing "\r\n" from both passwords, fills the advertise
// defaults and the superuser name (the effective OS user). Returns InvalidArgument with the
// message stolon prints as fatal; does not touch the data dir.
absl::Status FinalizeConfig(KeeperConfig& config);

}  // namespace stolon::keeper
