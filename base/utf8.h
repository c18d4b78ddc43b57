// base/utf8.h: UTF-8 validity, header-only: for text that arrives from clients (attribute values,
// quota names) and must not reach a log, a response or a JSON line as anything but valid UTF-8.
// Used by base/json_string.h, by mixs itself and (shipped with it) by the adapter SDK.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mixer::base {

// The length (1-4) of the well-formed UTF-8 sequence that starts at p[0], or 0 when the bytes
// there are not one (a stray continuation byte, a truncated sequence, an overlong form, a
// surrogate, or a code point above U+10FFFF): Unicode's table 3-7.
inline size_t utf8SequenceLength(const unsigned char* p, const unsigned char* end) {
  const unsigned char c = p[0];
  if (c < 0x80) return 1;
  auto cont = [&](size_t i, unsigned char lo = 0x80, unsigned char hi = 0xBF) {
    return p + i < end && p[i] >= lo && p[i] <= hi;
  };
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c == 0xE0) return cont(1, 0xA0) && cont(2) ? 3 : 0;
  if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) return cont(1) && cont(2) ? 3 : 0;
  if (c == 0xED) return cont(1, 0x80, 0x9F) && cont(2) ? 3 : 0;
  if (c == 0xF0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xF1 && c <= 0xF3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c == 0xF4) return cont(1, 0x80, 0x8F) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

// True when all of `s` is well-formed UTF-8.
inline bool isValidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* const end = p + s.size();
  while (p < end) {
    if (*p < 0x80) {
      ++p;
      continue;
    }
    const size_t n = utf8SequenceLength(p, end);
    if (n == 0) return false;
    p += n;
  }
  return true;
}

// Appends `s` to `out` with each byte that does not start a well-formed sequence replaced by
// U+FFFD (the replacement character), as WHATWG's decoder does.
inline void appendUtf8Sanitized(std::string_view s, std::string* out) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* const end = p + s.size();
  while (p < end) {
    const auto* run = p;
    size_t n = 0;
    while (p < end && (n = utf8SequenceLength(p, end)) != 0) p += n;
    out->append(reinterpret_cast<const char*>(run), static_cast<size_t>(p - run));
    if (p < end) {
      out->append("\xEF\xBF\xBD");
      ++p;
    }
  }
}

// `s` itself when it is well-formed, else a sanitized copy (see appendUtf8Sanitized).
inline std::string utf8Sanitized(std::string_view s) {
  std::string out;
  if (isValidUtf8(s)) return std::string(s);
  appendUtf8Sanitized(s, &out);
  return out;
}

}  // namespace mixer::base
