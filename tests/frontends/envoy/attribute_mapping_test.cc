// The Envoy front-ends' attribute mapping (docs/envoy.md) and the in-place ext_authz decoder.
#include "frontends/envoy/attribute_mapping.h"

#include <gtest/gtest.h>

#include "envoy/service/auth/v3/external_auth.pb.h"
#include "frontends/envoy/envoy_services.h"

namespace frontends::envoy {
namespace {

using mixer::attribute::AttributeBag;
using mixer::attribute::AttributeValue;
using mixer::attribute::ValueType;
namespace auth = ::envoy::service::auth::v3;
namespace data = ::envoy::data::accesslog::v3;

class MappingTest : public ::testing::Test {
 protected:
  MappingTest() : vocab_(mixer::attribute::Vocabulary::builtin()), ids_(*vocab_), bag_(vocab_) {}

  // Maps an ext_authz request, given as its serialized bytes.
  absl::Status check(const std::string& bytes) {
    bytes_ = bytes;
    bag_.clear();
    if (auto s = parseAuthzCheckRequest(bytes_, &view_); !s.ok()) return s;
    return mapper_.mapCheck(view_, ids_, &bag_);
  }
  std::string str(std::string_view name) {
    const AttributeValue* v = bag_.find(name);
    return v == nullptr ? "<absent>" : std::string(v->stringValue());
  }
  int64_t num(std::string_view name) {
    const AttributeValue* v = bag_.find(name);
    return v == nullptr ? -1 : v->int64Value();
  }
  std::string header(std::string_view map, std::string_view key) {
    const AttributeValue* v = bag_.find(map);
    std::string_view out;
    return v != nullptr && v->mapFind(key, &out) ? std::string(out) : "<absent>";
  }

  mixer::attribute::VocabularyConstSharedPtr vocab_;
  AttributeIds ids_;
  AttributeBag bag_;
  AttributeMapper mapper_;
  CheckRequestView view_;
  std::string bytes_;
};

auth::CheckRequest fullRequest() {
  auth::CheckRequest req;
  auto* a = req.mutable_attributes();
  auto* src = a->mutable_source();
  src->mutable_address()->mutable_socket_address()->set_address("10.1.2.3");
  src->mutable_address()->mutable_socket_address()->set_port_value(40000);
  src->set_principal("spiffe://cluster.local/ns/default/sa/web");
  src->set_service("web");
  (*src->mutable_labels())["app"] = "web";
  auto* dst = a->mutable_destination();
  dst->mutable_address()->mutable_socket_address()->set_address("2001:db8::1");
  dst->mutable_address()->mutable_socket_address()->set_port_value(9080);
  dst->set_service("reviews.default.svc.cluster.local");
  a->mutable_request()->mutable_time()->set_seconds(1700000000);
  a->mutable_request()->mutable_time()->set_nanos(5);
  auto* h = a->mutable_request()->mutable_http();
  h->set_id("r1");
  h->set_method("POST");
  h->set_path("/svc/Method?x=1");
  h->set_host("reviews:9080");
  h->set_scheme("https");
  h->set_size(-1);
  (*h->mutable_headers())["content-type"] = "application/grpc+proto";
  (*h->mutable_headers())["user-agent"] = "grpc-go";
  (*a->mutable_context_extensions())["quota.requestcount"] = "2";
  a->mutable_tls_session()->set_sni("reviews.example");
  return req;
}

TEST_F(MappingTest, AttributeContextMapsToIstioAttributes) {
  ASSERT_TRUE(check(fullRequest().SerializeAsString()).ok());
  EXPECT_EQ(str("source.ip"), std::string("\x0a\x01\x02\x03", 4));
  EXPECT_EQ(bag_.find("source.ip")->type(), ValueType::kIpAddress);
  EXPECT_EQ(str("destination.ip").size(), 16u);
  EXPECT_EQ(num("source.port"), 40000);
  EXPECT_EQ(num("destination.port"), 9080);
  EXPECT_EQ(str("source.principal"), "spiffe://cluster.local/ns/default/sa/web");
  EXPECT_EQ(str("source.workload.name"), "web");
  EXPECT_EQ(header("source.labels", "app"), "web");
  EXPECT_EQ(str("destination.service.host"), "reviews.default.svc.cluster.local");
  EXPECT_TRUE(bag_.find("connection.mtls")->boolValue());
  EXPECT_EQ(str("connection.requested_server_name"), "reviews.example");
  EXPECT_EQ(bag_.find("request.time")->timestampValue().seconds, 1700000000);
  EXPECT_EQ(bag_.find("context.time")->timestampValue().nanos, 5);
  EXPECT_EQ(str("request.id"), "r1");
  EXPECT_EQ(str("request.method"), "POST");
  EXPECT_EQ(str("request.path"), "/svc/Method?x=1");
  EXPECT_EQ(str("request.url_path"), "/svc/Method");
  EXPECT_EQ(str("request.host"), "reviews:9080");
  EXPECT_EQ(str("request.scheme"), "https");
  EXPECT_EQ(bag_.find("request.size"), nullptr);  // -1: unknown
  EXPECT_EQ(str("request.useragent"), "grpc-go");
  EXPECT_EQ(header("request.headers", "content-type"), "application/grpc+proto");
  EXPECT_EQ(str("context.protocol"), "grpc");
  EXPECT_EQ(header("context.extensions", "quota.requestcount"), "2");
}

TEST_F(MappingTest, DecoderKeepsProtobufSemantics) {
  // Two `attributes` fields merge; a repeated map key keeps its last value; a later pipe address
  // replaces the socket address (oneof); a later named_port replaces port_value.
  auth::CheckRequest a, b;
  (*a.mutable_attributes()->mutable_request()->mutable_http()->mutable_headers())["x"] = "1";
  a.mutable_attributes()
      ->mutable_source()
      ->mutable_address()
      ->mutable_socket_address()
      ->set_address("10.0.0.1");
  a.mutable_attributes()
      ->mutable_destination()
      ->mutable_address()
      ->mutable_socket_address()
      ->set_port_value(80);
  (*b.mutable_attributes()->mutable_request()->mutable_http()->mutable_headers())["x"] = "2";
  b.mutable_attributes()->mutable_request()->mutable_http()->set_path("/p");
  b.mutable_attributes()->mutable_source()->mutable_address()->mutable_pipe()->set_path("/s");
  b.mutable_attributes()
      ->mutable_destination()
      ->mutable_address()
      ->mutable_socket_address()
      ->set_named_port("http");
  const std::string bytes = a.SerializeAsString() + b.SerializeAsString();
  ASSERT_TRUE(check(bytes).ok());
  EXPECT_EQ(header("request.headers", "x"), "2");
  EXPECT_EQ(bag_.find("request.headers")->mapSize(), 1u);
  EXPECT_EQ(str("request.path"), "/p");
  EXPECT_EQ(bag_.find("source.ip"), nullptr);
  EXPECT_EQ(bag_.find("destination.port"), nullptr);
  // What protobuf makes of the same bytes.
  auth::CheckRequest merged;
  ASSERT_TRUE(merged.ParseFromString(bytes));
  EXPECT_EQ(merged.attributes().request().http().headers().at("x"), "2");
  EXPECT_TRUE(merged.attributes().source().address().has_pipe());
}

TEST_F(MappingTest, RawHeaderListJoinsRepeatedNames) {
  auth::CheckRequest req;
  auto* list = req.mutable_attributes()->mutable_request()->mutable_http()->mutable_header_map();
  auto* h1 = list->add_headers();
  h1->set_key("accept");
  h1->set_raw_value("text/html");
  auto* h2 = list->add_headers();
  h2->set_key("accept");
  h2->set_value("application/json");
  ASSERT_TRUE(check(req.SerializeAsString()).ok());
  EXPECT_EQ(header("request.headers", "accept"), "text/html,application/json");
}

TEST_F(MappingTest, LimitsAreEnforced) {
  auth::CheckRequest req;
  auto& headers = *req.mutable_attributes()->mutable_request()->mutable_http()->mutable_headers();
  for (int i = 0; i < 257; ++i) headers["h" + std::to_string(i)] = "v";
  absl::Status s = check(req.SerializeAsString());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "request headers: 257 entries, over the limit of 256");
  headers.clear();
  headers["big"] = std::string(65536, 'x');
  s = check(req.SerializeAsString());
  EXPECT_EQ(s.message(),
            "request headers: 65539 bytes of names and values, over the limit of 65536");
  s = check(std::string("\x0a\x05\x0a\x03\x0a", 5));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(s.message()).rfind("malformed envoy.service.auth.v3.CheckRequest", 0), 0u);
}

TEST_F(MappingTest, HttpAccessLogEntry) {
  data::HTTPAccessLogEntry e;
  auto* c = e.mutable_common_properties();
  c->mutable_downstream_remote_address()->mutable_socket_address()->set_address("10.0.0.1");
  c->mutable_downstream_local_address()->mutable_socket_address()->set_address("10.0.0.2");
  c->mutable_downstream_local_address()->mutable_socket_address()->set_port_value(9080);
  c->mutable_start_time()->set_seconds(100);
  c->mutable_start_time()->set_nanos(900000000);
  c->mutable_duration()->set_nanos(200000000);
  c->set_upstream_cluster("inbound|9080|v1|reviews.default.svc.cluster.local");
  c->mutable_tls_properties()
      ->mutable_peer_certificate_properties()
      ->add_subject_alt_name()
      ->set_uri("spiffe://a");
  e.mutable_request()->set_request_method(::envoy::config::core::v3::PUT);
  e.mutable_request()->set_path("/x?y=1");
  e.mutable_request()->set_request_headers_bytes(100);
  e.mutable_request()->set_request_body_bytes(5);
  e.mutable_response()->mutable_response_code()->set_value(503);
  e.mutable_response()->set_response_body_bytes(7);
  (*e.mutable_response()->mutable_response_trailers())["grpc-status"] = "14";
  ASSERT_TRUE(mapper_.mapHttpEntry(e, ids_, &bag_).ok());
  EXPECT_EQ(str("source.ip"), std::string("\x0a\x00\x00\x01", 4));
  EXPECT_EQ(num("destination.port"), 9080);
  EXPECT_EQ(str("destination.service.host"), "reviews.default.svc.cluster.local");
  EXPECT_EQ(str("source.principal"), "spiffe://a");
  EXPECT_TRUE(bag_.find("connection.mtls")->boolValue());
  EXPECT_EQ(str("request.method"), "PUT");
  EXPECT_EQ(str("request.url_path"), "/x");
  EXPECT_EQ(num("request.size"), 5);
  EXPECT_EQ(num("request.total_size"), 105);
  EXPECT_EQ(num("response.code"), 503);
  EXPECT_EQ(num("response.size"), 7);
  EXPECT_EQ(str("response.grpc_status"), "14");
  EXPECT_EQ(bag_.find("response.duration")->durationValue().toNanos(), 200000000);
  EXPECT_EQ(bag_.find("response.time")->timestampValue().seconds, 101);
  EXPECT_EQ(bag_.find("response.time")->timestampValue().nanos, 100000000);
  EXPECT_EQ(str("context.protocol"), "http");
}

TEST_F(MappingTest, OutboundClusterEntryIsReportedByTheSource) {
  data::HTTPAccessLogEntry e;
  auto* c = e.mutable_common_properties();
  c->mutable_downstream_local_address()->mutable_socket_address()->set_address("127.0.0.1");
  c->mutable_upstream_remote_address()->mutable_socket_address()->set_address("10.9.9.9");
  c->mutable_upstream_remote_address()->mutable_socket_address()->set_port_value(9080);
  c->set_upstream_cluster("outbound|9080||ratings.default.svc.cluster.local");
  ASSERT_TRUE(mapper_.mapHttpEntry(e, ids_, &bag_).ok());
  EXPECT_EQ(str("context.reporter.kind"), "outbound");
  EXPECT_EQ(str("destination.ip"), std::string("\x0a\x09\x09\x09", 4));
  EXPECT_EQ(num("destination.port"), 9080);
  EXPECT_EQ(str("destination.service.host"), "ratings.default.svc.cluster.local");
}

TEST_F(MappingTest, TcpAccessLogEntry) {
  data::TCPAccessLogEntry e;
  e.mutable_common_properties()->mutable_duration()->set_seconds(3);
  e.mutable_common_properties()->set_access_log_type(data::TcpPeriodic);
  e.mutable_connection_properties()->set_received_bytes(10);
  e.mutable_connection_properties()->set_sent_bytes(20);
  ASSERT_TRUE(mapper_.mapTcpEntry(e, ids_, &bag_).ok());
  EXPECT_EQ(num("connection.received.bytes"), 10);
  EXPECT_EQ(num("connection.sent.bytes_total"), 20);
  EXPECT_EQ(bag_.find("connection.duration")->durationValue().seconds, 3);
  EXPECT_EQ(str("connection.event"), "continue");
  EXPECT_EQ(str("context.protocol"), "tcp");
  EXPECT_FALSE(bag_.find("connection.mtls")->boolValue());
}

TEST(EnvoyResponse, HttpStatusFromCode) {
  EXPECT_EQ(httpStatusForCode(7), 403);
  EXPECT_EQ(httpStatusForCode(16), 401);
  EXPECT_EQ(httpStatusForCode(8), 429);
  EXPECT_EQ(httpStatusForCode(9), 403);
  EXPECT_EQ(clusterHost("outbound|9080||reviews.default.svc.cluster.local"),
            "reviews.default.svc.cluster.local");
  EXPECT_EQ(clusterHost("plain"), "");
}

class ForwardAuthMappingTest : public MappingTest {
 protected:
  absl::Status map(std::vector<std::pair<std::string, std::string>> headers,
                   ForwardAuthConvention* convention = nullptr) {
    headers_ = std::move(headers);
    list_.clear();
    for (const auto& [k, v] : headers_) list_.push_back({k, v});
    bag_.clear();
    return mapper_.mapForwardAuth(list_, {1700000000, 5}, ids_, &bag_, convention);
  }
  std::vector<std::pair<std::string, std::string>> headers_;
  HeaderList list_;
};

TEST_F(ForwardAuthMappingTest, NginxConvention) {
  ForwardAuthConvention c;
  ASSERT_TRUE(map({{"host", "127.0.0.1:9094"},
                   {"x-original-uri", "/shop/cart?id=7"},
                   {"x-original-method", "POST"},
                   {"x-real-ip", "10.0.0.9"},
                   {"x-forwarded-for", "1.1.1.1, 10.0.0.8"},
                   {"x-forwarded-host", "shop.example"},
                   {"x-forwarded-proto", "https"},
                   {"user-agent", "curl/8"},
                   {"x-request-id", "r-1"},
                   {"accept", "a"},
                   {"accept", "b"}},
                  &c)
                  .ok());
  EXPECT_EQ(c, ForwardAuthConvention::kNginx);
  EXPECT_EQ(str("request.path"), "/shop/cart?id=7");
  EXPECT_EQ(str("request.url_path"), "/shop/cart");
  EXPECT_EQ(str("request.method"), "POST");
  EXPECT_EQ(str("request.host"), "shop.example");
  EXPECT_EQ(str("request.scheme"), "https");
  EXPECT_EQ(str("request.useragent"), "curl/8");
  EXPECT_EQ(str("request.id"), "r-1");
  EXPECT_EQ(str("context.protocol"), "http");
  EXPECT_EQ(str("source.ip"), std::string("\x0a\x00\x00\x09", 4));
  EXPECT_EQ(header("request.headers", "accept"), "a,b");
  EXPECT_EQ(header("request.headers", "x-original-method"), "POST");
  EXPECT_EQ(bag_.find("request.time")->timestampValue().seconds, 1700000000);
}

TEST_F(ForwardAuthMappingTest, ForwardedConventionTakesTheLastForwardedForAndIgnoresRealIp) {
  ForwardAuthConvention c;
  ASSERT_TRUE(map({{"host", "auth"},
                   {"x-forwarded-uri", "/a"},
                   {"x-forwarded-method", "GET"},
                   {"x-real-ip", "6.6.6.6"},
                   {"x-forwarded-for", "6.6.6.6"},
                   {"x-forwarded-for", "2001:db8::1, 192.168.1.2"}},
                  &c)
                  .ok());
  EXPECT_EQ(c, ForwardAuthConvention::kForwarded);
  EXPECT_EQ(str("source.ip"), std::string("\xc0\xa8\x01\x02", 4));
  EXPECT_EQ(str("request.host"), "auth");
  EXPECT_EQ(str("request.scheme"), "http");
  // The nginx method header does not count in the forwarded convention.
  EXPECT_FALSE(map({{"x-forwarded-uri", "/a"}, {"x-original-method", "GET"}}).ok());
}

TEST_F(ForwardAuthMappingTest, WithoutTheOriginalRequestFailsWithAReason) {
  auto message = [&](std::vector<std::pair<std::string, std::string>> h) {
    auto s = map(std::move(h));
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    return std::string(s.message());
  };
  EXPECT_NE(message({{"host", "x"}}).find("missing the original request"), std::string::npos);
  EXPECT_NE(message({{"x-original-uri", "/"}}).find("X-Original-Method"), std::string::npos);
  EXPECT_NE(message({{"x-forwarded-uri", "/"}}).find("X-Forwarded-Method"), std::string::npos);
  EXPECT_NE(message({{"x-original-uri", "/"}, {"x-forwarded-uri", "/"}}).find("one convention"),
            std::string::npos);
  EXPECT_NE(
      message({{"x-original-uri", "/a"}, {"x-original-uri", "/b"}, {"x-original-method", "GET"}})
          .find("repeated"),
      std::string::npos);
  EXPECT_NE(message({{"x-original-uri", "http://h/"}, {"x-original-method", "GET"}})
                .find("must start with '/'"),
            std::string::npos);
  EXPECT_NE(message({{"x-original-uri", "/"}, {"x-original-method", "G T"}}).find("not a token"),
            std::string::npos);
  std::vector<std::pair<std::string, std::string>> many(300, {"x-a", "b"});
  many.push_back({"x-original-uri", "/"});
  many.push_back({"x-original-method", "GET"});
  EXPECT_NE(message(many).find("over the limit"), std::string::npos);
}

}  // namespace
}  // namespace frontends::envoy
