// Time formats shared by the CLI and the logs: Go-style durations ("1m0s", "1.5s", "20ms") and
// RFC 3339 timestamps, as Istio's tools print and parse them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mixer {

// Formats like Go's time.Duration.String(): "0s", "1.5s", "20ms", "1h2m3s", "-1m0s".
std::string formatGoDuration(int64_t nanos);
// Parses Go's time.ParseDuration syntax: "300ms", "-1.5h", "2h45m", "1us", "1µs". Range +-292y.
std::optional<int64_t> parseGoDuration(std::string_view s);

// Parses RFC 3339 ("2015-01-02T15:04:35Z", "2015-01-02T15:04:35.123+01:00") to seconds and nanos
// since the Unix epoch (UTC).
bool parseRfc3339(std::string_view s, int64_t* seconds, int32_t* nanos);
// Formats as RFC 3339 in UTC, with only as many fractional digits as needed ("...T15:04:35Z").
std::string formatRfc3339(int64_t seconds, int32_t nanos);

}  // namespace mixer
