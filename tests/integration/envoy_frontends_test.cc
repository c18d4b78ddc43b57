// The Envoy front-ends end to end: a real mixs on ephemeral ports, driven by an Envoy-API client
// generated from the project's Envoy v3 protos (protoc and grpc_python_plugin, Debian's
// python3-grpcio), by the real mixc for the Mixer side, and scraped by a real Prometheus.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <thread>

#include "tests/testing/doc_blocks.h"
#include "tests/testing/http_collector.h"
#include "tests/testing/mixs_process.h"
#include "tests/testing/prometheus_server.h"
#include "tests/testing/raw_grpc.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/wire_builder.h"

namespace mixer {
namespace {

using testing::binDir;
using testing::httpGet;
using testing::MixsOptions;
using testing::MixsProcess;
using testing::rawUnaryCall;
using testing::runCommand;
using testing::sourceDir;
using testing::Subprocess;
using testing::TempDir;
using testing::WireBuilder;

namespace fs = std::filesystem;

constexpr char kPython[] = "/usr/bin/python3";

// Policy: /admin is closed but to the admin principal, /private needs an Authorization header,
// /hello gets header operations; a memquota handler limits the "requestcount" quota (asked
// through ext_authz) and the "envoy" quota (the rate limit domain, one window per generic_key).
constexpr char kPolicyConfig[] = R"(apiVersion: config.istio.io/v1alpha2
kind: denier
metadata: {name: admin, namespace: istio-system}
spec:
  status: {code: 7, message: admin is closed}
---
apiVersion: config.istio.io/v1alpha2
kind: denier
metadata: {name: login, namespace: istio-system}
spec:
  status: {code: 16, message: log in first}
---
apiVersion: config.istio.io/v1alpha2
kind: denier
metadata: {name: allow, namespace: istio-system}
spec:
  status: {code: 0}
---
apiVersion: config.istio.io/v1alpha2
kind: checknothing
metadata: {name: nothing, namespace: istio-system}
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: {name: admin, namespace: istio-system}
spec:
  match: request.path.startsWith("/admin") && (source.principal | "") != "spiffe://cluster.local/ns/default/sa/admin"
  actions: [{handler: admin.denier, instances: [nothing.checknothing]}]
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: {name: login, namespace: istio-system}
spec:
  match: request.path == "/private" && (request.headers["authorization"] | "") == ""
  actions: [{handler: login.denier, instances: [nothing.checknothing]}]
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: {name: hello, namespace: istio-system}
spec:
  match: request.path == "/hello"
  actions: [{handler: allow.denier, instances: [nothing.checknothing]}]
  requestHeaderOperations:
  - {name: x-mixer-checked, values: ['"yes"']}
  - {name: x-source, values: ['source.principal | "anonymous"'], operation: APPEND}
  - {name: x-internal, operation: REMOVE}
  responseHeaderOperations:
  - {name: x-served-by, values: ['"mixs"']}
---
apiVersion: config.istio.io/v1alpha2
kind: memquota
metadata: {name: quota, namespace: istio-system}
spec:
  quotas:
  - name: requestcount.quota.istio-system
    maxAmount: 3
    validDuration: 60s
  - name: envoy.quota.istio-system
    maxAmount: 5
    validDuration: 60s
    overrides:
    - dimensions: {key: vip}
      maxAmount: 10
---
apiVersion: config.istio.io/v1alpha2
kind: quota
metadata: {name: requestcount, namespace: istio-system}
spec:
  dimensions:
    path: request.path | "/"
---
apiVersion: config.istio.io/v1alpha2
kind: quota
metadata: {name: envoy, namespace: istio-system}
spec:
  dimensions:
    key: ratelimit.descriptor["generic_key"] | "none"
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: {name: quota, namespace: istio-system}
spec:
  actions: [{handler: quota.memquota, instances: [requestcount.quota, envoy.quota]}]
)";

class EnvoyFrontendsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // The client's messages and stubs, generated from the project's protos.
    gen_ = new TempDir("envoy-client");
    const std::string api = sourceDir() + "/frontends/envoy/api";
    std::vector<std::string> argv = {"/usr/bin/protoc",
                                     "-I" + api,
                                     "-I" + sourceDir() + "/mixer/api",
                                     "-I/usr/include",
                                     "--python_out=" + gen_->path(),
                                     "--grpc_python_out=" + gen_->path(),
                                     "--plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin"};
    for (const auto& e : fs::recursive_directory_iterator(api)) {
      if (e.path().extension() == ".proto") argv.push_back(e.path().string());
    }
    argv.push_back(sourceDir() + "/mixer/api/google/rpc/status.proto");
    auto [code, out] = runCommand(argv);
    ASSERT_EQ(code, 0) << out;
  }
  static void TearDownTestSuite() {
    delete gen_;
    gen_ = nullptr;
  }

  void startMixs(const std::string& config_dir) {
    MixsOptions options;
    options.config_dir = config_dir;
    options.prometheus_on_free_port = true;
    ASSERT_TRUE(mixs_.start(options)) << mixs_.output();
  }
  void TearDown() override {
    if (mixs_.running()) mixs_.stop(SIGKILL);
  }

  std::string client(std::vector<std::string> args) {
    std::vector<std::string> argv = {
        "/usr/bin/env", "PYTHONPATH=" + gen_->path(),
        kPython,        sourceDir() + "/tests/integration/envoy/envoy_client.py",
        "--addr",       mixs_.address()};
    argv.insert(argv.end(), args.begin(), args.end());
    auto [code, out] = runCommand(argv);
    EXPECT_EQ(code, 0) << out;
    return out;
  }
  std::string mixcCheck(std::vector<std::string> args) {
    args.insert(args.begin(), {binDir() + "/mixc", "check", "-m", mixs_.address()});
    return runCommand(args).second;
  }

  static TempDir* gen_;
  MixsProcess mixs_;
};

TempDir* EnvoyFrontendsTest::gen_ = nullptr;

bool has(const std::string& s, const std::string& what) {
  return s.find(what) != std::string::npos;
}

int count(const std::string& s, const std::string& what) {
  int n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

TEST_F(EnvoyFrontendsTest, ServicesAreOnTheMixerPortWithHealthAndReflection) {
  startMixs("");
  for (const char* service :
       {"envoy.service.auth.v3.Authorization", "envoy.service.ratelimit.v3.RateLimitService",
        "envoy.service.accesslog.v3.AccessLogService"}) {
    std::string resp;
    ASSERT_TRUE(rawUnaryCall(mixs_.address(), "/grpc.health.v1.Health/Check",
                             WireBuilder().lenField(1, service).bytes(), &resp)
                    .ok())
        << service;
    EXPECT_EQ(resp, std::string("\x08\x01", 2)) << service;  // SERVING
  }
  // Reflection: list_services (the stream of ServerReflectionInfo, one request).
  const auto bytes = testing::listServicesByReflection(
      grpc::CreateChannel(mixs_.address(), grpc::InsecureChannelCredentials()));
  ASSERT_TRUE(bytes);
  for (const char* service : {"istio.mixer.v1.Mixer", "envoy.service.auth.v3.Authorization",
                              "envoy.service.ratelimit.v3.RateLimitService",
                              "envoy.service.accesslog.v3.AccessLogService"}) {
    EXPECT_TRUE(has(*bytes, service)) << service;
  }
}

// An ext_authz AttributeContext and the Mixer attributes it maps to (docs/envoy.md).
std::string authzRequest(const std::string& path, const std::string& principal,
                         const std::string& extra_headers = "",
                         const std::string& extensions = "") {
  return R"({"attributes": {
    "source": {"address": {"socket_address": {"address": "10.1.2.3", "port_value": 40000}},
               "principal": ")" +
         principal + R"("},
    "destination": {"address": {"socket_address": {"address": "10.4.5.6", "port_value": 9080}}},
    "request": {"time": "2026-01-02T03:04:05Z", "http": {"id": "req-1", "method": "GET",
      "path": ")" +
         path + R"(", "host": "reviews:9080", "scheme": "http", "protocol": "HTTP/1.1",
      "headers": {":path": ")" +
         path + R"(", "user-agent": "curl/8")" + extra_headers + R"(}}},
    "context_extensions": {)" +
         extensions + R"(}}})";
}

TEST_F(EnvoyFrontendsTest, ExtAuthzAndMixerCheckGetTheSameDecision) {
  TempDir config("envoy-policy");
  config.write("policy.yaml", kPolicyConfig);
  startMixs(config.path());
  struct Case {
    std::string path, principal, headers;
    std::string code_name;  // google.rpc.Code
    int code;
    int http;
  };
  const std::vector<Case> cases = {
      {"/admin/users", "spiffe://cluster.local/ns/default/sa/web", "", "PERMISSION_DENIED", 7, 403},
      {"/admin/users", "spiffe://cluster.local/ns/default/sa/admin", "", "OK", 0, 200},
      {"/private", "", "", "UNAUTHENTICATED", 16, 401},
      {"/private", "", R"(, "authorization": "Bearer x")", "OK", 0, 200},
      {"/hello", "spiffe://cluster.local/ns/default/sa/web", "", "OK", 0, 200},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.path + " " + c.principal + c.headers);
    const std::string authz =
        client({"authz", "--request", authzRequest(c.path, c.principal, c.headers)});
    std::vector<std::string> args = {
        "-s",
        "request.path=" + c.path + ",request.method=GET,request.host=reviews:9080," +
            "request.id=req-1,request.scheme=http,request.useragent=curl/8" +
            (c.principal.empty() ? "" : ",source.principal=" + c.principal),
        "-a",
        "source.ip=10.1.2.3,destination.ip=10.4.5.6,destination.port=9080,source.port=40000",
        "--stringmap_attributes",
        "request.headers=:path:" + c.path + ";user-agent:curl/8" +
            (c.headers.empty() ? "" : ";authorization:Bearer x")};
    const std::string mixer = mixcCheck(args);
    EXPECT_TRUE(has(mixer, "Check status was " + c.code_name)) << mixer;
    if (c.code == 0) {
      EXPECT_FALSE(has(authz, R"("code": )" + std::string("7"))) << authz;
      EXPECT_TRUE(has(authz, R"("ok_response")")) << authz;
    } else {
      EXPECT_TRUE(has(authz, R"("code": )" + std::to_string(c.code))) << authz;
      EXPECT_TRUE(has(authz, R"("denied_response")")) << authz;
      const std::string http_name = c.http == 403 ? "Forbidden" : "Unauthorized";
      EXPECT_TRUE(has(authz, R"("code": ")" + http_name + "\"")) << authz;
      EXPECT_TRUE(has(authz, c.code == 7 ? "admin is closed" : "log in first")) << authz;
    }
  }
  // /hello: the rule's header operations.
  const std::string hello = client(
      {"authz", "--request", authzRequest("/hello", "spiffe://cluster.local/ns/default/sa/web")});
  EXPECT_TRUE(has(hello, R"({"append": false, "append_action": "OVERWRITE_IF_EXISTS_OR_ADD", )"
                         R"("header": {"key": "x-mixer-checked", "value": "yes"}})"))
      << hello;
  EXPECT_TRUE(has(hello, R"({"append": true, "header": {"key": "x-source", "value": )"
                         R"("spiffe://cluster.local/ns/default/sa/web"}})"))
      << hello;
  EXPECT_TRUE(has(hello, R"("headers_to_remove": ["x-internal"])")) << hello;
  EXPECT_TRUE(has(hello, R"("response_headers_to_add": [{"append": false, "append_action": )"
                         R"("OVERWRITE_IF_EXISTS_OR_ADD", "header": {"key": "x-served-by", )"
                         R"("value": "mixs"}}])"))
      << hello;
}

TEST_F(EnvoyFrontendsTest, ExtAuthzAsksQuotasNamedInContextExtensions) {
  TempDir config("envoy-quota");
  config.write("policy.yaml", kPolicyConfig);
  startMixs(config.path());
  // Each request has its own id (the deduplication id: a retry of one request is charged once).
  auto req = [](int id) {
    std::string r = authzRequest("/quota", "", "", R"("quota.requestcount": "1", "other": "x")");
    return r.replace(r.find("req-1"), 5, "req-q" + std::to_string(id));
  };
  for (int i = 1; i <= 3; ++i) {
    const std::string out = client({"authz", "--request", req(i)});
    EXPECT_TRUE(has(out, R"("ok_response")")) << i << out;
  }
  // The same request again (a retry) is not charged twice.
  EXPECT_TRUE(has(client({"authz", "--request", req(3)}), R"("ok_response")"));
  const std::string out = client({"authz", "--request", req(4)});
  EXPECT_TRUE(has(out, R"("code": 8)")) << out;
  EXPECT_TRUE(has(out, R"("code": "TooManyRequests")")) << out;
  EXPECT_TRUE(has(out, "quota requestcount exhausted")) << out;
}

TEST_F(EnvoyFrontendsTest, RateLimitHitsItsLimitAtExactlyTheConfiguredCount) {
  TempDir config("envoy-rls");
  config.write("policy.yaml", kPolicyConfig);
  startMixs(config.path());
  auto request = [](const std::string& domain, const std::string& key) {
    return R"({"domain": ")" + domain +
           R"(", "descriptors": [{"entries": [{"key": "generic_key", "value": ")" + key +
           R"("}]}]})";
  };
  // 5 per minute: calls 1-5 pass with 4..0 left, the 6th and 7th are over.
  const std::string out =
      client({"ratelimit", "--request", request("envoy", "api"), "--repeat", "7"});
  EXPECT_EQ(count(out, R"("overall_code": "OK")"), 5) << out;
  EXPECT_EQ(count(out, R"("overall_code": "OVER_LIMIT")"), 2) << out;
  for (int left = 4; left >= 1; --left) {
    EXPECT_TRUE(has(out, R"("limit_remaining": )" + std::to_string(left))) << out;
  }
  EXPECT_TRUE(has(out, R"("current_limit": {"name": "envoy", "requests_per_unit": 5, )"
                       R"("unit": "MINUTE"})"))
      << out;
  EXPECT_TRUE(has(out, R"("duration_until_reset": "60s")")) << out;
  EXPECT_TRUE(has(out, R"({"key": "X-RateLimit-Limit", "value": "5, 5;w=60"})")) << out;
  EXPECT_TRUE(has(out, R"({"key": "X-RateLimit-Remaining", "value": "4"})")) << out;
  EXPECT_TRUE(has(out, R"({"key": "X-RateLimit-Reset", "value": "60"})")) << out;
  // The override: 10 for "vip".
  const std::string vip =
      client({"ratelimit", "--request", request("envoy", "vip"), "--repeat", "11"});
  EXPECT_EQ(count(vip, R"("overall_code": "OK")"), 10) << vip;
  EXPECT_EQ(count(vip, R"("overall_code": "OVER_LIMIT")"), 1) << vip;
  // A domain no rule handles: OK, without a limit.
  const std::string other =
      client({"ratelimit", "--request", request("other", "api"), "--repeat", "20"});
  EXPECT_EQ(count(other, R"("overall_code": "OK")"), 20) << other;
  EXPECT_FALSE(has(other, "current_limit")) << other;
  // hits_addend: one call of 6 hits is over a limit of 5 on a fresh key.
  const std::string big = client(
      {"ratelimit", "--request",
       R"({"domain": "envoy", "hits_addend": 6, "descriptors": [{"entries": [{"key": "generic_key", "value": "big"}]}]})"});
  EXPECT_TRUE(has(big, R"("overall_code": "OVER_LIMIT")")) << big;
  // Counted on the monitoring port as the Mixer API's calls are.
  const std::string metrics = httpGet(mixs_.monitoringPort(), "/metrics").second;
  EXPECT_TRUE(has(metrics,
                  R"(grpc_server_handled_total{grpc_code="OK",grpc_method="ShouldRateLimit",)"
                  R"(grpc_service="envoy.service.ratelimit.v3.RateLimitService",)"
                  R"(grpc_type="unary"} 39)"))
      << metrics;

  // A descriptor's own hits_addend wins over the request's: through the generated client...
  const std::string own = client(
      {"ratelimit", "--request",
       R"({"domain": "envoy", "hits_addend": 1, "descriptors": [{"entries": [{"key": "generic_key", "value": "own"}], "hits_addend": 6}]})"});
  EXPECT_TRUE(has(own, R"("overall_code": "OVER_LIMIT")")) << own;
  // ...and encoded here by hand at the numbers of Envoy's published v3 API, not through the
  // project's protos: RateLimitRequest {domain 1, descriptors 2, hits_addend 3 (uint32)},
  // RateLimitDescriptor {entries 1, hits_addend 3 (google.protobuf.UInt64Value {value 1})}.
  auto descriptor = [](const std::string& value, uint64_t hits) {
    WireBuilder d;
    d.lenField(1, WireBuilder().lenField(1, "generic_key").lenField(2, value).bytes());
    if (hits > 0) d.lenField(3, WireBuilder().varintField(1, hits).bytes());
    return d.bytes();
  };
  const std::string method = "/envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit";
  std::string resp;
  // Request 1, descriptor 6 on a fresh key: over the limit of 5 (overall_code 2).
  ASSERT_TRUE(rawUnaryCall(mixs_.address(), method,
                           WireBuilder()
                               .lenField(1, "envoy")
                               .lenField(2, descriptor("wire6", 6))
                               .varintField(3, 1)
                               .bytes(),
                           &resp)
                  .ok());
  EXPECT_EQ(resp.substr(0, 2), std::string("\x08\x02", 2));
  // Request 6, descriptor 2: within the limit (overall_code 1).
  ASSERT_TRUE(rawUnaryCall(mixs_.address(), method,
                           WireBuilder()
                               .lenField(1, "envoy")
                               .lenField(2, descriptor("wire2", 2))
                               .varintField(3, 6)
                               .bytes(),
                           &resp)
                  .ok());
  EXPECT_EQ(resp.substr(0, 2), std::string("\x08\x01", 2));
  // The request's hits_addend (field 3) alone: 6, over.
  ASSERT_TRUE(rawUnaryCall(mixs_.address(), method,
                           WireBuilder()
                               .lenField(1, "envoy")
                               .lenField(2, descriptor("wirereq", 0))
                               .varintField(3, 6)
                               .bytes(),
                           &resp)
                  .ok());
  EXPECT_EQ(resp.substr(0, 2), std::string("\x08\x02", 2));
}

TEST_F(EnvoyFrontendsTest, MalformedAndOversizedRequestsAreInvalidArgument) {
  startMixs("");
  std::string resp;
  // Field 1 (attributes) claims 100 bytes that are not there.
  grpc::Status s = rawUnaryCall(mixs_.address(), "/envoy.service.auth.v3.Authorization/Check",
                                std::string("\x0a\x64\x01", 3), &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(has(s.error_message(), "malformed envoy.service.auth.v3.CheckRequest"))
      << s.error_message();
  s = rawUnaryCall(mixs_.address(), "/envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit",
                   std::string("\xff\xff\xff", 3), &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(has(s.error_message(), "malformed envoy.service.ratelimit.v3.RateLimitRequest"));
  // Over --max-message-size (1 MiB): refused by gRPC, as a Mixer request is.
  s = rawUnaryCall(mixs_.address(), "/envoy.service.auth.v3.Authorization/Check",
                   WireBuilder().lenField(1, std::string(1100000, 'x')).bytes(), &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  // Through the generated client: an RLS request without a domain.
  std::string out = client({"ratelimit", "--request",
                            R"({"descriptors": [{"entries": [{"key": "a", "value": "b"}]}]})"});
  EXPECT_TRUE(has(out, "INVALID_ARGUMENT")) << out;
  EXPECT_TRUE(has(out, "rate limit domain must not be empty")) << out;
  // 257 headers: over the limit of 256.
  std::string headers;
  for (int i = 0; i < 257; ++i) headers += R"(, "x-h)" + std::to_string(i) + R"(": "v")";
  out = client({"authz", "--request", authzRequest("/", "", headers)});
  EXPECT_TRUE(has(out, "INVALID_ARGUMENT")) << out;
  EXPECT_TRUE(has(out, "entries, over the limit of 256")) << out;
  // One header of 70,000 bytes: over the 64 KiB of names and values.
  out = client({"authz", "--request",
                authzRequest("/", "", R"(, "x-big": ")" + std::string(70000, 'a') + "\"")});
  EXPECT_TRUE(has(out, "INVALID_ARGUMENT")) << out;
  EXPECT_TRUE(has(out, "bytes of names and values, over the limit of 65536")) << out;
}

// `n` HTTP entries with response code `code` as one StreamAccessLogsMessage (JSON).
std::string httpEntries(int n, int code, bool identifier) {
  std::string entries;
  for (int i = 0; i < n; ++i) {
    if (i > 0) entries += ",";
    entries += R"({"common_properties": {
        "downstream_remote_address": {"socket_address": {"address": "10.1.2.3", "port_value": 5000}},
        "downstream_local_address": {"socket_address": {"address": "10.4.5.6", "port_value": 9080}},
        "start_time": "2026-01-02T03:04:05Z", "duration": "0.020s",
        "upstream_cluster": "inbound|9080||reviews.default.svc.cluster.local"},
      "protocol_version": "HTTP11",
      "request": {"request_method": "GET", "path": "/reviews/1", "authority": "reviews:9080",
                  "request_headers_bytes": 100, "request_body_bytes": 0},
      "response": {"response_code": )" +
               std::to_string(code) +
               R"(, "response_headers_bytes": 50, "response_body_bytes": 300}})";
  }
  return std::string("{") +
         (identifier ? R"("identifier": {"node": {"id": "sidecar~10.4.5.6~reviews-v1.default"},
                        "log_name": "als"}, )"
                     : "") +
         R"("http_logs": {"log_entry": [)" + entries + "]}}";
}

TEST_F(EnvoyFrontendsTest, AccessLogEntriesBecomeStandardMetricsAndABrokenStreamKeepsThem) {
  const std::string yaml = testing::standardMetricsConfigFromDocs();
  ASSERT_NE(yaml, "");
  TempDir config("envoy-als");
  config.write("standard.yaml", yaml);
  startMixs(config.path());
  ASSERT_TRUE(mixs_.waitForPrometheus()) << mixs_.output();
  const int port = mixs_.prometheusPort();

  // One stream: 3 entries answered 200, 2 answered 503.
  std::string out =
      client({"als", "--messages",
              "[" + httpEntries(3, 200, true) + "," + httpEntries(2, 503, false) + "]"});
  EXPECT_TRUE(has(out, R"("code": "OK")")) << out;
  // A second stream breaks after its first message: 4 entries of 200 are kept, the garbage
  // closes the stream with INVALID_ARGUMENT, the message after it is never read.
  out = client({"als", "--messages",
                "[" + httpEntries(4, 200, true) + "," + httpEntries(7, 404, false) + "]",
                "--garbage-after", "1"});
  EXPECT_TRUE(has(out, "INVALID_ARGUMENT")) << out;
  EXPECT_TRUE(has(out, "malformed envoy.service.accesslog.v3.StreamAccessLogsMessage")) << out;
  EXPECT_TRUE(has(out, "4 earlier entries were accepted")) << out;
  // TCP entries are accepted too.
  out = client({"als", "--messages",
                R"([{"tcp_logs": {"log_entry": [{"common_properties": {"duration": "1s"},
                    "connection_properties": {"received_bytes": 10, "sent_bytes": 20}}]}}])"});
  EXPECT_TRUE(has(out, R"("code": "OK")")) << out;
  const std::string self = httpGet(mixs_.monitoringPort(), "/metrics").second;
  EXPECT_TRUE(has(self, "\nmixer_envoy_access_log_entries_total 10\n")) << self;
  EXPECT_TRUE(has(self, R"(grpc_server_handled_total{grpc_code="InvalidArgument",)"
                        R"(grpc_method="StreamAccessLogs",)"
                        R"(grpc_service="envoy.service.accesslog.v3.AccessLogService",)"
                        R"(grpc_type="client_stream"} 1)"))
      << self;

  // A real Prometheus scrapes the standard metrics: 7 requests answered 200, 2 answered 503,
  // none 404, all for destination_service reviews.default.svc.cluster.local.
  TempDir work("envoy-prometheus");
  testing::PrometheusServer prometheus;
  ASSERT_TRUE(prometheus.start(work.path(), port)) << prometheus.output();
  const std::string query =
      "sum%20by%20(response_code%2Cdestination_service)(istio_requests_total)";
  std::map<std::string, std::string> by_code;
  std::string answer;
  for (int i = 0; i < 150 && by_code.size() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    answer = prometheus.query(query);
    by_code.clear();
    std::regex re(
        R"re(\{"destination_service":"reviews.default.svc.cluster.local","response_code":"([0-9]+)"\},"value":\[[0-9.]+,"([^"]+)"\])re");
    for (auto it = std::sregex_iterator(answer.begin(), answer.end(), re);
         it != std::sregex_iterator(); ++it) {
      by_code[(*it)[1].str()] = (*it)[2].str();
    }
  }
  EXPECT_EQ(by_code, (std::map<std::string, std::string>{{"200", "7"}, {"503", "2"}})) << answer;
  prometheus.stop(SIGTERM);
}

TEST_F(EnvoyFrontendsTest, AccessLogEntriesBecomeStdioAccessLogLines) {
  startMixs("");  // the embedded default configuration: stdio access log on mixs' stdout
  const std::string out = client({"als", "--messages", "[" + httpEntries(2, 201, true) + "]"});
  EXPECT_TRUE(has(out, R"("code": "OK")")) << out;
  auto line = mixs_.waitFor(R"re(\{[^
]*"responseCode":201[^
]*\})re");
  ASSERT_TRUE(line) << mixs_.output();
  const std::string text = (*line)[0].str();
  EXPECT_TRUE(has(text, R"("url":"/reviews/1")")) << text;
  EXPECT_TRUE(has(text, R"("destinationService":"reviews.default.svc.cluster.local")")) << text;
  EXPECT_TRUE(has(text, R"("sourceIp":"10.1.2.3")")) << text;
  EXPECT_TRUE(has(text, R"("method":"GET")")) << text;
}

}  // namespace
}  // namespace mixer
