// text.h: text helpers for adapters: Go duration parsing and formatting, RFC 3339 timestamps, IP
// address text and JSON string escaping. Independent of the adapter classes. Part of the
// header-only SDK; adapter.h includes it. The duration, timestamp and JSON code is the base
// library's (base/go_duration.h, base/rfc3339_format.h, base/json_string.h: header-only,
// installed with the SDK as include/mixer/base/).
#ifndef MIXER_ADAPTER_SDK_TEXT_H_
#define MIXER_ADAPTER_SDK_TEXT_H_

#include <arpa/inet.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "base/go_duration.h"
#include "base/json_string.h"
#include "base/rfc3339_format.h"
#include "mixer/adapter_sdk/utf8.h"

namespace mixer::adapter_sdk {

// Parses a Go duration, exactly as Go's time.ParseDuration does ("10s", "1.5ms", "1m30s",
// "250us", "250µs", "+5s", "0"): base/go_duration.h. Returns false on a malformed input and, as
// durations in adapter params are never negative, on a negative one ("-0s" is 0 and accepted).
inline bool parseDuration(std::string_view text, int64_t* out_ns) {
  int64_t ns = 0;
  if (!::mixer::base::parseGoDuration(text, &ns) || ns < 0) {
    return false;
  }
  *out_ns = ns;
  return true;
}

// Formats nanoseconds as Go's Duration.String() does ("1.5s", "250ms", "2m3s", "1h0m0s", "0s"):
// base/go_duration.h.
inline std::string formatDuration(int64_t ns) { return ::mixer::base::formatGoDuration(ns); }

// Appends a TIMESTAMP value (nanoseconds since the Unix epoch) as Go's time.RFC3339Nano prints it
// in UTC: "2023-11-14T22:13:20.5Z", the fraction's trailing zeros trimmed.
// base/rfc3339_format.h.
inline void appendTimestamp(int64_t unix_ns, std::string* out) {
  ::mixer::base::appendRfc3339(0, unix_ns, out);
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
// escaped, well-formed UTF-8 copied, each byte of ill-formed UTF-8 written as \ufffd. For
// adapters that write JSON (access logs, trace spans). base/json_string.h.
inline void appendJsonString(std::string_view s, std::string* out) {
  ::mixer::base::appendJsonString(s, out);
}

}  // namespace mixer::adapter_sdk

#endif  // MIXER_ADAPTER_SDK_TEXT_H_
