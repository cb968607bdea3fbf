// A thin RAII wrapper over libpq: one connection, queries with parameters and a deadline, rows
// of optional strings, errors as absl::Status carrying the server's message. Also the
// replication-protocol commands the keeper needs (IDENTIFY_SYSTEM, TIMELINE_HISTORY).
//
// Status codes: kUnavailable when the server cannot be reached or the connection broke;
// kPermissionDenied for authentication failures and SQLSTATE class 28 / 42501;
// kDeadlineExceeded when the timeout passed (the query is cancelled); kInternal for other
// server errors (message "<severity>: <message> (SQLSTATE xxxxx)").
//
// Not thread-safe: use one Connection from one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cluster/cluster.h"
#include "postgresql/conninfo.h"

struct pg_conn;

namespace stolon::postgresql {

using Row = std::vector<std::optional<std::string>>;  // nullopt = SQL NULL

// A query result: column names and rows (empty for commands without a result set).
struct Result {
  std::vector<std::string> columns;
  std::vector<Row> rows;
  std::string command_status;  // e.g. "SELECT 1", "ALTER ROLE"
};

class Connection {
 public:
  // Connects with `params` (a ConnString is built from them). `timeout` bounds the connection
  // attempt and is the default deadline of every later query on this connection.
  static absl::StatusOr<Connection> Connect(const ConnParams& params,
                                            std::chrono::milliseconds timeout);

  Connection(Connection&&) noexcept;
  Connection& operator=(Connection&&) noexcept;
  ~Connection();

  // Runs `sql` (one statement; $1..$n bound to `args` as text) and returns its rows.
  // With no args the simple query protocol is used (required on replication connections).
  absl::StatusOr<Result> Query(const std::string& sql, const std::vector<std::string>& args = {});
  // Like Query, discarding the rows.
  absl::Status Exec(const std::string& sql, const std::vector<std::string>& args = {});

  // Properly quoted SQL identifier / literal for this connection's encoding.
  absl::StatusOr<std::string> QuoteIdentifier(const std::string& ident);
  absl::StatusOr<std::string> QuoteLiteral(const std::string& literal);

  // Changes the deadline used by later queries.
  void set_timeout(std::chrono::milliseconds t) { timeout_ = t; }

 private:
  Connection(pg_conn* conn, std::chrono::milliseconds timeout) : conn_(conn), timeout_(timeout) {}
  absl::StatusOr<Result> Run(const std::string& sql, const std::vector<std::string>& args);

  pg_conn* conn_ = nullptr;
  std::chrono::milliseconds timeout_;
};

// What IDENTIFY_SYSTEM reports.
struct SystemData {
  std::string system_id;  // decimal
  uint64_t timeline_id = 0;
  uint64_t xlog_pos = 0;  // hi<<32 | lo of "X/Y"
};

// A physical replication connection (`replication=1` is added to the params).
class ReplicationConnection {
 public:
  static absl::StatusOr<ReplicationConnection> Connect(ConnParams params,
                                                       std::chrono::milliseconds timeout);
  absl::StatusOr<SystemData> IdentifySystem();
  // TIMELINE_HISTORY <tli>: the parsed history file of timeline `tli` (tli > 1).
  absl::StatusOr<cluster::TimelinesHistory> TimelineHistory(uint64_t tli);

 private:
  explicit ReplicationConnection(Connection c) : conn_(std::move(c)) {}
  Connection conn_;
};

}  // namespace stolon::postgresql
