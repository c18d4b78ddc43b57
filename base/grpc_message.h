// gRPC's grpc-message trailer is percent-encoded (gRPC's PROTOCOL-HTTP2): bytes outside printable
// ASCII, and '%' itself, travel as %XX. The encoder (mixs' lean port) and the decoder (the proxy
// library's lean transport) in one place. Header-only, standard library only.
#pragma once

#include <string>
#include <string_view>

namespace mixer::base {

// `message` as a grpc-message value: printable ASCII but '%' as it is, every other byte %XX.
inline std::string percentEncodeGrpcMessage(std::string_view message) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(message.size());
  for (const char ch : message) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c <= 0x7E && c != '%') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

// A grpc-message value decoded: each %XX (either case) becomes its byte; a '%' not followed by two
// hex digits stays as it is, as gRPC's own decoder leaves it.
inline std::string percentDecodeGrpcMessage(std::string_view value) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(value.size());
  for (size_t i = 0; i < value.size(); ++i) {
    const int high = value[i] == '%' && i + 2 < value.size() ? hex(value[i + 1]) : -1;
    const int low = high >= 0 ? hex(value[i + 2]) : -1;
    if (low >= 0) {
      out.push_back(static_cast<char>(high * 16 + low));
      i += 2;
    } else {
      out.push_back(value[i]);
    }
  }
  return out;
}

}  // namespace mixer::base
