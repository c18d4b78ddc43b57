// check_result.h: the route directive taken from a Check answer, durations in nanoseconds, and
// the HTTP status a proxy answers for a Check outcome.
#include "proxy-filter/core/check_result.h"

#include <gtest/gtest.h>

#include <limits>

namespace mixer::proxy {
namespace {

TEST(RouteDirectiveTest, AnEmptyDirectiveIsNull) {
  istio::mixer::v1::RouteDirective proto;
  EXPECT_EQ(RouteDirective::fromProto(proto), nullptr);
}

TEST(RouteDirectiveTest, OperationsKeepTheirOrderKindAndSide) {
  istio::mixer::v1::RouteDirective proto;
  auto* replace = proto.add_request_header_operations();
  replace->set_name("x-user");
  replace->set_value("jason");
  auto* append = proto.add_request_header_operations();
  append->set_name("x-trace");
  append->set_value("1");
  append->set_operation(istio::mixer::v1::HeaderOperation::APPEND);
  auto* remove = proto.add_response_header_operations();
  remove->set_name("server");
  remove->set_operation(istio::mixer::v1::HeaderOperation::REMOVE);
  const auto route = RouteDirective::fromProto(proto);
  ASSERT_NE(route, nullptr);
  ASSERT_EQ(route->request_header_operations.size(), 2u);
  EXPECT_EQ(route->request_header_operations[0].name, "x-user");
  EXPECT_EQ(route->request_header_operations[0].value, "jason");
  EXPECT_EQ(route->request_header_operations[0].kind, HeaderOperation::Kind::kReplace);
  EXPECT_EQ(route->request_header_operations[1].name, "x-trace");
  EXPECT_EQ(route->request_header_operations[1].kind, HeaderOperation::Kind::kAppend);
  ASSERT_EQ(route->response_header_operations.size(), 1u);
  EXPECT_EQ(route->response_header_operations[0].name, "server");
  EXPECT_EQ(route->response_header_operations[0].kind, HeaderOperation::Kind::kRemove);
  EXPECT_EQ(route->direct_response_code, 0u);
  EXPECT_EQ(route->direct_response_body, "");
}

TEST(RouteDirectiveTest, ADirectResponseAloneIsADirective) {
  istio::mixer::v1::RouteDirective proto;
  proto.set_direct_response_code(302);
  proto.set_direct_response_body("moved");
  const auto route = RouteDirective::fromProto(proto);
  ASSERT_NE(route, nullptr);
  EXPECT_EQ(route->direct_response_code, 302u);
  EXPECT_EQ(route->direct_response_body, "moved");
  EXPECT_TRUE(route->request_header_operations.empty());
  EXPECT_TRUE(route->response_header_operations.empty());
}

TEST(DurationNsTest, SecondsAndNanos) {
  google::protobuf::Duration d;
  d.set_seconds(2);
  d.set_nanos(5);
  EXPECT_EQ(durationNs(d), 2000000005);
  d.set_seconds(-1);
  d.set_nanos(-500000000);
  EXPECT_EQ(durationNs(d), -1500000000);
  EXPECT_EQ(durationNs(google::protobuf::Duration()), 0);
}

TEST(DurationNsTest, SaturatesAtTheInt64Range) {
  google::protobuf::Duration d;
  d.set_seconds(std::numeric_limits<int64_t>::max() / 10);
  EXPECT_EQ(durationNs(d), std::numeric_limits<int64_t>::max());
  d.set_seconds(std::numeric_limits<int64_t>::min() / 10);
  EXPECT_EQ(durationNs(d), std::numeric_limits<int64_t>::min());
  // 100 years still fits.
  d.set_seconds(3153600000);
  EXPECT_EQ(durationNs(d), 3153600000LL * 1000000000);
}

TEST(HttpStatusForTest, DenialsMapToTheirHttpStatus) {
  EXPECT_EQ(httpStatusFor(StatusCode::kOk), 200);
  EXPECT_EQ(httpStatusFor(StatusCode::kPermissionDenied), 403);
  EXPECT_EQ(httpStatusFor(StatusCode::kResourceExhausted), 429);
  EXPECT_EQ(httpStatusFor(StatusCode::kUnauthenticated), 401);
  // mixer_proxy.h lists 503 among the statuses the C API hands hosts: UNAVAILABLE.
  EXPECT_EQ(httpStatusFor(StatusCode::kUnavailable), 503);
  for (StatusCode other :
       {StatusCode::kCancelled, StatusCode::kUnknown, StatusCode::kInvalidArgument,
        StatusCode::kDeadlineExceeded, StatusCode::kFailedPrecondition, StatusCode::kInternal}) {
    EXPECT_EQ(httpStatusFor(other), 500) << static_cast<int>(other);
  }
}

TEST(CheckResultTest, OkIsTheOkCodeOnly) {
  CheckResult r;
  EXPECT_TRUE(r.ok());
  r.code = StatusCode::kPermissionDenied;
  EXPECT_FALSE(r.ok());
  r.code = StatusCode::kUnavailable;
  EXPECT_FALSE(r.ok());
}

}  // namespace
}  // namespace mixer::proxy
