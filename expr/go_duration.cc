#include "expr/go_duration.h"

#include "expr/str_util.h"

namespace expr {

bool parseGoDuration(std::string_view s, int64_t* nanos) {
  // Go's time.ParseDuration grammar: [-+]?([0-9]*(\.[0-9]*)?[a-z]+)+ or "0".
  if (s.empty()) return false;
  std::string_view rest = s;
  bool neg = false;
  if (rest[0] == '-' || rest[0] == '+') {
    neg = rest[0] == '-';
    rest.remove_prefix(1);
  }
  if (rest == "0") {
    *nanos = 0;
    return true;
  }
  if (rest.empty()) return false;
  long double total = 0;
  while (!rest.empty()) {
    size_t i = 0;
    long double v = 0;
    bool digits = false;
    while (i < rest.size() && rest[i] >= '0' && rest[i] <= '9') {
      v = v * 10 + (rest[i] - '0');
      ++i;
      digits = true;
    }
    if (i < rest.size() && rest[i] == '.') {
      ++i;
      long double scale = 0.1L;
      while (i < rest.size() && rest[i] >= '0' && rest[i] <= '9') {
        v += (rest[i] - '0') * scale;
        scale /= 10;
        ++i;
        digits = true;
      }
    }
    if (!digits) return false;
    size_t u = i;
    while (u < rest.size() && !(rest[u] >= '0' && rest[u] <= '9') && rest[u] != '.') ++u;
    std::string_view unit = rest.substr(i, u - i);
    long double mult;
    if (unit == "ns")
      mult = 1;
    else if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs")
      mult = 1e3L;
    else if (unit == "ms")
      mult = 1e6L;
    else if (unit == "s")
      mult = 1e9L;
    else if (unit == "m")
      mult = 60e9L;
    else if (unit == "h")
      mult = 3600e9L;
    else
      return false;
    total += v * mult;
    rest.remove_prefix(u);
  }
  if (total > 9223372036854775807.0L) return false;
  *nanos = static_cast<int64_t>(neg ? -total : total);
  return true;
}

std::string formatGoDuration(int64_t nanos) {
  // Go's time.Duration.String.
  bool neg = nanos < 0;
  uint64_t u = neg ? 0 - static_cast<uint64_t>(nanos) : static_cast<uint64_t>(nanos);
  auto frac = [](uint64_t v, int prec, std::string* digits) {
    // Returns v / 10^prec and sets the trimmed fractional digits (with the dot).
    std::string f;
    bool print = false;
    for (int i = 0; i < prec; ++i) {
      int d = static_cast<int>(v % 10);
      print = print || d != 0;
      if (print) f.insert(f.begin(), static_cast<char>('0' + d));
      v /= 10;
    }
    *digits = f.empty() ? "" : "." + f;
    return v;
  };
  std::string out;
  if (u < 1000000000ULL) {
    if (u == 0) return "0s";
    std::string unit, digits;
    int prec;
    if (u < 1000ULL) {
      prec = 0;
      unit = "ns";
    } else if (u < 1000000ULL) {
      prec = 3;
      unit = "\xC2\xB5s";
    } else {
      prec = 6;
      unit = "ms";
    }
    uint64_t whole = frac(u, prec, &digits);
    out = strCat(whole, digits, unit);
  } else {
    std::string digits;
    uint64_t secs = frac(u, 9, &digits);
    out = strCat(secs % 60, digits, "s");
    uint64_t mins = secs / 60;
    if (mins > 0) {
      out = strCat(mins % 60, "m", out);
      uint64_t hours = mins / 60;
      if (hours > 0) out = strCat(hours, "h", out);
    }
  }
  return neg ? "-" + out : out;
}

}  // namespace expr
