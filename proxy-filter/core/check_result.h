// The outcome of a Check as the host applies it: a google.rpc code, its message, and the route
// directive (header operations, direct response) the server attached.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/grpc_codes.h"
#include "mixer/v1/mixer.pb.h"

namespace mixer::proxy {

// google.rpc.Code values (the base library's enum); httpStatusFor() maps them to HTTP statuses.
using StatusCode = base::GrpcCode;

struct HeaderOperation {
  enum class Kind { kReplace = 0, kRemove = 1, kAppend = 2 };
  std::string name;
  std::string value;
  Kind kind = Kind::kReplace;
};

// Immutable once built; shared between the cache and the requests that hit it.
struct RouteDirective {
  std::vector<HeaderOperation> request_header_operations;
  std::vector<HeaderOperation> response_header_operations;
  uint32_t direct_response_code = 0;  // 0 = none
  std::string direct_response_body;

  // nullptr when the directive is empty (the common case).
  static std::shared_ptr<const RouteDirective> fromProto(
      const istio::mixer::v1::RouteDirective& proto);
};

struct CheckResult {
  StatusCode code = StatusCode::kOk;
  std::string message;
  std::shared_ptr<const RouteDirective> route;  // nullptr = nothing to apply

  bool ok() const { return code == StatusCode::kOk; }
};

// A protobuf Duration in nanoseconds, saturated to the int64 range (servers send what they send).
int64_t durationNs(const google::protobuf::Duration& d);

// The HTTP status a proxy answers for a Check's code: 200 for OK; 403 PERMISSION_DENIED, 429
// RESOURCE_EXHAUSTED, 401 UNAUTHENTICATED, 503 UNAVAILABLE; 500 for anything else (hosts decide
// transport failures through the fail policy before asking).
int httpStatusFor(StatusCode code);

}  // namespace mixer::proxy
