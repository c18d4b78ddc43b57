// base/rfc3339.h: RFC 3339 timestamps as Go's time.RFC3339Nano parses and prints them, in
// seconds and nanoseconds since the Unix epoch (UTC). Parsing is built on absl's time library
// (compiled into mixer_base; not part of the header-only pieces the adapter SDK ships); formatting
// is the header-only appendRfc3339 (base/rfc3339_format.h), which the SDK ships.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/rfc3339_format.h"

namespace mixer::base {

// Parses the strict form YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM): every field its exact
// number of digits, a real calendar date, seconds 00-59, an offset of at most 23:59 ('t' and 'z'
// are accepted for 'T' and 'Z', as RFC 3339 allows). Digits of the fraction past nanoseconds are
// truncated. Sets *seconds and *nanos (0..999999999) of the UTC instant; false, leaving them
// untouched, on anything else.
bool parseRfc3339(std::string_view s, int64_t* seconds, int32_t* nanos);

// Formats in UTC as "YYYY-MM-DDTHH:MM:SS[.fraction]Z": the year padded to four digits
// ("0001-01-01T00:00:00Z"), the fraction (nanos, 0..999999999) trimmed of trailing zeros and left
// out when zero. appendRfc3339 appends the same text to a string.
std::string formatRfc3339(int64_t seconds, int32_t nanos);

}  // namespace mixer::base
