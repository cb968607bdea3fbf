// ContinuousWriter: clients that insert one row every `interval` through a libpq endpoint
// (typically a stolon-proxy) from background threads, recording for every INSERT sent its id,
// when it was sent, when it finished, whether it was acknowledged and which server port
// acknowledged it (the INSERT returns inet_server_port()). HA tests use the records to check that
// acknowledged writes survive a fault and to measure how long writes were unavailable.
//
// Each worker owns one connection; a failed or timed-out statement drops the connection and the
// worker reconnects. Ids come from one counter shared by the workers and are never reused, so an
// INSERT whose outcome is unknown (timeout, broken connection) can never collide with a later one.
// Every wait is bounded (connect_timeout, a client-side statement deadline).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace stolon::testing {

using SteadyTime = std::chrono::steady_clock::time_point;

// One INSERT that was sent.
struct WriteRecord {
  int64_t id = 0;
  int worker = 0;
  SteadyTime sent;
  SteadyTime done;
  bool acked = false;  // the server returned the row: the commit is acknowledged
  int port = 0;        // inet_server_port() of the acknowledging server (acked only)
  std::string error;   // why it was not acknowledged (outcome unknown)
};

struct WriterOptions {
  // libpq conninfo of the endpoint, e.g. "host=127.0.0.1 port=N user=u password=p dbname=postgres".
  std::string conninfo;
  // Created (if missing) by Start() through `conninfo`: (id bigint primary key, at timestamptz).
  std::string table = "writes";
  int workers = 2;
  std::chrono::milliseconds interval{20};
  // Client-side bound on one INSERT (a frozen or blocked server); then the connection is dropped.
  std::chrono::milliseconds statement_deadline{4000};
};

class ContinuousWriter {
 public:
  explicit ContinuousWriter(WriterOptions options);
  // Stops the workers.
  ~ContinuousWriter();
  ContinuousWriter(const ContinuousWriter&) = delete;
  ContinuousWriter& operator=(const ContinuousWriter&) = delete;

  // Creates the table (retrying up to `timeout`), then starts the workers. Returns false (and does
  // not start) when the table could not be created.
  bool Start(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Stops and joins the workers (each finishes or abandons its current statement first).
  void Stop();

  // A copy of every record so far, in id order.
  std::vector<WriteRecord> Records() const;
  // Number of acknowledged writes so far (optionally only those acked by server `port`).
  int Acked(std::optional<int> port = std::nullopt) const;
  // Failed connection attempts so far (nothing was sent on them).
  int ConnectFailures() const { return connect_failures_.load(); }

 private:
  void Work(int worker);

  WriterOptions options_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> next_id_{1};
  std::atomic<int> connect_failures_{0};
  mutable std::mutex mu_;
  std::vector<WriteRecord> records_;  // guarded by mu_
  std::vector<std::thread> threads_;
};

// What the records say about one fault injected at `fault`.
struct FaultWrites {
  int acked_before = 0;                 // acked with done < fault
  int acked_after = 0;                  // acked with done >= fault
  int acked_by_old_after_new = 0;       // acked by `old_port` after the first ack from `new_port`
  std::optional<int64_t> first_new_id;  // the first write acked by `new_port`
  // The longest gap between consecutive acks from the last ack before the fault up to the first
  // ack by `new_port` (or the first ack after the fault if `new_port` never acked); nullopt when
  // nothing was acknowledged after the fault.
  std::optional<std::chrono::milliseconds> unavailable;
  // From the fault to the first ack by `new_port`.
  std::optional<std::chrono::milliseconds> fault_to_new_master_ack;
  std::set<int64_t> acked_ids;      // every acknowledged id
  std::set<int64_t> acked_ids_old;  // acknowledged by old_port
  std::set<int64_t> acked_ids_new;  // acknowledged by new_port
};
FaultWrites AnalyzeFault(const std::vector<WriteRecord>& records, SteadyTime fault, int old_port,
                         int new_port);

// Acknowledged ids in `acked` missing from `present`.
std::vector<int64_t> Missing(const std::set<int64_t>& acked, const std::set<int64_t>& present);

// Row ids of `table` read through `conninfo` (nullopt on error).
std::optional<std::set<int64_t>> ReadIds(const std::string& conninfo,
                                         const std::string& table = "writes");

}  // namespace stolon::testing
