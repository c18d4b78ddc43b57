// gRPC status codes by name: the numbers google.rpc.Code and grpc::StatusCode share (0..16), and
// the names gRPC and Istio write them with ("PERMISSION_DENIED"). The one table of the project.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace mixer {

inline constexpr std::string_view kGrpcCodeNames[] = {
    "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
    "DATA_LOSS", "UNAUTHENTICATED"};

// "PERMISSION_DENIED" for 7; "" for a number outside 0..16.
inline std::string_view grpcCodeName(int64_t code) {
  return code >= 0 && code < static_cast<int64_t>(std::size(kGrpcCodeNames)) ? kGrpcCodeNames[code]
                                                                             : std::string_view();
}

// 7 for "PERMISSION_DENIED"; nullopt for any other text (names are matched exactly).
inline std::optional<uint32_t> grpcCodeByName(std::string_view name) {
  for (uint32_t i = 0; i < std::size(kGrpcCodeNames); ++i) {
    if (kGrpcCodeNames[i] == name) return i;
  }
  return std::nullopt;
}

}  // namespace mixer
