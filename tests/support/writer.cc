#include "support/writer.h"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>

namespace stolon::testing {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// libpq's connect_timeout is in whole seconds (minimum 2).
std::string WithConnectTimeout(const std::string& conninfo) {
  return conninfo + " connect_timeout=2 sslmode=disable";
}

struct Conn {
  PGconn* c = nullptr;
  ~Conn() { Reset(); }
  void Reset() {
    if (c) PQfinish(c);
    c = nullptr;
  }
};

// Sends `sql` with `params` and waits (bounded by `deadline`) for its single-value result.
// Returns the value, or nullopt with *err set.
std::optional<std::string> QueryValue(PGconn* c, const std::string& sql,
                                      const std::vector<std::string>& params, SteadyTime deadline,
                                      std::string* err) {
  std::vector<const char*> values;
  for (const auto& p : params) values.push_back(p.c_str());
  if (!PQsendQueryParams(c, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                         nullptr, nullptr, 0)) {
    *err = PQerrorMessage(c);
    return std::nullopt;
  }
  while (true) {
    if (!PQconsumeInput(c)) {
      *err = PQerrorMessage(c);
      return std::nullopt;
    }
    if (!PQisBusy(c)) break;
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    if (left <= milliseconds(0)) {
      *err = "client-side deadline passed";
      return std::nullopt;
    }
    pollfd pfd{PQsocket(c), POLLIN, 0};
    ::poll(&pfd, 1, static_cast<int>(std::min<int64_t>(left.count(), 100)));
  }
  std::optional<std::string> value;
  while (PGresult* r = PQgetResult(c)) {
    ExecStatusType st = PQresultStatus(r);
    if ((st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) && !value) {
      value = (st == PGRES_TUPLES_OK && PQntuples(r) == 1) ? PQgetvalue(r, 0, 0) : "";
    } else if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
      *err = PQresultErrorMessage(r);
      value.reset();
    }
    PQclear(r);  // PQisBusy() was false: every result is buffered, PQgetResult does not block
  }
  if (!err->empty()) return std::nullopt;
  if (!value) *err = "no result";
  return value;
}

}  // namespace

ContinuousWriter::ContinuousWriter(WriterOptions options) : options_(std::move(options)) {}

ContinuousWriter::~ContinuousWriter() { Stop(); }

bool ContinuousWriter::Start(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  bool created = false;
  while (!created && Clock::now() < deadline) {
    Conn conn;
    conn.c = PQconnectdb(WithConnectTimeout(options_.conninfo).c_str());
    if (PQstatus(conn.c) == CONNECTION_OK) {
      std::string err;
      created = QueryValue(conn.c,
                           "create table if not exists " + options_.table +
                               " (id bigint primary key, at timestamptz default now())",
                           {}, Clock::now() + options_.statement_deadline, &err)
                    .has_value();
    }
    if (!created) std::this_thread::sleep_for(milliseconds(200));
  }
  if (!created) return false;
  stop_ = false;
  for (int w = 0; w < options_.workers; ++w) threads_.emplace_back([this, w] { Work(w); });
  return true;
}

void ContinuousWriter::Stop() {
  stop_ = true;
  for (auto& t : threads_) t.join();
  threads_.clear();
}

void ContinuousWriter::Work(int worker) {
  Conn conn;
  const std::string sql =
      "insert into " + options_.table + " (id) values ($1) returning inet_server_port()";
  while (!stop_) {
    if (!conn.c) {
      conn.c = PQconnectdb(WithConnectTimeout(options_.conninfo).c_str());
      if (PQstatus(conn.c) != CONNECTION_OK) {
        conn.Reset();
        ++connect_failures_;
        std::this_thread::sleep_for(options_.interval);
        continue;
      }
    }
    WriteRecord rec;
    rec.id = next_id_++;
    rec.worker = worker;
    rec.sent = Clock::now();
    std::string err;
    auto port = QueryValue(conn.c, sql, {std::to_string(rec.id)},
                           rec.sent + options_.statement_deadline, &err);
    rec.done = Clock::now();
    if (port && !port->empty()) {
      rec.acked = true;
      rec.port = std::stoi(*port);
    } else {
      rec.error = err.empty() ? "empty result" : err;
      conn.Reset();  // unknown state: start over on a new connection
    }
    {
      std::lock_guard<std::mutex> l(mu_);
      records_.push_back(std::move(rec));
    }
    std::this_thread::sleep_for(options_.interval);
  }
}

std::vector<WriteRecord> ContinuousWriter::Records() const {
  std::vector<WriteRecord> out;
  {
    std::lock_guard<std::mutex> l(mu_);
    out = records_;
  }
  std::sort(out.begin(), out.end(),
            [](const WriteRecord& a, const WriteRecord& b) { return a.id < b.id; });
  return out;
}

int ContinuousWriter::Acked(std::optional<int> port) const {
  std::lock_guard<std::mutex> l(mu_);
  return static_cast<int>(
      std::count_if(records_.begin(), records_.end(),
                    [&](const WriteRecord& r) { return r.acked && (!port || r.port == *port); }));
}

FaultWrites AnalyzeFault(const std::vector<WriteRecord>& records, SteadyTime fault, int old_port,
                         int new_port) {
  FaultWrites f;
  std::vector<const WriteRecord*> acked;
  for (const auto& r : records) {
    if (!r.acked) continue;
    acked.push_back(&r);
    f.acked_ids.insert(r.id);
    if (r.port == old_port) f.acked_ids_old.insert(r.id);
    if (r.port == new_port) f.acked_ids_new.insert(r.id);
  }
  std::sort(acked.begin(), acked.end(),
            [](const WriteRecord* a, const WriteRecord* b) { return a->done < b->done; });
  std::optional<SteadyTime> last_before, first_after, first_new;
  for (const WriteRecord* r : acked) {
    if (r->done < fault) {
      ++f.acked_before;
      last_before = r->done;
    } else {
      ++f.acked_after;
      if (!first_after) first_after = r->done;
    }
    if (r->port == new_port && r->done >= fault && !first_new) {
      first_new = r->done;
      f.first_new_id = r->id;
    }
  }
  if (first_new) {
    for (const WriteRecord* r : acked) {
      if (r->port == old_port && r->done > *first_new) ++f.acked_by_old_after_new;
    }
    f.fault_to_new_master_ack = std::chrono::duration_cast<milliseconds>(*first_new - fault);
  }
  // The longest gap between consecutive acks from the last one before the fault up to the first
  // one by the new master (or the first one after the fault when the new master never acked):
  // writes acked by the old master's surviving backends right after the fault do not hide it.
  const std::optional<SteadyTime> end = first_new ? first_new : first_after;
  if (end) {
    SteadyTime prev = last_before.value_or(fault);
    milliseconds worst{0};
    for (const WriteRecord* r : acked) {
      if (r->done <= prev || r->done > *end) continue;
      worst = std::max(worst, std::chrono::duration_cast<milliseconds>(r->done - prev));
      prev = r->done;
    }
    f.unavailable = worst;
  }
  return f;
}

std::vector<int64_t> Missing(const std::set<int64_t>& acked, const std::set<int64_t>& present) {
  std::vector<int64_t> out;
  std::set_difference(acked.begin(), acked.end(), present.begin(), present.end(),
                      std::back_inserter(out));
  return out;
}

std::optional<std::set<int64_t>> ReadIds(const std::string& conninfo, const std::string& table) {
  Conn conn;
  conn.c = PQconnectdb(WithConnectTimeout(conninfo).c_str());
  if (PQstatus(conn.c) != CONNECTION_OK) return std::nullopt;
  PGresult* r = PQexec(conn.c, ("select id from " + table).c_str());
  std::optional<std::set<int64_t>> out;
  if (PQresultStatus(r) == PGRES_TUPLES_OK) {
    out.emplace();
    for (int i = 0; i < PQntuples(r); ++i) out->insert(std::stoll(PQgetvalue(r, i, 0)));
  }
  PQclear(r);
  return out;
}

}  // namespace stolon::testing
