#include "base/rfc3339.h"

#include "absl/time/time.h"

namespace mixer::base {
namespace {

bool isDigit(char c) { return c >= '0' && c <= '9'; }

// The two-digit number at s[pos] (the caller has checked the digits).
int twoDigits(std::string_view s, size_t pos) { return (s[pos] - '0') * 10 + (s[pos + 1] - '0'); }

// Whether `s` has the strict shape (absl::ParseTime alone accepts more: second 60, "+0100" and
// "+01" offsets, years of other widths).
bool hasStrictShape(std::string_view s) {
  // "YYYY-MM-DDTHH:MM:SS", then an optional fraction, then the zone.
  static constexpr std::string_view kShape = "dddd-dd-ddTdd:dd:dd";
  if (s.size() < kShape.size() + 1) {
    return false;
  }
  for (size_t i = 0; i < kShape.size(); ++i) {
    const char want = kShape[i];
    if (want == 'd' ? !isDigit(s[i]) : want == 'T' ? (s[i] != 'T' && s[i] != 't') : s[i] != want) {
      return false;
    }
  }
  if (twoDigits(s, 17) > 59) {
    return false;
  }
  size_t pos = kShape.size();
  if (s[pos] == '.') {
    const size_t start = ++pos;
    while (pos < s.size() && isDigit(s[pos])) {
      ++pos;
    }
    if (pos == start) {
      return false;
    }
  }
  const std::string_view zone = s.substr(pos);
  if (zone == "Z" || zone == "z") {
    return true;
  }
  return zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && isDigit(zone[1]) &&
         isDigit(zone[2]) && zone[3] == ':' && isDigit(zone[4]) && isDigit(zone[5]) &&
         twoDigits(zone, 1) <= 23 && twoDigits(zone, 4) <= 59;
}

}  // namespace

bool parseRfc3339(std::string_view s, int64_t* seconds, int32_t* nanos) {
  if (!hasStrictShape(s)) {
    return false;
  }
  absl::Time t;
  std::string error;
  // absl checks the calendar (no February 30) and applies the offset.
  if (!absl::ParseTime(absl::RFC3339_full, std::string(s), &t, &error)) {
    return false;
  }
  const int64_t whole = absl::ToUnixSeconds(t);  // floors: the fraction is never negative
  *seconds = whole;
  *nanos = static_cast<int32_t>(absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(whole)));
  return true;
}

std::string formatRfc3339(int64_t seconds, int32_t nanos) {
  std::string out;
  appendRfc3339(seconds, nanos, &out);
  return out;
}

}  // namespace mixer::base
