// base/go_duration.h: Go's time.Duration text form, header-only (shipped with the adapter SDK):
// parseGoDuration is Go's time.ParseDuration, formatGoDuration is Go's Duration.String. The one
// duration grammar of the project: config params, command-line flags, CEXL's duration(), mixc.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mixer::base {

namespace go_duration_internal {

inline constexpr uint64_t kLimit = uint64_t{1} << 63;  // |int64 min|: the largest magnitude

inline bool isDigit(char c) { return c >= '0' && c <= '9'; }

// Nanoseconds per unit; 0 for a unit Go does not know.
inline uint64_t unitNanos(std::string_view unit) {
  if (unit == "ns") return 1;
  // "us", U+00B5 MICRO SIGN and U+03BC GREEK SMALL LETTER MU.
  if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") return 1000;
  if (unit == "ms") return 1000 * 1000;
  if (unit == "s") return 1000 * 1000 * 1000;
  if (unit == "m") return uint64_t{60} * 1000 * 1000 * 1000;
  if (unit == "h") return uint64_t{3600} * 1000 * 1000 * 1000;
  return 0;
}

// Writes v in decimal ending just before buf[w]; returns the new start.
inline size_t putInt(char* buf, size_t w, uint64_t v) {
  if (v == 0) {
    buf[--w] = '0';
    return w;
  }
  while (v > 0) {
    buf[--w] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  return w;
}

// Writes the fraction of v / 10^prec (".5", nothing when it is 0) ending just before buf[w],
// without trailing zeros; sets *v to the integer part; returns the new start.
inline size_t putFraction(char* buf, size_t w, uint64_t* v, int prec) {
  bool print = false;
  for (int i = 0; i < prec; ++i) {
    const char digit = static_cast<char>(*v % 10);
    print = print || digit != 0;
    if (print) {
      buf[--w] = static_cast<char>('0' + digit);
    }
    *v /= 10;
  }
  if (print) {
    buf[--w] = '.';
  }
  return w;
}

}  // namespace go_duration_internal

// Parses Go's duration syntax exactly as time.ParseDuration does: an optional sign, then one or
// more decimal numbers, each with an optional fraction and a unit (ns, us, µs, μs, ms, s, m, h),
// e.g. "300ms", "-1.5h", "2h45m", ".5s", "1.s"; or "0" alone (also "+0", "-0"). No spaces, no
// exponents, no "inf". A fraction finer than a nanosecond is truncated, as Go does. Fails on
// anything else and on a magnitude beyond int64 nanoseconds (about 292 years); *nanos is then
// untouched.
inline bool parseGoDuration(std::string_view s, int64_t* nanos) {
  using namespace go_duration_internal;
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") {
    *nanos = 0;
    return true;
  }
  if (s.empty()) {
    return false;
  }
  uint64_t total = 0;
  while (!s.empty()) {
    if (!(s[0] == '.' || isDigit(s[0]))) {
      return false;
    }
    size_t i = 0;
    // The integer part.
    uint64_t v = 0;
    const size_t int_start = i;
    while (i < s.size() && isDigit(s[i])) {
      if (v > kLimit / 10) {
        return false;
      }
      v = v * 10 + static_cast<uint64_t>(s[i] - '0');
      if (v > kLimit) {
        return false;
      }
      ++i;
    }
    const bool have_int = i > int_start;
    // The fraction: digits past what fits are dropped (they are far below a nanosecond).
    uint64_t f = 0;
    double scale = 1;
    bool have_fraction = false;
    if (i < s.size() && s[i] == '.') {
      ++i;
      const size_t frac_start = i;
      bool full = false;
      while (i < s.size() && isDigit(s[i])) {
        if (!full) {
          const uint64_t next = f * 10 + static_cast<uint64_t>(s[i] - '0');
          if (f > (kLimit - 1) / 10 || next > kLimit) {
            full = true;
          } else {
            f = next;
            scale *= 10;
          }
        }
        ++i;
      }
      have_fraction = i > frac_start;
    }
    if (!have_int && !have_fraction) {
      return false;  // "." or ".s"
    }
    // The unit: everything up to the next number.
    size_t u = i;
    while (u < s.size() && s[u] != '.' && !isDigit(s[u])) {
      ++u;
    }
    const uint64_t unit = unitNanos(s.substr(i, u - i));
    if (unit == 0) {
      return false;  // missing or unknown
    }
    if (v > kLimit / unit) {
      return false;
    }
    v *= unit;
    if (f > 0) {
      // As Go: float64 keeps a fraction of an hour nanosecond-exact; the product is <= 3.6e12.
      v += static_cast<uint64_t>(static_cast<double>(f) * (static_cast<double>(unit) / scale));
      if (v > kLimit) {
        return false;
      }
    }
    total += v;
    if (total > kLimit) {
      return false;
    }
    s.remove_prefix(u);
  }
  if (!negative && total > kLimit - 1) {
    return false;  // 2^63 ns fits only as a negative duration
  }
  *nanos = negative ? static_cast<int64_t>(0 - total) : static_cast<int64_t>(total);
  return true;
}

// The same, as an optional.
inline std::optional<int64_t> parseGoDuration(std::string_view s) {
  int64_t nanos = 0;
  if (!parseGoDuration(s, &nanos)) {
    return std::nullopt;
  }
  return nanos;
}

// Formats as Go's Duration.String(): "0s", "7ns", "1.5µs" (U+00B5), "1.5ms", "1.5s", "1m0s",
// "2h0m0s", "1h2m3.5s", "-1m0s". Under a second the unit is ns, µs or ms, whichever keeps the
// integer part non-zero; from a second on it is h/m/s with the zero-valued smaller units
// written out, and the seconds' fraction trimmed of trailing zeros.
inline std::string formatGoDuration(int64_t nanos) {
  using namespace go_duration_internal;
  char buf[32];
  size_t w = sizeof(buf);
  const bool negative = nanos < 0;
  uint64_t u = negative ? 0 - static_cast<uint64_t>(nanos) : static_cast<uint64_t>(nanos);
  if (u < 1000 * 1000 * 1000) {
    if (u == 0) {
      return "0s";
    }
    int prec;
    buf[--w] = 's';
    if (u < 1000) {
      prec = 0;
      buf[--w] = 'n';
    } else if (u < 1000 * 1000) {
      prec = 3;
      buf[--w] = '\xB5';  // U+00B5 in UTF-8: C2 B5
      buf[--w] = '\xC2';
    } else {
      prec = 6;
      buf[--w] = 'm';
    }
    w = putFraction(buf, w, &u, prec);
    w = putInt(buf, w, u);
  } else {
    buf[--w] = 's';
    w = putFraction(buf, w, &u, 9);
    w = putInt(buf, w, u % 60);  // u is now whole seconds
    u /= 60;
    if (u > 0) {
      buf[--w] = 'm';
      w = putInt(buf, w, u % 60);
      u /= 60;
      if (u > 0) {
        buf[--w] = 'h';
        w = putInt(buf, w, u);
      }
    }
  }
  if (negative) {
    buf[--w] = '-';
  }
  return std::string(buf + w, sizeof(buf) - w);
}

}  // namespace mixer::base
