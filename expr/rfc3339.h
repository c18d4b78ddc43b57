// RFC 3339 timestamps, as Go's time.RFC3339Nano parses and prints them.
#pragma once

#include <string>
#include <string_view>

#include "expr/value.h"

namespace expr {

// Strict YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM); the result is in UTC.
bool parseRfc3339(std::string_view s, Timestamp* out);
// UTC with a "Z" suffix and the fraction trimmed of trailing zeros.
std::string formatRfc3339(const Timestamp& ts);

}  // namespace expr
