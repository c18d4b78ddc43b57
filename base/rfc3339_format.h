// base/rfc3339_format.h: RFC 3339 timestamps printed as Go's time.RFC3339Nano prints them, in UTC
// ("2023-11-14T22:13:20.5Z"). Header-only and standard-library-only, so the adapter SDK ships it
// (base/CMakeLists.txt) and a log line's timestamp costs no libc or absl formatting. Parsing is in
// base/rfc3339.h (absl time; not shipped with the SDK), whose formatRfc3339 calls this.
#pragma once

#include <charconv>
#include <cstdint>
#include <string>

namespace mixer::base {

// Appends seconds and nanos (0..999999999) since the Unix epoch as "YYYY-MM-DDTHH:MM:SS[.f]Z":
// the year padded to four digits ("0001-01-01T00:00:00Z"; a year outside 0..9999 printed as its
// number), the fraction trimmed of trailing zeros and left out when zero. Nanos outside
// 0..999999999 are carried into the seconds.
inline void appendRfc3339(int64_t seconds, int64_t nanos, std::string* out) {
  seconds += nanos / 1'000'000'000;
  nanos %= 1'000'000'000;
  if (nanos < 0) {
    nanos += 1'000'000'000;
    --seconds;
  }
  int64_t days = seconds / 86400;
  int64_t rem = seconds % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  // The civil date of a count of days since 1970-01-01 (proleptic Gregorian), by Howard Hinnant's
  // days-to-civil algorithm: eras of 400 years, years starting on March 1.
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  char buf[64];
  char* p = buf;
  auto two = [&p](int64_t v) {
    *p++ = static_cast<char>('0' + v / 10);
    *p++ = static_cast<char>('0' + v % 10);
  };
  if (year >= 0 && year <= 9999) {
    two(year / 100);
    two(year % 100);
  } else {
    p = std::to_chars(p, buf + 32, year).ptr;
  }
  *p++ = '-';
  two(month);
  *p++ = '-';
  two(day);
  *p++ = 'T';
  two(rem / 3600);
  *p++ = ':';
  two(rem / 60 % 60);
  *p++ = ':';
  two(rem % 60);
  if (nanos != 0) {
    *p++ = '.';
    char* digits = p;
    for (int64_t unit = 100'000'000; unit > 0; unit /= 10) {
      *p++ = static_cast<char>('0' + nanos / unit % 10);
    }
    while (p > digits && p[-1] == '0') {
      --p;
    }
  }
  *p++ = 'Z';
  out->append(buf, static_cast<size_t>(p - buf));
}

}  // namespace mixer::base
