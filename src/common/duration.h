// Go-style duration strings ("300ms", "5s", "1m30s", "48h0m0s"), the wire format of stolon's
// clusterdata and of its duration flags.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace stolon {

using Duration = std::chrono::nanoseconds;

// Formats like Go's time.Duration.String(): "0s", "1.5µs", "300ms", "1.5s", "1m30s", "48h0m0s".
std::string FormatGoDuration(Duration d);

// Parses Go's duration syntax: an optional sign, then one or more <decimal number><unit> with
// units ns, us, µs, ms, s, m, h ("1h30m", "1.5s", "-2m"). A bare "0" is accepted as Go does.
// Anything else ("5", "5 s", "", "1x") is InvalidArgument naming the input.
absl::StatusOr<Duration> ParseGoDuration(std::string_view s);

}  // namespace stolon
