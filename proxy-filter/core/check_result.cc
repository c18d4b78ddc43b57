#include "proxy-filter/core/check_result.h"

#include <limits>

namespace mixer::proxy {
namespace {

std::vector<HeaderOperation> operations(
    const google::protobuf::RepeatedPtrField<istio::mixer::v1::HeaderOperation>& in) {
  std::vector<HeaderOperation> out;
  out.reserve(in.size());
  for (const auto& op : in) {
    out.push_back({op.name(), op.value(), static_cast<HeaderOperation::Kind>(op.operation())});
  }
  return out;
}

}  // namespace

std::shared_ptr<const RouteDirective> RouteDirective::fromProto(
    const istio::mixer::v1::RouteDirective& proto) {
  if (proto.request_header_operations().empty() && proto.response_header_operations().empty() &&
      proto.direct_response_code() == 0) {
    return nullptr;
  }
  auto route = std::make_shared<RouteDirective>();
  route->request_header_operations = operations(proto.request_header_operations());
  route->response_header_operations = operations(proto.response_header_operations());
  route->direct_response_code = proto.direct_response_code();
  route->direct_response_body = proto.direct_response_body();
  return route;
}

int64_t durationNs(const google::protobuf::Duration& d) {
  constexpr int64_t kMaxSeconds = std::numeric_limits<int64_t>::max() / 1000000000 - 1;
  if (d.seconds() > kMaxSeconds) {
    return std::numeric_limits<int64_t>::max();
  }
  if (d.seconds() < -kMaxSeconds) {
    return std::numeric_limits<int64_t>::min();
  }
  return d.seconds() * 1000000000 + d.nanos();
}

int httpStatusFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return 200;
    case StatusCode::kPermissionDenied:
      return 403;
    case StatusCode::kResourceExhausted:
      return 429;
    case StatusCode::kUnauthenticated:
      return 401;
    case StatusCode::kUnavailable:
      return 503;
    default:
      return 500;
  }
}

}  // namespace mixer::proxy
