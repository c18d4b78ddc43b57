// Telemetry end to end: a real mixs with the prometheus and zipkin adapters, driven by mixc.
// The prometheus exposition is checked with promtool and scraped by a real Prometheus server
// (started on loopback) whose PromQL answers must count exactly the reports sent; tracespans
// reach an in-test Zipkin collector and validate against the Zipkin v2 schema.
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
#include "tests/testing/metrics.h"
#include "tests/testing/mixs_process.h"
#include "tests/testing/prometheus_server.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace mixer {
namespace {

using testing::binDir;
using testing::httpGet;
using testing::MixsProcess;
using testing::runCommand;
using testing::Subprocess;
using testing::TempDir;

namespace fs = std::filesystem;

// Istio's standard request count, the 1.x model, exposed on an ephemeral loopback port.
constexpr char kPrometheusConfig[] = R"(apiVersion: config.istio.io/v1alpha2
kind: prometheus
metadata:
  name: handler
  namespace: istio-system
spec:
  address: "127.0.0.1:0"
  metrics:
  - name: requests_total
    instance_name: requestcount.metric.istio-system
    kind: COUNTER
    label_names: [destination_service, response_code]
  - name: request_duration_seconds
    instance_name: requestduration.metric.istio-system
    kind: DISTRIBUTION
    label_names: [destination_service]
    buckets:
      explicitBuckets:
        bounds: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
---
apiVersion: config.istio.io/v1alpha2
kind: metric
metadata:
  name: requestcount
  namespace: istio-system
spec:
  value: "1"
  dimensions:
    destination_service: destination.service | "unknown"
    response_code: response.code | 200
---
apiVersion: config.istio.io/v1alpha2
kind: metric
metadata:
  name: requestduration
  namespace: istio-system
spec:
  value: response.duration | "0ms"
  dimensions:
    destination_service: destination.service | "unknown"
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata:
  name: promhttp
  namespace: istio-system
spec:
  actions:
  - handler: handler.prometheus
    instances: [requestcount.metric, requestduration.metric]
)";

class TelemetryTest : public ::testing::Test {
 protected:
  void startMixs(const std::string& dir) { ASSERT_TRUE(mixs_.start(dir)) << mixs_.output(); }
  std::pair<int, std::string> report(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {binDir() + "/mixc", "report", "-m", mixs_.address()};
    argv.insert(argv.end(), args.begin(), args.end());
    return runCommand(argv);
  }
  static double sample(const std::string& body, const std::string& series) {
    return testing::sampleValue(body, series).value_or(-1);
  }

  MixsProcess mixs_;
};

TEST_F(TelemetryTest, PrometheusScrapesExactlyTheReportsSentByLabel) {
  TempDir config("mixs-telemetry");
  config.write("prometheus.yaml", kPrometheusConfig);
  startMixs(config.path());
  ASSERT_TRUE(mixs_.waitForPrometheus()) << mixs_.output();
  const int port = mixs_.prometheusPort();

  // 7 reports for reviews/200 (load mode, 2 in flight), 3 for ratings/503, 1 with defaults.
  auto [code, out] =
      report({"-s", "destination.service=reviews", "-i", "response.code=200",
              "--duration_attributes", "response.duration=20ms", "-r", "7", "-c", "2"});
  ASSERT_EQ(code, 0) << out;
  for (int i = 0; i < 3; ++i) {
    std::tie(code, out) = report({"-s", "destination.service=ratings", "-i", "response.code=503",
                                  "--duration_attributes", "response.duration=3s"});
    ASSERT_EQ(code, 0) << out;
  }
  std::tie(code, out) = report({"-s", "source.uid=x"});
  ASSERT_EQ(code, 0) << out;

  // Reports reach adapters off the request path: wait until all 11 are counted.
  const std::string reviews =
      R"(istio_requests_total{destination_service="reviews",response_code="200"})";
  const std::string ratings =
      R"(istio_requests_total{destination_service="ratings",response_code="503"})";
  const std::string unknown =
      R"(istio_requests_total{destination_service="unknown",response_code="200"})";
  std::string body;
  for (int i = 0; i < 200; ++i) {
    body = httpGet(port, "/metrics").second;
    if (sample(body, reviews) + sample(body, ratings) + sample(body, unknown) >= 11) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  EXPECT_EQ(sample(body, reviews), 7) << body;
  EXPECT_EQ(sample(body, ratings), 3) << body;
  EXPECT_EQ(sample(body, unknown), 1) << body;
  EXPECT_EQ(
      sample(body,
             R"(istio_request_duration_seconds_bucket{destination_service="ratings",le="2.5"})"),
      0)
      << body;
  EXPECT_EQ(
      sample(body,
             R"(istio_request_duration_seconds_bucket{destination_service="ratings",le="5"})"),
      3)
      << body;

  // promtool: the exposition is clean.
  TempDir work("prometheus");
  work.write("exposition.txt", body);
  std::tie(code, out) = runCommand(
      {"/bin/sh", "-c", "promtool check metrics < " + work.path() + "/exposition.txt 2>&1"});
  EXPECT_EQ(code, 0) << out;
  EXPECT_EQ(out, "");

  // A real Prometheus scrapes the adapter; PromQL counts the reports by label.
  testing::PrometheusServer prometheus;
  ASSERT_TRUE(prometheus.start(work.path(), port)) << prometheus.output();
  const std::string query = "sum%20by%20(destination_service)(istio_requests_total)";
  std::map<std::string, std::string> by_service;
  std::string answer;
  for (int i = 0; i < 150 && by_service.size() < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    answer = prometheus.query(query);
    by_service.clear();
    std::regex re(R"re(\{"destination_service":"([^"]+)"\},"value":\[[0-9.]+,"([^"]+)"\])re");
    for (auto it = std::sregex_iterator(answer.begin(), answer.end(), re);
         it != std::sregex_iterator(); ++it) {
      by_service[(*it)[1].str()] = (*it)[2].str();
    }
  }
  EXPECT_EQ(by_service, (std::map<std::string, std::string>{
                            {"reviews", "7"}, {"ratings", "3"}, {"unknown", "1"}}))
      << answer;
  const std::string up = prometheus.query("up");
  EXPECT_NE(up.find(R"("job":"mixer"},"value":[)"), std::string::npos) << up;
  EXPECT_NE(up.find(R"(,"1"]})"), std::string::npos) << up;
  prometheus.stop(SIGTERM);
}

// Istio's standard metrics as docs/adapters.md gives them for the embedded default
// configuration: a bare `mixc report` must show all four with the "unknown" defaults.
TEST_F(TelemetryTest, StandardMetricsSnippetShowsAllFourMetricsForABareReport) {
  const std::string yaml = testing::standardMetricsConfigFromDocs();
  ASSERT_NE(yaml, "");
  TempDir config("mixs-standard");
  config.write("standard.yaml", yaml);
  startMixs(config.path());
  ASSERT_TRUE(mixs_.waitForPrometheus()) << mixs_.output();
  const int port = mixs_.prometheusPort();
  auto [code, out] = report({"-r", "3"});
  ASSERT_EQ(code, 0) << out;
  const std::string labels =
      R"({reporter="destination",source_workload="unknown",source_workload_namespace="unknown",)"
      R"(source_principal="unknown",source_app="unknown",source_version="unknown",)"
      R"(destination_workload="unknown",destination_workload_namespace="unknown",)"
      R"(destination_principal="unknown",destination_app="unknown",destination_version="unknown",)"
      R"(destination_service="unknown",destination_service_name="unknown",)"
      R"(destination_service_namespace="unknown",request_protocol="unknown",response_code="200",)"
      R"(connection_security_policy="none"})";
  // prometheus-cpp writes labels sorted by name.
  std::map<std::string, std::string> sorted;
  std::regex pair(R"re(([a-z_]+)="([^"]*)")re");
  for (auto it = std::sregex_iterator(labels.begin(), labels.end(), pair);
       it != std::sregex_iterator(); ++it) {
    sorted[(*it)[1].str()] = (*it)[2].str();
  }
  std::string sorted_labels;
  for (const auto& [k, v] : sorted) {
    sorted_labels += (sorted_labels.empty() ? "{" : ",") + k + "=\"" + v + "\"";
  }
  sorted_labels += "}";
  std::string body;
  for (int i = 0; i < 200 && sample(body, "istio_requests_total" + sorted_labels) < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
    body = httpGet(port, "/metrics").second;
  }
  EXPECT_EQ(sample(body, "istio_requests_total" + sorted_labels), 3) << body;
  for (const char* histogram :
       {"istio_request_duration_seconds", "istio_request_bytes", "istio_response_bytes"}) {
    EXPECT_EQ(sample(body, std::string(histogram) + "_count" + sorted_labels), 3)
        << histogram << "\n"
        << body;
  }
}

// The aspect model (0.1): metric descriptors and a metrics aspect reach the same adapter.
constexpr char kAspectConfig[] = R"(subject: namespace:ns
revision: "2022"
metrics:
- name: request_count
  kind: COUNTER
  value: INT64
  labels: {destination_service: 1, response_code: 2}
- name: request_duration
  kind: DISTRIBUTION
  value: DURATION
  labels: {destination_service: 1}
  buckets:
    exponential_buckets: {num_finite_buckets: 3, scale: 0.01, growth_factor: 10}
adapters:
- name: prometheus
  kind: metrics
  impl: prometheus
  params: {address: "127.0.0.1:0"}
rules:
- selector: "true"
  aspects:
  - kind: metrics
    adapter: prometheus
    params:
      metrics:
      - descriptorName: request_count
        value: "1"
        labels:
          destination_service: destination.service | "unknown"
          response_code: response.code | 200
      - descriptorName: request_duration
        value: response.duration | "0ms"
        labels:
          destination_service: destination.service | "unknown"
)";

TEST_F(TelemetryTest, AspectModelDescriptorsBecomePrometheusMetrics) {
  TempDir config("mixs-aspect");
  config.write("aspect.yaml", kAspectConfig);
  startMixs(config.path());
  ASSERT_TRUE(mixs_.waitForPrometheus()) << mixs_.output();
  const int port = mixs_.prometheusPort();
  auto [code, out] = report({"-s", "destination.service=reviews", "-i", "response.code=404",
                             "--duration_attributes", "response.duration=50ms", "-r", "4"});
  ASSERT_EQ(code, 0) << out;
  const std::string count =
      R"(istio_request_count{destination_service="reviews",response_code="404"})";
  std::string body;
  for (int i = 0; i < 200 && sample(body, count) < 4; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
    body = httpGet(port, "/metrics").second;
  }
  EXPECT_EQ(sample(body, count), 4) << body;
  // Bounds 0.01, 0.1, 1, 10: 50ms falls in le="0.1".
  EXPECT_EQ(
      sample(body, R"(istio_request_duration_bucket{destination_service="reviews",le="0.01"})"), 0)
      << body;
  EXPECT_EQ(
      sample(body, R"(istio_request_duration_bucket{destination_service="reviews",le="0.1"})"), 4)
      << body;
  EXPECT_NE(body.find(R"(istio_request_duration_bucket{destination_service="reviews",le="10"})"),
            std::string::npos)
      << body;
}

// Istio's tracespan instance (its default config, trimmed), sent to an in-test collector.
std::string zipkinConfig(int collector_port) {
  return R"(apiVersion: config.istio.io/v1alpha2
kind: zipkin
metadata:
  name: tracing
  namespace: istio-system
spec:
  url: http://127.0.0.1:)" +
         std::to_string(collector_port) + R"(/api/v2/spans
  sampleProbability: 1.0
  flushInterval: 10ms
---
apiVersion: config.istio.io/v1alpha2
kind: tracespan
metadata:
  name: default
  namespace: istio-system
spec:
  traceId: request.headers["x-b3-traceid"]
  parentSpanId: request.headers["x-b3-parentspanid"] | ""
  spanId: request.headers["x-b3-spanid"] | ""
  spanName: destination.service | "unknown"
  startTime: request.time
  endTime: response.time
  clientSpan: (context.reporter.kind | "inbound") == "outbound"
  rewriteClientSpanId: "false"
  sourceName: source.workload.name | "unknown"
  sourceIp: source.ip | ip("0.0.0.0")
  destinationName: destination.workload.name | "unknown"
  destinationIp: destination.ip | ip("0.0.0.0")
  httpStatusCode: response.code | 0
  spanTags:
    http.method: request.method | ""
    http.url: request.path | ""
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata:
  name: tracing
  namespace: istio-system
spec:
  match: request.headers["x-b3-sampled"] == "1"
  actions:
  - handler: tracing.zipkin
    instances: [default.tracespan]
)";
}

TEST_F(TelemetryTest, ZipkinCollectorReceivesExactlyTheReportedSpans) {
  testing::HttpCollector collector;
  TempDir config("mixs-zipkin");
  config.write("zipkin.yaml", zipkinConfig(collector.port()));
  startMixs(config.path());
  const int kSpans = 12;
  for (int i = 1; i <= kSpans; ++i) {
    char id[17];
    std::snprintf(id, sizeof(id), "%016x", i);
    auto [code, out] = report(
        {"-s", "destination.service=reviews,request.method=GET,request.path=/r", "-i",
         "response.code=200", "-a", "source.ip=10.0.0.1", "-t",
         "request.time=2023-11-14T22:13:20Z,response.time=2023-11-14T22:13:20.002Z",
         "--stringmap_attributes",
         std::string("request.headers=x-b3-sampled:1;x-b3-traceid:80f198ee56343ba864fe8b2a57d3eff7;"
                     "x-b3-spanid:") +
             id});
    ASSERT_EQ(code, 0) << out;
  }
  // An unsampled request produces no span.
  auto [code, out] = report({"-s", "destination.service=reviews", "--stringmap_attributes",
                             "request.headers=x-b3-sampled:0;x-b3-traceid:1;x-b3-spanid:2"});
  ASSERT_EQ(code, 0) << out;

  std::vector<std::string> ids;
  std::vector<std::string> bodies;
  for (int i = 0; i < 200 && static_cast<int>(ids.size()) < kSpans; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
    ids.clear();
    bodies.clear();
    for (const auto& r : collector.requests()) {
      bodies.push_back(r.body);
      std::regex re(R"re("id":"([0-9a-f]+)")re");
      for (auto it = std::sregex_iterator(r.body.begin(), r.body.end(), re);
           it != std::sregex_iterator(); ++it) {
        ids.push_back((*it)[1].str());
      }
    }
  }
  mixs_.stop(SIGTERM);
  ASSERT_EQ(static_cast<int>(ids.size()), kSpans) << mixs_.output();
  std::sort(ids.begin(), ids.end());
  for (int i = 1; i <= kSpans; ++i) {
    char id[17];
    std::snprintf(id, sizeof(id), "%016x", i);
    EXPECT_EQ(ids[i - 1], id);
  }
  EXPECT_NE(bodies[0].find(R"("traceId":"80f198ee56343ba864fe8b2a57d3eff7")"), std::string::npos)
      << bodies[0];
  EXPECT_NE(bodies[0].find(R"("timestamp":1700000000000000,"duration":2000)"), std::string::npos)
      << bodies[0];
  EXPECT_NE(bodies[0].find(R"("remoteEndpoint":{"serviceName":"unknown","ipv4":"10.0.0.1"})"),
            std::string::npos)
      << bodies[0];

  TempDir work("zipkin");
  std::vector<std::string> argv = {"/usr/bin/python3", ZIPKIN_SCHEMA_CHECK, ZIPKIN_API_SCHEMA};
  for (size_t i = 0; i < bodies.size(); ++i) {
    work.write("b" + std::to_string(i) + ".json", bodies[i]);
    argv.push_back(work.path() + "/b" + std::to_string(i) + ".json");
  }
  std::tie(code, out) = runCommand(argv);
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("valid: " + std::to_string(kSpans) + " spans"), std::string::npos) << out;
}

}  // namespace
}  // namespace mixer
