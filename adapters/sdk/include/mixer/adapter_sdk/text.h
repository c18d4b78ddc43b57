// text.h: text helpers for adapters: Go-style duration parsing, IP address text and JSON string
// escaping. Independent of the adapter classes (the host and tools use them too). Part of the
// header-only SDK; adapter.h includes it.
#ifndef MIXER_ADAPTER_SDK_TEXT_H_
#define MIXER_ADAPTER_SDK_TEXT_H_

#include <arpa/inet.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>

#include "mixer/adapter_sdk/utf8.h"

namespace mixer::adapter_sdk {

// Parses a Go-style duration ("10s", "1.5ms", "1m30s", "250us", "0"). Returns false on a malformed
// or negative input.
inline bool parseDuration(std::string_view text, int64_t* out_ns) {
  if (text == "0") {
    *out_ns = 0;
    return true;
  }
  if (text.empty()) {
    return false;
  }
  double total = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) {
      ++i;
    }
    if (start == i) {
      return false;
    }
    double number = 0;
    try {
      const std::string digits(text.substr(start, i - start));
      size_t used = 0;
      number = std::stod(digits, &used);
      if (used != digits.size()) {
        return false;  // e.g. "1..5"
      }
    } catch (...) {
      return false;
    }
    size_t unit_start = i;
    while (i < text.size() &&
           ((text[i] >= 'a' && text[i] <= 'z') || text[i] == '\xc2' || text[i] == '\xb5')) {
      ++i;
    }
    std::string_view unit = text.substr(unit_start, i - unit_start);
    double scale = 0;
    if (unit == "ns") {
      scale = 1;
    } else if (unit == "us" || unit == "\xc2\xb5s") {
      scale = 1e3;
    } else if (unit == "ms") {
      scale = 1e6;
    } else if (unit == "s") {
      scale = 1e9;
    } else if (unit == "m") {
      scale = 60e9;
    } else if (unit == "h") {
      scale = 3600e9;
    } else {
      return false;
    }
    total += number * scale;
  }
  if (total > 9.2e18) {
    return false;
  }
  *out_ns = static_cast<int64_t>(total);
  return true;
}

// Appends the text of an IP address given as its 4 or 16 network-order bytes (how IP_ADDRESS
// values cross the ABI): a dotted quad for IPv4, inet_ntop's form for IPv6; with `mapped_as_v4`
// an IPv4-mapped IPv6 address (::ffff:a.b.c.d, as ip("a.b.c.d") yields) prints dotted, as Go's
// net.IP.String() does. Bytes of another length are appended as they are.
inline void appendIpAddress(std::string_view raw, std::string* out, bool mapped_as_v4 = false) {
  static constexpr char kV4Prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '\xff', '\xff'};
  if (mapped_as_v4 && raw.size() == 16 && raw.substr(0, 12) == std::string_view(kV4Prefix, 12)) {
    raw = raw.substr(12);
  }
  if (raw.size() == 4) {
    char buf[16];
    char* p = buf;
    for (size_t i = 0; i < 4; ++i) {
      const unsigned v = static_cast<unsigned char>(raw[i]);
      if (i > 0) {
        *p++ = '.';
      }
      if (v >= 100) {
        *p++ = static_cast<char>('0' + v / 100);
      }
      if (v >= 10) {
        *p++ = static_cast<char>('0' + v / 10 % 10);
      }
      *p++ = static_cast<char>('0' + v % 10);
    }
    out->append(buf, static_cast<size_t>(p - buf));
    return;
  }
  char buf[INET6_ADDRSTRLEN];
  if (raw.size() == 16 && inet_ntop(AF_INET6, raw.data(), buf, sizeof(buf)) != nullptr) {
    out->append(buf);
    return;
  }
  out->append(raw);
}

// Appends `s` to `out` as a JSON string literal: quotes, backslashes and control characters
// escaped, everything else (UTF-8 included) copied in runs. For adapters that write JSON
// (access logs, trace spans).
inline void appendJsonString(std::string_view s, std::string* out) {
  // True for the bytes JSON requires escaped (control characters, '"' and '\\') and for the
  // bytes of multi-byte UTF-8, which are checked: JSON text is UTF-8, and a byte that does not
  // start a well-formed sequence is written as \ufffd.
  static constexpr auto kEscape = [] {
    struct Table {
      bool v[256] = {};
    } t;
    for (int c = 0; c < 0x20; ++c) {
      t.v[c] = true;
    }
    for (int c = 0x80; c < 0x100; ++c) {
      t.v[c] = true;
    }
    t.v[static_cast<unsigned char>('"')] = true;
    t.v[static_cast<unsigned char>('\\')] = true;
    return t;
  }();
  static constexpr char kHex[] = "0123456789abcdef";
  // Eight bytes at a time while all of them are ASCII and none is below 0x20, '"' or '\\' (the
  // tests are exact: a word that passes holds no byte to escape or check).
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  auto clean = [](uint64_t w) {
    const uint64_t quote = w ^ (kOnes * '"');
    const uint64_t backslash = w ^ (kOnes * '\\');
    return ((((w - kOnes * 0x20) & ~w) | ((quote - kOnes) & ~quote) |
             ((backslash - kOnes) & ~backslash) | w) &
            kHigh) == 0;
  };
  // `s` may view `out` itself, whose buffer the resize below may move: such a string is copied.
  const std::less<const char*> before;
  if (!s.empty() && !before(s.data(), out->data()) &&
      before(s.data(), out->data() + out->capacity())) {
    const std::string copy(s);
    appendJsonString(copy, out);
    return;
  }
  const char* p = s.data();
  const char* const end = p + s.size();
  // Most strings need no escape: room for them and their quotes is made at once and they are
  // copied in; at the first byte to escape, the copy stops and the general loop goes on.
  const size_t start = out->size();
  out->resize(start + s.size() + 2);
  char* d = out->data() + start;
  *d++ = '"';
  while (end - p >= 8) {
    uint64_t w;
    std::memcpy(&w, p, sizeof(w));
    if (!clean(w)) {
      break;
    }
    std::memcpy(d, &w, sizeof(w));
    p += sizeof(w);
    d += sizeof(w);
  }
  while (p < end && !kEscape.v[static_cast<unsigned char>(*p)]) {
    *d++ = *p++;
  }
  if (p == end) {
    *d = '"';
    return;
  }
  out->resize(static_cast<size_t>(d - out->data()));
  while (p < end) {
    const char* run = p;  // a run of bytes that need no escape, copied at once
    while (end - p >= 8) {
      uint64_t w;
      std::memcpy(&w, p, sizeof(w));
      if (!clean(w)) {
        break;
      }
      p += sizeof(w);
    }
    while (p < end && !kEscape.v[static_cast<unsigned char>(*p)]) {
      ++p;
    }
    out->append(run, static_cast<size_t>(p - run));
    if (p == end) {
      break;
    }
    const unsigned char c = static_cast<unsigned char>(*p);
    if (c >= 0x80) {
      const size_t n = utf8SequenceLength(reinterpret_cast<const unsigned char*>(p),
                                          reinterpret_cast<const unsigned char*>(end));
      if (n == 0) {
        out->append("\\ufffd");
        ++p;
      } else {
        out->append(p, n);
        p += n;
      }
      continue;
    }
    ++p;
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
  out->push_back('"');
}

}  // namespace mixer::adapter_sdk

#endif  // MIXER_ADAPTER_SDK_TEXT_H_
