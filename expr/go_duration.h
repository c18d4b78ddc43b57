// Go's time.Duration text form: ParseDuration and Duration.String.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace expr {

// Whether a string parses as a Go duration ("10s", "1h30m", "-1.5ms", "0"); sets *nanos.
// Units ns, us/µs, ms, s, m, h; a bare number other than 0 is not a duration.
bool parseGoDuration(std::string_view s, int64_t* nanos);
// Go's Duration.String: "1h2m3s", "1.5s", "20ms", "1.5µs", "7ns", "0s".
std::string formatGoDuration(int64_t nanos);

}  // namespace expr
