// The prometheus adapter, loaded from the build's adapter folder like any third-party adapter;
// its exposition is scraped over HTTP and checked with promtool.
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <regex>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mixer/adapter_host/adapter_registry.h"
#include "mixer/adapter_host/host_services.h"
#include "mixer/adapter_host/yaml_params.h"
#include "tests/testing/subprocess.h"

namespace mixer::adapter_host {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::UnorderedElementsAre;

// Istio's standard request metrics, as in Istio's default config (a subset of labels).
constexpr char kStandardParams[] = R"(
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
    explicit_buckets:
      bounds: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
- name: request_bytes
  instance_name: requestsize.metric.istio-system
  kind: DISTRIBUTION
  label_names: [destination_service]
  buckets:
    exponentialBuckets: {numFiniteBuckets: 8, scale: 1, growthFactor: 10}
- name: in_flight
  namespace: test
  instance_name: inflight.metric.istio-system
  kind: GAUGE
  label_names: [destination_service]
)";

class PrometheusTest : public ::testing::Test {
 protected:
  PrometheusTest()
      : services_(&counters_, &executor_,
                  [this](int32_t, std::string_view, std::string_view message) {
                    std::lock_guard<std::mutex> lock(log_mu_);
                    log_.emplace_back(message);
                  }),
        registry_(&services_) {}
  ~PrometheusTest() override { executor_.shutdown(); }

  void SetUp() override {
    ASSERT_TRUE(registry_.loadFile(std::string(ADAPTER_DIR) + "/prometheus.so").ok());
    adapter_ = registry_.find("prometheus");
    ASSERT_NE(adapter_, nullptr);
  }

  static AbiValue yaml(const std::string& text) {
    std::vector<ParamError> errors;
    AbiValue v = valueFromYaml(YAML::Load(text), "params", &errors);
    EXPECT_TRUE(errors.empty());
    return v;
  }
  HandlerPtr handler(const std::string& params_yaml) {
    auto created = adapter_->createHandler("handler", yaml(params_yaml));
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? *std::move(created) : nullptr;
  }
  std::vector<std::string> errors(const std::string& params_yaml) {
    std::vector<std::string> out;
    for (const ParamError& e : adapter_->validateParams(yaml(params_yaml))) {
      out.push_back(e.toString());
    }
    return out;
  }
  // The port of the most recent "serving /metrics on host:port" log line.
  int port() {
    std::lock_guard<std::mutex> lock(log_mu_);
    std::smatch m;
    for (auto it = log_.rbegin(); it != log_.rend(); ++it) {
      if (std::regex_search(*it, m, std::regex(R"(serving /metrics on [^ ]*:(\d+))"))) {
        return std::stoi(m[1].str());
      }
    }
    return 0;
  }
  std::string scrape() {
    auto [code, body] = testing::httpGet(port(), "/metrics");
    EXPECT_EQ(code, 200);
    return body;
  }
  static Instance metric(const std::string& name, AbiValue value,
                         std::vector<std::pair<std::string, AbiValue>> dims) {
    Instance i{name, "metric", AbiValue::map()};
    i.fields.set("value", std::move(value));
    AbiValue d = AbiValue::map();
    for (auto& [k, v] : dims) {
      d.set(k, std::move(v));
    }
    i.fields.set("dimensions", std::move(d));
    return i;
  }
  void report(Handler& h, std::vector<Instance> instances) {
    std::vector<const Instance*> ptrs;
    for (const Instance& i : instances) {
      ptrs.push_back(&i);
    }
    ASSERT_TRUE(h.reportAndWait(ptrs, absl::Seconds(1)).ok());
  }
  // The value of one exposition line (`series` is the text before the value), or -1.
  static double sample(const std::string& body, const std::string& series) {
    const size_t pos = body.find("\n" + series + " ");
    return pos == std::string::npos ? -1 : std::stod(body.substr(pos + series.size() + 2));
  }

  InMemoryCounterRegistry counters_;
  BackgroundExecutor executor_{1};
  std::mutex log_mu_;
  std::vector<std::string> log_;
  HostServices services_;
  AdapterRegistry registry_;
  std::shared_ptr<const LoadedAdapter> adapter_;
};

TEST_F(PrometheusTest, CountsPerLabelValues) {
  HandlerPtr h = handler(kStandardParams);
  ASSERT_NE(h, nullptr);
  ASSERT_GT(port(), 0);
  std::vector<Instance> batch;
  for (int i = 0; i < 3; ++i) {
    batch.push_back(metric("requestcount.metric.istio-system", AbiValue::int64(1),
                           {{"destination_service", AbiValue::string("reviews")},
                            {"response_code", AbiValue::int64(200)}}));
  }
  batch.push_back(metric("requestcount.metric.istio-system", AbiValue::int64(1),
                         {{"destination_service", AbiValue::string("ratings")},
                          {"response_code", AbiValue::int64(503)}}));
  report(*h, batch);
  report(*h, {metric("requestcount.metric.istio-system", AbiValue::int64(2),
                     {{"destination_service", AbiValue::string("ratings")},
                      {"response_code", AbiValue::int64(503)}})});
  const std::string body = scrape();
  EXPECT_EQ(
      sample(body, R"(istio_requests_total{destination_service="reviews",response_code="200"})"),
      3);
  EXPECT_EQ(
      sample(body, R"(istio_requests_total{destination_service="ratings",response_code="503"})"),
      3);
  EXPECT_THAT(body, HasSubstr("# TYPE istio_requests_total counter"));
}

TEST_F(PrometheusTest, DimensionsInAnyOrderOrAbsentFindTheirLabels) {
  HandlerPtr h = handler(kStandardParams);
  report(*h, {metric("requestcount.metric.istio-system", AbiValue::int64(1),
                     {{"destination_service", AbiValue::string("a")},
                      {"response_code", AbiValue::int64(200)}}),
              metric("requestcount.metric.istio-system", AbiValue::int64(1),
                     {{"response_code", AbiValue::int64(200)},
                      {"extra", AbiValue::string("x")},
                      {"destination_service", AbiValue::string("a")}}),
              metric("requestcount.metric.istio-system", AbiValue::int64(1),
                     {{"response_code", AbiValue::int64(200)}})});
  const std::string body = scrape();
  EXPECT_EQ(sample(body, R"(istio_requests_total{destination_service="a",response_code="200"})"),
            2);
  EXPECT_EQ(sample(body, R"(istio_requests_total{destination_service="",response_code="200"})"), 1);
}

TEST_F(PrometheusTest, DurationsAreObservedInSecondsWithExplicitBuckets) {
  HandlerPtr h = handler(kStandardParams);
  report(*h, {metric("requestduration.metric.istio-system", AbiValue::durationNs(20'000'000),
                     {{"destination_service", AbiValue::string("reviews")}}),
              metric("requestduration.metric.istio-system", AbiValue::durationNs(3'000'000'000),
                     {{"destination_service", AbiValue::string("reviews")}})});
  const std::string body = scrape();
  const std::string prefix =
      "istio_request_duration_seconds_bucket{destination_service=\"reviews\",le=";
  EXPECT_EQ(sample(body, prefix + "\"0.01\"}"), 0);
  EXPECT_EQ(sample(body, prefix + "\"0.025\"}"), 1);
  EXPECT_EQ(sample(body, prefix + "\"2.5\"}"), 1);
  EXPECT_EQ(sample(body, prefix + "\"5\"}"), 2);
  EXPECT_EQ(sample(body, prefix + "\"+Inf\"}"), 2);
  EXPECT_DOUBLE_EQ(
      sample(body, "istio_request_duration_seconds_sum{destination_service=\"reviews\"}"), 3.02);
  EXPECT_EQ(sample(body, "istio_request_duration_seconds_count{destination_service=\"reviews\"}"),
            2);
}

TEST_F(PrometheusTest, ExponentialAndLinearBucketsHaveNumFiniteBucketsPlusOneBounds) {
  HandlerPtr h = handler(std::string(kStandardParams) + R"(
- name: linear
  instance_name: linear.metric
  kind: DISTRIBUTION
  buckets: {linear_buckets: {num_finite_buckets: 3, width: 10, offset: 5}}
)");
  report(*h, {metric("requestsize.metric.istio-system", AbiValue::int64(50),
                     {{"destination_service", AbiValue::string("reviews")}}),
              metric("linear.metric.istio-system", AbiValue::float64(16), {})});
  const std::string body = scrape();
  std::vector<std::string> le;
  std::regex re(R"re(istio_request_bytes_bucket\{destination_service="reviews",le="([^"]+)"\})re");
  for (auto it = std::sregex_iterator(body.begin(), body.end(), re); it != std::sregex_iterator();
       ++it) {
    le.push_back((*it)[1].str());
  }
  EXPECT_EQ(le, (std::vector<std::string>{"1", "10", "100", "1000", "10000", "100000", "1000000",
                                          "10000000", "100000000", "+Inf"}));
  EXPECT_EQ(sample(body, R"(istio_request_bytes_bucket{destination_service="reviews",le="10"})"),
            0);
  EXPECT_EQ(sample(body, R"(istio_request_bytes_bucket{destination_service="reviews",le="100"})"),
            1);
  EXPECT_EQ(sample(body, R"(istio_linear_bucket{le="15"})"), 0);
  EXPECT_EQ(sample(body, R"(istio_linear_bucket{le="25"})"), 1);
  EXPECT_EQ(sample(body, R"(istio_linear_bucket{le="35"})"), 1);
  EXPECT_THAT(body, Not(HasSubstr(R"(istio_linear_bucket{le="45"})")));
}

TEST_F(PrometheusTest, GaugeTakesTheLastValueAndNamespaceIsThePrefix) {
  HandlerPtr h = handler(kStandardParams);
  report(*h, {metric("inflight.metric.istio-system", AbiValue::float64(7.5),
                     {{"destination_service", AbiValue::string("a")}}),
              metric("inflight.metric.istio-system", AbiValue::float64(2.5),
                     {{"destination_service", AbiValue::string("a")}})});
  const std::string body = scrape();
  EXPECT_EQ(sample(body, R"(test_in_flight{destination_service="a"})"), 2.5);
  EXPECT_THAT(body, HasSubstr("# TYPE test_in_flight gauge"));
}

TEST_F(PrometheusTest, ExpositionPassesPromtool) {
  HandlerPtr h = handler(kStandardParams);
  report(*h, {metric("requestcount.metric.istio-system", AbiValue::int64(1),
                     {{"destination_service", AbiValue::string("we\"ird\\svc\n")},
                      {"response_code", AbiValue::int64(200)}}),
              metric("requestduration.metric.istio-system", AbiValue::durationNs(1'000'000),
                     {{"destination_service", AbiValue::string("a")}}),
              metric("requestsize.metric.istio-system", AbiValue::int64(10),
                     {{"destination_service", AbiValue::string("a")}}),
              metric("inflight.metric.istio-system", AbiValue::int64(1),
                     {{"destination_service", AbiValue::string("a")}})});
  const std::string path =
      ::testing::TempDir() + "/prometheus_exposition_" + std::to_string(::getpid()) + ".txt";
  std::ofstream(path) << scrape();
  auto [code, out] =
      testing::runCommand({"/bin/sh", "-c", "promtool check metrics < " + path + " 2>&1"});
  std::filesystem::remove(path);
  EXPECT_EQ(code, 0) << out;
  EXPECT_EQ(out, "") << out;
}

TEST_F(PrometheusTest, UnknownInstancesAndNonNumericValuesAreCountedNotRecorded) {
  HandlerPtr h = handler(kStandardParams);
  report(*h, {metric("other.metric.istio-system", AbiValue::int64(1), {}),
              metric("requestcount.metric.istio-system", AbiValue::string("many"),
                     {{"destination_service", AbiValue::string("x")}})});
  EXPECT_EQ(counters_.value("mixer_adapter_prometheus_skipped_instances_total",
                            {{"adapter", "prometheus"}}),
            2);
  EXPECT_THAT(scrape(), Not(HasSubstr("destination_service=\"x\"")));
}

// A flood of distinct label values (a client choosing destination.service.host) grows a metric
// only to max_series_per_metric series: new combinations past it are dropped, counted per metric
// in the exposition and logged sampled; existing series keep counting; the scrape stays valid.
TEST_F(PrometheusTest, ACardinalityFloodIsCappedCountedAndLoggedSampled) {
  HandlerPtr h = handler(std::string(kStandardParams) + "max_series_per_metric: 50\n");
  ASSERT_NE(h, nullptr);
  constexpr int kValues = 2000;
  for (int i = 0; i < kValues; i += 100) {
    std::vector<Instance> batch;
    for (int j = i; j < i + 100; ++j) {
      batch.push_back(
          metric("requestcount.metric.istio-system", AbiValue::int64(1),
                 {{"destination_service", AbiValue::string("host-" + std::to_string(j))},
                  {"response_code", AbiValue::int64(200)}}));
    }
    report(*h, batch);
  }
  // An existing series still counts.
  report(*h, {metric("requestcount.metric.istio-system", AbiValue::int64(5),
                     {{"destination_service", AbiValue::string("host-0")},
                      {"response_code", AbiValue::int64(200)}})});
  const std::string body = scrape();
  size_t series = 0;
  for (size_t at = 0; (at = body.find("\nistio_requests_total{", at)) != std::string::npos; ++at) {
    ++series;
  }
  EXPECT_EQ(series, 50u);
  EXPECT_EQ(
      sample(body, R"(istio_requests_total{destination_service="host-0",response_code="200"})"), 6);
  EXPECT_EQ(sample(body, R"(mixer_prometheus_series_dropped_total{metric="istio_requests_total"})"),
            kValues - 50);
  size_t logged = 0;
  {
    std::lock_guard<std::mutex> lock(log_mu_);
    for (const std::string& line : log_) {
      logged += line.find("is at its cap of 50 series") != std::string::npos;
    }
  }
  EXPECT_GE(logged, 1u);
  EXPECT_LE(logged, 12u) << "logged on the 1st, 2nd, 4th, ... drop of " << kValues - 50;
}

// The exposition is UTF-8: a label value that is not becomes U+FFFD, and promtool accepts it.
TEST_F(PrometheusTest, LabelValuesThatAreNotUtf8AreReplaced) {
  HandlerPtr h = handler(kStandardParams);
  report(*h, {metric("requestcount.metric.istio-system", AbiValue::int64(1),
                     {{"destination_service", AbiValue::string("caf\xc3\xa9\xff")},
                      {"response_code", AbiValue::int64(200)}})});
  const std::string body = scrape();
  EXPECT_THAT(body, HasSubstr("destination_service=\"caf\xc3\xa9\xef\xbf\xbd\""));
  EXPECT_THAT(body, Not(HasSubstr("\xff")));
}

TEST_F(PrometheusTest, ExpiredSeriesDisappear) {
  HandlerPtr h = handler(std::string(kStandardParams) + R"(
metrics_expiration_policy: {metrics_expiry_duration: 200ms, expiry_check_interval_duration: 20ms}
)");
  report(*h, {metric("requestcount.metric.istio-system", AbiValue::int64(1),
                     {{"destination_service", AbiValue::string("old")},
                      {"response_code", AbiValue::int64(200)}})});
  EXPECT_THAT(scrape(), HasSubstr("destination_service=\"old\""));
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    // Keep another series fresh, so only the stale one may go.
    report(*h, {metric("requestcount.metric.istio-system", AbiValue::int64(1),
                       {{"destination_service", AbiValue::string("fresh")},
                        {"response_code", AbiValue::int64(200)}})});
    gone = scrape().find("destination_service=\"old\"") == std::string::npos;
  }
  EXPECT_TRUE(gone);
  EXPECT_THAT(scrape(), HasSubstr("destination_service=\"fresh\""));
}

TEST_F(PrometheusTest, ANewHandlerWithTheSameDefinitionKeepsTheValues) {
  HandlerPtr first = handler(kStandardParams);
  const int port_before = port();
  report(*first, {metric("requestcount.metric.istio-system", AbiValue::int64(4),
                         {{"destination_service", AbiValue::string("a")},
                          {"response_code", AbiValue::int64(200)}})});
  // A configuration change: the new handler is created before the old one is closed.
  HandlerPtr second = handler(kStandardParams);
  first->close();
  first.reset();
  report(*second, {metric("requestcount.metric.istio-system", AbiValue::int64(1),
                          {{"destination_service", AbiValue::string("a")},
                           {"response_code", AbiValue::int64(200)}})});
  EXPECT_EQ(port(), port_before);
  const std::string body = scrape();
  EXPECT_EQ(sample(body, R"(istio_requests_total{destination_service="a",response_code="200"})"),
            5);
  // The closed handler's families are not listed twice.
  EXPECT_EQ(body.find("# TYPE istio_requests_total"), body.rfind("# TYPE istio_requests_total"));
}

TEST_F(PrometheusTest, ClosingTheLastHandlerStopsTheExposition) {
  HandlerPtr h = handler(kStandardParams);
  const int p = port();
  ASSERT_EQ(testing::httpGet(p, "/metrics").first, 200);
  h->close();
  h.reset();
  EXPECT_EQ(testing::httpGet(p, "/metrics").first, 0);
}

TEST_F(PrometheusTest, ValidationReportsEveryErrorWithItsPath) {
  EXPECT_THAT(
      errors(R"(
metrics:
- name: ok_total
  instance_name: a.metric
  kind: COUNTER
  label_names: [good, "bad-label", good]
- name: "bad name"
  instance_name: b.metric
  kind: HISTOGRAM
- instance_name: c.metric
  kind: DISTRIBUTION
- name: d
  instance_name: d.metric
  kind: DISTRIBUTION
  buckets: {linear_buckets: {num_finite_buckets: 0, width: 1}, explicit_buckets: {bounds: [2, 1]}}
- name: ok_total
  instance_name: e.metric
  kind: GAUGE
metrics_expiration_policy: {metrics_expiry_duration: 0s}
adress: ":1"
)"),
      UnorderedElementsAre(
          "params.adress: unknown field 'adress'",
          "params.metrics[0].label_names[1]: 'bad-label' is not a valid prometheus label name",
          "params.metrics[0].label_names[2]: duplicate label 'good'",
          "params.metrics[1].name: 'istio_bad name' is not a valid prometheus metric name",
          "params.metrics[1].kind: required: GAUGE, COUNTER or DISTRIBUTION",
          "params.metrics[2].name: required: a non-empty string",
          "params.metrics[2].buckets: required for a DISTRIBUTION",
          "params.metrics[3].buckets.linear_buckets.num_finite_buckets: must be between 1 and "
          "100000, got 0",
          "params.metrics[3].buckets.linear_buckets.num_finite_buckets: must be > 0",
          "params.metrics[3].buckets.explicit_buckets.bounds[1]: bounds must be strictly "
          "increasing",
          "params.metrics[3].buckets: exactly one of linear_buckets, exponential_buckets, "
          "explicit_buckets is required",
          "params.metrics[4].name: duplicate metric 'istio_ok_total' (also metrics[0])",
          "params.metrics_expiration_policy.metrics_expiry_duration: must be > 0"));
  EXPECT_THAT(errors(kStandardParams), ::testing::IsEmpty());
}

}  // namespace
}  // namespace mixer::adapter_host
