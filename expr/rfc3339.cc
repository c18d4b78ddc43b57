#include "expr/rfc3339.h"

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "expr/builtins_internal.h"
#include "expr/str_util.h"

namespace expr {

using internal::toAbslTime;

bool parseRfc3339(std::string_view s, Timestamp* out) {
  // Strict form: YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
      s[13] != ':' || s[16] != ':') {
    return false;
  }
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, std::string(s), &t, &err)) return false;
  int64_t sec = absl::ToUnixSeconds(t);
  int64_t ns = absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(sec));
  out->seconds = sec;
  out->nanos = static_cast<int32_t>(ns);
  return true;
}

std::string formatRfc3339(const Timestamp& ts) {
  absl::Time t = toAbslTime(ts);
  std::string s = absl::FormatTime("%Y-%m-%dT%H:%M:%S", t, absl::UTCTimeZone());
  if (ts.nanos != 0) {
    std::string f = absl::StrFormat("%09d", ts.nanos);
    while (!f.empty() && f.back() == '0') f.pop_back();
    strAppend(&s, ".", f);
  }
  s += "Z";
  return s;
}

}  // namespace expr
