// gRPC status codes: the numbers google.rpc.Code and grpc::StatusCode share (0..16), as one enum,
// and the names gRPC and Istio write them with ("PERMISSION_DENIED"). The one table of the
// project: the adapter SDK's `Code` and the proxy library's `StatusCode` are this enum.
// Header-only and standard-library-only: the adapter SDK ships it (base/CMakeLists.txt).
#pragma once

#include <cstdint>
#include <iterator>
#include <optional>
#include <string_view>

namespace mixer::base {

enum class GrpcCode : int32_t {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
  kUnauthenticated = 16,
};

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
inline std::string_view grpcCodeName(GrpcCode code) {
  return grpcCodeName(static_cast<int64_t>(code));
}

// 7 for "PERMISSION_DENIED"; nullopt for any other text (names are matched exactly).
inline std::optional<uint32_t> grpcCodeByName(std::string_view name) {
  for (uint32_t i = 0; i < std::size(kGrpcCodeNames); ++i) {
    if (kGrpcCodeNames[i] == name) return i;
  }
  return std::nullopt;
}

}  // namespace mixer::base
