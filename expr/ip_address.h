// IP addresses as Values hold them: raw network-order bytes, 4 (IPv4) or 16 (IPv6 or
// IPv4-mapped IPv6).
#pragma once

#include <string>
#include <string_view>

namespace expr {

// Go net.ParseIP semantics: IPv4 dotted quads and IPv6 text (no zone); the result is always
// 16 bytes (IPv4 as ::ffff:a.b.c.d).
bool parseIp(std::string_view s, std::string* bytes16);
// Go net.IP.String: dotted quad for 4-byte and IPv4-mapped addresses, RFC 5952 text for IPv6,
// "?N" for a byte string of any other length N.
std::string formatIp(std::string_view bytes);
// Whether `bytes` is a 4-byte address or an IPv4-mapped 16-byte one.
bool isIpv4(std::string_view bytes);

}  // namespace expr
