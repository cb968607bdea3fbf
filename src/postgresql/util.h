// Small parsers shared by the postgresql package: versions, LSNs, WAL file names, timeline
// history files. Pure functions.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "cluster/cluster.h"

namespace stolon::postgresql {

// PostgreSQL major/minor version ("15.4" -> {15, 4}; "9.6" -> {9, 6}).
struct PGVersion {
  int maj = 0;
  int min = 0;
  bool operator==(const PGVersion&) const = default;
  // True when this version is >= maj.min.
  bool AtLeast(int maj_, int min_ = 0) const { return maj > maj_ || (maj == maj_ && min >= min_); }
};

// The default (and only supported) WAL segment size.
inline constexpr uint64_t kWalSegSize = 16 * 1024 * 1024;

// Parses "X.Y" (or "X"). InvalidArgument on anything else.
absl::StatusOr<PGVersion> ParseVersion(const std::string& v);
// Parses `postgres -V` output ("postgres (PostgreSQL) 15.4 (Debian 15.4-1)").
absl::StatusOr<PGVersion> ParseBinaryVersion(const std::string& v);

// "X/Y" (hex) -> X<<32 | Y. InvalidArgument on a malformed LSN.
absl::StatusOr<uint64_t> ParseLsn(const std::string& lsn);
// The inverse of ParseLsn ("0/3000060").
std::string FormatLsn(uint64_t pos);

// True for a 24-char upper-case hex name (a WAL segment file).
bool IsWalFileName(const std::string& name);
// The segment name without timeline ("XXXXXXXXYYYYYYYY") holding the given position.
std::string XlogPosToWalFileNameNoTimeline(uint64_t xlog_pos);
// Drops the 8-char timeline prefix of a WAL file name. InvalidArgument if not a WAL file name.
absl::StatusOr<std::string> WalFileNameNoTimeline(const std::string& name);

// Parses the content of a timeline history file: one "<tli>\t<X/Y>\t<reason>" line per past
// timeline; blank and comment lines are skipped. InvalidArgument naming the bad line.
absl::StatusOr<cluster::TimelinesHistory> ParseTimelinesHistory(const std::string& content);

}  // namespace stolon::postgresql
