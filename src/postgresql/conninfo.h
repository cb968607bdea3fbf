// libpq connection strings the way stolon builds and compares them (primary_conninfo, the
// pg_basebackup/pg_rewind source, the local connections).
#pragma once

#include <map>
#include <string>

#include "absl/status/statusor.h"

namespace stolon::postgresql {

// Connection parameters by keyword (host, port, user, password, dbname, application_name...).
using ConnParams = std::map<std::string, std::string>;

// Builds a libpq keyword/value string: `k=v` pairs sorted by their text and joined by single
// spaces; in values, space, ' and \ are escaped with a backslash; empty values are dropped.
// The output is reproducible so two conninfos can be compared as strings.
std::string ConnString(const ConnParams& params);

// Parses a libpq keyword/value string (unquoted values with backslash escapes, or '...' quoted
// values). Errors are InvalidArgument naming the problem (missing "=", unterminated quote).
absl::StatusOr<ConnParams> ParseConnString(const std::string& conninfo);

}  // namespace stolon::postgresql
