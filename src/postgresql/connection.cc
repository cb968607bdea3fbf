#include "postgresql/connection.h"

#include <libpq-fe.h>
#include <poll.h>

#include <cstring>

#include "common/status.h"
#include "fmt/format.h"
#include "postgresql/util.h"

namespace stolon::postgresql {
namespace {

using Clock = std::chrono::steady_clock;

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

bool IsAuthFailure(const std::string& msg) {
  static const char* kNeedles[] = {"authentication failed", "no pg_hba.conf entry",
                                   "no password supplied", "password authentication"};
  for (const char* n : kNeedles) {
    if (msg.find(n) != std::string::npos) return true;
  }
  return false;
}

// Waits until the socket is readable/writable or the deadline passes. False on timeout.
bool WaitSocket(int fd, bool for_write, Clock::time_point deadline) {
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, static_cast<short>(for_write ? POLLOUT : POLLIN), 0};
    int r = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
    if (r > 0) return true;
    if (r < 0 && errno != EINTR) return true;  // let libpq report the error
  }
}

absl::Status ResultError(PGresult* res, pg_conn* conn) {
  const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
  const char* sev = PQresultErrorField(res, PG_DIAG_SEVERITY);
  const char* msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
  std::string sqlstate = state ? state : "";
  std::string text;
  if (msg) {
    text = fmt::format("{}: {}", sev ? sev : "ERROR", msg);
    if (!sqlstate.empty()) text += fmt::format(" (SQLSTATE {})", sqlstate);
  } else {
    text = Trim(PQerrorMessage(conn));
  }
  if (PQstatus(conn) == CONNECTION_BAD || sqlstate.rfind("08", 0) == 0 || sqlstate == "57P01" ||
      sqlstate == "57P02" || sqlstate == "57P03") {
    return absl::UnavailableError(text);
  }
  if (sqlstate.rfind("28", 0) == 0 || sqlstate == "42501") return absl::PermissionDeniedError(text);
  if (sqlstate == "57014") return absl::DeadlineExceededError(text);
  return absl::InternalError(text);
}

// Sends `sql` (with `args` as text parameters, if any) and flushes it (non-blocking mode).
absl::Status SendQuery(pg_conn* conn, const std::string& sql, const std::vector<std::string>& args,
                       Clock::time_point deadline, std::chrono::milliseconds timeout) {
  int sent;
  if (args.empty()) {
    sent = PQsendQuery(conn, sql.c_str());
  } else {
    std::vector<const char*> values;
    for (const auto& a : args) values.push_back(a.c_str());
    sent = PQsendQueryParams(conn, sql.c_str(), static_cast<int>(values.size()), nullptr,
                             values.data(), nullptr, nullptr, 0);
  }
  if (!sent) {
    std::string msg = Trim(PQerrorMessage(conn));
    if (PQstatus(conn) == CONNECTION_BAD) return absl::UnavailableError(msg);
    return absl::InternalError(msg);
  }
  while (true) {
    int f = PQflush(conn);
    if (f == 0) return absl::OkStatus();
    if (f < 0) return absl::UnavailableError(Trim(PQerrorMessage(conn)));
    if (!WaitSocket(PQsocket(conn), true, deadline)) {
      return absl::DeadlineExceededError(
          fmt::format("timeout sending query after {}ms", timeout.count()));
    }
  }
}

// The columns and rows of a PGRES_TUPLES_OK result (NULL as nullopt).
Result ReadTuples(PGresult* res) {
  Result out;
  int nf = PQnfields(res);
  for (int i = 0; i < nf; ++i) out.columns.emplace_back(PQfname(res, i));
  int nt = PQntuples(res);
  for (int r = 0; r < nt; ++r) {
    Row row;
    for (int i = 0; i < nf; ++i) {
      if (PQgetisnull(res, r, i)) {
        row.emplace_back(std::nullopt);
      } else {
        row.emplace_back(
            std::string(PQgetvalue(res, r, i), static_cast<size_t>(PQgetlength(res, r, i))));
      }
    }
    out.rows.push_back(std::move(row));
  }
  return out;
}

}  // namespace

absl::StatusOr<Connection> Connection::Connect(const ConnParams& params,
                                               std::chrono::milliseconds timeout) {
  std::string conninfo = ConnString(params);
  auto deadline = Clock::now() + timeout;
  pg_conn* conn = PQconnectStart(conninfo.c_str());
  if (!conn) return absl::ResourceExhaustedError("libpq: out of memory");
  Connection c(conn, timeout);  // owns conn from here
  if (PQstatus(conn) == CONNECTION_BAD) {
    std::string msg = Trim(PQerrorMessage(conn));
    if (IsAuthFailure(msg)) return absl::PermissionDeniedError(msg);
    return absl::UnavailableError(msg);
  }
  PostgresPollingStatusType st = PGRES_POLLING_WRITING;
  while (st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED) {
    if (!WaitSocket(PQsocket(conn), st == PGRES_POLLING_WRITING, deadline)) {
      return absl::UnavailableError(
          fmt::format("timeout connecting to postgres after {}ms", timeout.count()));
    }
    st = PQconnectPoll(conn);
  }
  if (st == PGRES_POLLING_FAILED) {
    std::string msg = Trim(PQerrorMessage(conn));
    if (IsAuthFailure(msg)) return absl::PermissionDeniedError(msg);
    return absl::UnavailableError(msg);
  }
  if (PQsetnonblocking(conn, 1) != 0) return absl::InternalError(Trim(PQerrorMessage(conn)));
  return c;
}

Connection::Connection(Connection&& o) noexcept : conn_(o.conn_), timeout_(o.timeout_) {
  o.conn_ = nullptr;
}

Connection& Connection::operator=(Connection&& o) noexcept {
  if (this != &o) {
    if (conn_) PQfinish(conn_);
    conn_ = o.conn_;
    timeout_ = o.timeout_;
    o.conn_ = nullptr;
  }
  return *this;
}

Connection::~Connection() {
  if (conn_) PQfinish(conn_);
}

absl::StatusOr<Result> Connection::Run(const std::string& sql,
                                       const std::vector<std::string>& args) {
  if (!conn_) return absl::FailedPreconditionError("connection is closed");
  auto deadline = Clock::now() + timeout_;
  RETURN_IF_ERROR(SendQuery(conn_, sql, args, deadline, timeout_));
  Result out;
  absl::Status err = absl::OkStatus();
  bool timed_out = false;
  while (true) {
    while (PQisBusy(conn_)) {
      if (!timed_out && !WaitSocket(PQsocket(conn_), false, deadline)) {
        // Ask the server to cancel, then drain the results so the connection stays usable.
        timed_out = true;
        if (PGcancel* cancel = PQgetCancel(conn_)) {
          char buf[256];
          PQcancel(cancel, buf, sizeof buf);
          PQfreeCancel(cancel);
        }
        deadline = Clock::now() + std::chrono::seconds(5);
        continue;
      }
      if (timed_out && !WaitSocket(PQsocket(conn_), false, deadline)) {
        return absl::DeadlineExceededError(
            fmt::format("query timed out after {}ms and could not be cancelled", timeout_.count()));
      }
      if (PQconsumeInput(conn_) == 0) return absl::UnavailableError(Trim(PQerrorMessage(conn_)));
    }
    PGresult* res = PQgetResult(conn_);
    if (!res) break;
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK || st == PGRES_EMPTY_QUERY) {
      if (st == PGRES_TUPLES_OK) out = ReadTuples(res);
      out.command_status = PQcmdStatus(res);
    } else if (err.ok()) {
      err = ResultError(res, conn_);
    }
    PQclear(res);
  }
  if (timed_out) {
    return absl::DeadlineExceededError(
        fmt::format("query timed out after {}ms: {}", timeout_.count(), sql.substr(0, 80)));
  }
  if (!err.ok()) return err;
  if (PQstatus(conn_) == CONNECTION_BAD) return absl::UnavailableError(Trim(PQerrorMessage(conn_)));
  return out;
}

absl::StatusOr<Result> Connection::Query(const std::string& sql,
                                         const std::vector<std::string>& args) {
  return Run(sql, args);
}

absl::Status Connection::Exec(const std::string& sql, const std::vector<std::string>& args) {
  return Run(sql, args).status();
}

absl::StatusOr<std::string> Connection::QuoteIdentifier(const std::string& ident) {
  char* q = PQescapeIdentifier(conn_, ident.c_str(), ident.size());
  if (!q) return absl::InvalidArgumentError(Trim(PQerrorMessage(conn_)));
  std::string out = q;
  PQfreemem(q);
  return out;
}

absl::StatusOr<std::string> Connection::QuoteLiteral(const std::string& literal) {
  char* q = PQescapeLiteral(conn_, literal.c_str(), literal.size());
  if (!q) return absl::InvalidArgumentError(Trim(PQerrorMessage(conn_)));
  std::string out = q;
  PQfreemem(q);
  return out;
}

absl::StatusOr<ReplicationConnection> ReplicationConnection::Connect(
    ConnParams params, std::chrono::milliseconds timeout) {
  params["replication"] = "1";
  auto c = Connection::Connect(params, timeout);
  if (!c.ok()) return c.status();
  return ReplicationConnection(std::move(*c));
}

absl::StatusOr<SystemData> ReplicationConnection::IdentifySystem() {
  auto r = conn_.Query("IDENTIFY_SYSTEM");
  if (!r.ok()) return r.status();
  if (r->rows.empty() || r->rows[0].size() < 3 || !r->rows[0][0] || !r->rows[0][1] ||
      !r->rows[0][2]) {
    return absl::InternalError("IDENTIFY_SYSTEM returned no usable row");
  }
  const Row& row = r->rows[0];
  SystemData sd;
  sd.system_id = *row[0];
  try {
    sd.timeline_id = std::stoull(*row[1]);
  } catch (const std::exception&) {
    return absl::InternalError(fmt::format("IDENTIFY_SYSTEM: bad timeline \"{}\"", *row[1]));
  }
  auto pos = ParseLsn(*row[2]);
  if (!pos.ok()) return pos.status();
  sd.xlog_pos = *pos;
  return sd;
}

absl::StatusOr<cluster::TimelinesHistory> ReplicationConnection::TimelineHistory(uint64_t tli) {
  auto r = conn_.Query(fmt::format("TIMELINE_HISTORY {}", tli));
  if (!r.ok()) return r.status();
  if (r->rows.empty() || r->rows[0].size() < 2 || !r->rows[0][1]) {
    return absl::InternalError("TIMELINE_HISTORY returned no usable row");
  }
  return ParseTimelinesHistory(*r->rows[0][1]);
}

}  // namespace stolon::postgresql
