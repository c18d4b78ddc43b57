// base/json_string.h: JSON string literals, header-only (shipped with the adapter SDK, whose
// appendJsonString is this one). The project's one JSON string escaper: mixs's status page and
// JSON logs, mixc, expr's JSON rendering, pilot's debug and rules endpoints and the adapters that
// write JSON (stdio, zipkin) all use it.
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>

#include "base/utf8.h"

namespace mixer::base {

// What appendJsonString escapes beyond what JSON requires ('"', '\\' and the control characters
// below U+0020). kHtmlSafe also writes '<', '>' and '&' as \u003c, \u003e and \u0026, as Go's
// encoding/json does, so the text can sit inside an HTML page's <script> without closing it.
enum class JsonEscaping { kMinimal, kHtmlSafe };

namespace json_internal {

struct EscapeTable {
  bool v[256] = {};
};

// True for the bytes to escape and for the bytes of multi-byte UTF-8, which are checked: JSON text
// is UTF-8, and a byte that does not start a well-formed sequence is written as \ufffd.
constexpr EscapeTable escapeTable(bool html_safe) {
  EscapeTable t;
  for (int c = 0; c < 0x20; ++c) {
    t.v[c] = true;
  }
  for (int c = 0x80; c < 0x100; ++c) {
    t.v[c] = true;
  }
  t.v[static_cast<unsigned char>('"')] = true;
  t.v[static_cast<unsigned char>('\\')] = true;
  if (html_safe) {
    t.v[static_cast<unsigned char>('<')] = true;
    t.v[static_cast<unsigned char>('>')] = true;
    t.v[static_cast<unsigned char>('&')] = true;
  }
  return t;
}

inline constexpr EscapeTable kMinimalTable = escapeTable(false);
inline constexpr EscapeTable kHtmlSafeTable = escapeTable(true);

// True when none of the eight bytes of `w` is to escape or check under kMinimal: all ASCII, none
// below 0x20, '"' or '\\'. (The test is exact.)
inline bool cleanWord(uint64_t w) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  const uint64_t quote = w ^ (kOnes * '"');
  const uint64_t backslash = w ^ (kOnes * '\\');
  return ((((w - kOnes * 0x20) & ~w) | ((quote - kOnes) & ~quote) |
           ((backslash - kOnes) & ~backslash) | w) &
          kHigh) == 0;
}

// Appends the escape of the byte(s) at *p (one that the table marks) and moves *p past them.
inline void appendEscape(const char** p, const char* end, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  const unsigned char c = static_cast<unsigned char>(**p);
  if (c >= 0x80) {
    const size_t n = utf8SequenceLength(reinterpret_cast<const unsigned char*>(*p),
                                        reinterpret_cast<const unsigned char*>(end));
    if (n == 0) {
      out->append("\\ufffd");
      ++*p;
    } else {
      out->append(*p, n);
      *p += n;
    }
    return;
  }
  ++*p;
  switch (c) {
    case '"':
      out->append("\\\"");
      break;
    case '\\':
      out->append("\\\\");
      break;
    case '\n':
      out->append("\\n");
      break;
    case '\r':
      out->append("\\r");
      break;
    case '\t':
      out->append("\\t");
      break;
    default: {
      const char u[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xf]};
      out->append(u, sizeof(u));
    }
  }
}

}  // namespace json_internal

// Appends `s` to `out` as a JSON string literal: quotes, backslashes and control characters
// escaped (\" \\ \n \r \t, the others as \u00XX), well-formed UTF-8 copied as it is, each byte
// that does not start a well-formed UTF-8 sequence written as \ufffd; with kHtmlSafe also '<',
// '>' and '&' as \u003c, \u003e, \u0026. Runs of bytes that need nothing are copied at once.
inline void appendJsonString(std::string_view s, std::string* out,
                             JsonEscaping escaping = JsonEscaping::kMinimal) {
  using json_internal::cleanWord;
  const bool html_safe = escaping == JsonEscaping::kHtmlSafe;
  const json_internal::EscapeTable& table =
      html_safe ? json_internal::kHtmlSafeTable : json_internal::kMinimalTable;
  // `s` may view `out` itself, whose buffer the resize below may move: such a string is copied.
  const std::less<const char*> before;
  if (!s.empty() && !before(s.data(), out->data()) &&
      before(s.data(), out->data() + out->capacity())) {
    const std::string copy(s);
    appendJsonString(copy, out, escaping);
    return;
  }
  const char* p = s.data();
  const char* const end = p + s.size();
  // Most strings need no escape: room for them and their quotes is made at once and they are
  // copied in; at the first byte to escape, the copy stops and the general loop goes on. (The
  // eight-byte test does not know the HTML characters, so kHtmlSafe goes byte by byte.)
  const size_t start = out->size();
  out->resize(start + s.size() + 2);
  char* d = out->data() + start;
  *d++ = '"';
  while (!html_safe && end - p >= 8) {
    uint64_t w;
    std::memcpy(&w, p, sizeof(w));
    if (!cleanWord(w)) {
      break;
    }
    std::memcpy(d, &w, sizeof(w));
    p += sizeof(w);
    d += sizeof(w);
  }
  while (p < end && !table.v[static_cast<unsigned char>(*p)]) {
    *d++ = *p++;
  }
  if (p == end) {
    *d = '"';
    return;
  }
  out->resize(static_cast<size_t>(d - out->data()));
  while (p < end) {
    const char* run = p;  // a run of bytes that need no escape, copied at once
    while (!html_safe && end - p >= 8) {
      uint64_t w;
      std::memcpy(&w, p, sizeof(w));
      if (!cleanWord(w)) {
        break;
      }
      p += sizeof(w);
    }
    while (p < end && !table.v[static_cast<unsigned char>(*p)]) {
      ++p;
    }
    out->append(run, static_cast<size_t>(p - run));
    if (p == end) {
      break;
    }
    json_internal::appendEscape(&p, end, out);
  }
  out->push_back('"');
}

// `s` as a JSON string literal (see appendJsonString).
inline std::string jsonQuote(std::string_view s, JsonEscaping escaping = JsonEscaping::kMinimal) {
  std::string out;
  out.reserve(s.size() + 2);
  appendJsonString(s, &out, escaping);
  return out;
}

}  // namespace mixer::base
