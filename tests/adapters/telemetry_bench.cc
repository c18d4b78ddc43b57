// The report cost of the telemetry adapters per record, through the host with instances encoded
// once (as the runtime passes views of evaluated instances), and the baseline the prometheus
// adapter's series cache is measured against: prometheus-cpp's Family::Add with a label map per
// record.
#include <benchmark/benchmark.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>
#include <vector>

#include "mixer/adapter_host/adapter_host.h"
#include "mixer/adapter_host/yaml_params.h"
#include "tests/testing/http_collector.h"

namespace mixer::adapter_host {
namespace {

// Istio's 17 standard labels.
const std::vector<std::string>& labelNames() {
  static const std::vector<std::string> names = {"reporter",
                                                 "source_workload",
                                                 "source_workload_namespace",
                                                 "source_principal",
                                                 "source_app",
                                                 "source_version",
                                                 "destination_workload",
                                                 "destination_workload_namespace",
                                                 "destination_principal",
                                                 "destination_app",
                                                 "destination_version",
                                                 "destination_service",
                                                 "destination_service_name",
                                                 "destination_service_namespace",
                                                 "request_protocol",
                                                 "response_code",
                                                 "connection_security_policy"};
  return names;
}

std::string labelList() {
  std::string out;
  for (const std::string& n : labelNames()) {
    out += (out.empty() ? "" : ", ") + n;
  }
  return out;
}

Instance metric(const std::string& name, AbiValue value, int variant) {
  Instance i{name + ".metric.istio-system", "metric", AbiValue::map()};
  i.fields.set("value", std::move(value));
  AbiValue dims = AbiValue::map();
  for (const std::string& n : labelNames()) {
    dims.set(n, n == "response_code"
                    ? AbiValue::int64(200 + variant % 4)
                    : AbiValue::string(n + "-value-" + std::to_string(variant % 8)));
  }
  i.fields.set("dimensions", std::move(dims));
  return i;
}

AdapterHost::Options options() {
  AdapterHost::Options o;
  o.adapter_dirs = {ADAPTER_DIR};
  o.log = nullptr;
  return o;
}

AbiValue yaml(const std::string& text) {
  std::vector<ParamError> errors;
  return valueFromYaml(YAML::Load(text), "params", &errors);
}

std::string prometheusParams() {
  const std::string labels = "  label_names: [" + labelList() + "]\n";
  return "address: \"127.0.0.1:0\"\nmetrics:\n"
         "- name: requests_total\n  instance_name: requestcount.metric.istio-system\n"
         "  kind: COUNTER\n" +
         labels +
         "- name: request_duration_seconds\n  instance_name: requestduration.metric.istio-system\n"
         "  kind: DISTRIBUTION\n" +
         labels +
         "  buckets: {explicit_buckets: {bounds: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, "
         "2.5, 5, 10]}}\n"
         "- name: request_bytes\n  instance_name: requestsize.metric.istio-system\n"
         "  kind: DISTRIBUTION\n" +
         labels +
         "  buckets: {exponential_buckets: {num_finite_buckets: 8, scale: 1, growth_factor: 10}}\n"
         "- name: response_bytes\n  instance_name: responsesize.metric.istio-system\n"
         "  kind: DISTRIBUTION\n" +
         labels +
         "  buckets: {exponential_buckets: {num_finite_buckets: 8, scale: 1, growth_factor: 10}}\n";
}

// `per_record` instances per record (1: requestcount only; 4: Istio's four standard metrics), in
// batches of state.range(0) records; 8 distinct label combinations.
void reportPrometheus(benchmark::State& state, int per_record) {
  AdapterHost host(options());
  auto handler =
      host.registry().find("prometheus")->createHandler("handler", yaml(prometheusParams()));
  const int records = static_cast<int>(state.range(0));
  std::vector<Instance> instances;
  for (int r = 0; r < records; ++r) {
    instances.push_back(metric("requestcount", AbiValue::int64(1), r));
    if (per_record == 4) {
      instances.push_back(metric("requestduration", AbiValue::durationNs(12'000'000), r));
      instances.push_back(metric("requestsize", AbiValue::int64(512), r));
      instances.push_back(metric("responsesize", AbiValue::int64(2048), r));
    }
  }
  std::vector<std::unique_ptr<EncodedInstance>> encoded;
  std::vector<const mixer_instance*> batch;
  for (const Instance& i : instances) {
    encoded.push_back(std::make_unique<EncodedInstance>(i));
    batch.push_back(encoded.back()->get());
  }
  for (auto _ : state) {
    (*handler)->report(batch.data(), batch.size(), absl::Seconds(1), [](absl::Status) {});
  }
  state.SetItemsProcessed(state.iterations() * records);
  handler->reset();
}

void BM_PrometheusReportRequestCount(benchmark::State& state) { reportPrometheus(state, 1); }
BENCHMARK(BM_PrometheusReportRequestCount)->Arg(1)->Arg(100);

void BM_PrometheusReportStandardMetrics(benchmark::State& state) { reportPrometheus(state, 4); }
BENCHMARK(BM_PrometheusReportStandardMetrics)->Arg(1)->Arg(100);

// The baseline without the adapter's series cache: a prometheus-cpp label map and Family::Add
// (a hash of the labels and a lookup under the family's mutex) for every record.
void BM_PrometheusCppFamilyAddPerRecord(benchmark::State& state) {
  prometheus::Registry registry;
  auto& family =
      prometheus::BuildCounter().Name("istio_requests_total").Help("x").Register(registry);
  int r = 0;
  for (auto _ : state) {
    prometheus::Labels labels;
    for (const std::string& n : labelNames()) {
      labels.emplace(n, n == "response_code" ? std::to_string(200 + r % 4)
                                             : n + "-value-" + std::to_string(r % 8));
    }
    family.Add(labels).Increment();
    ++r;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PrometheusCppFamilyAddPerRecord);

// Conversion to Zipkin JSON and queueing, per span; an in-process collector receives the POSTs.
void BM_ZipkinReport(benchmark::State& state) {
  testing::HttpCollector collector;
  AdapterHost host(options());
  auto handler = host.registry().find("zipkin")->createHandler(
      "tracing", yaml("url: http://127.0.0.1:" + std::to_string(collector.port()) +
                      "/api/v2/spans\nbatch_size: 1000\nmax_queued_spans: 10000000"));
  const int spans = static_cast<int>(state.range(0));
  std::vector<Instance> instances;
  for (int s = 0; s < spans; ++s) {
    Instance i{"default.tracespan.istio-system", "tracespan", AbiValue::map()};
    i.fields.set("traceId", AbiValue::string("80f198ee56343ba864fe8b2a57d3eff7"));
    i.fields.set("spanId", AbiValue::string("e457b5a2e4d86bd1"));
    i.fields.set("parentSpanId", AbiValue::string("05e3ac9a4f6e3b90"));
    i.fields.set("spanName", AbiValue::string("reviews.default.svc.cluster.local:9080/*"));
    i.fields.set("startTime", AbiValue::timestampNs(1'700'000'000'123'456'789));
    i.fields.set("endTime", AbiValue::timestampNs(1'700'000'000'125'456'789));
    i.fields.set("httpStatusCode", AbiValue::int64(200));
    i.fields.set("clientSpan", AbiValue::boolean(false));
    i.fields.set("sourceName", AbiValue::string("productpage"));
    i.fields.set("sourceIp", AbiValue::ipAddress(std::string("\x0a\x00\x00\x01", 4)));
    i.fields.set("destinationName", AbiValue::string("reviews"));
    i.fields.set("destinationIp", AbiValue::ipAddress(std::string("\x0a\x00\x00\x02", 4)));
    i.fields.set("spanTags", AbiValue::map({{"http.method", AbiValue::string("GET")},
                                            {"http.url", AbiValue::string("/reviews/0")}}));
    instances.push_back(std::move(i));
  }
  std::vector<std::unique_ptr<EncodedInstance>> encoded;
  std::vector<const mixer_instance*> batch;
  for (const Instance& i : instances) {
    encoded.push_back(std::make_unique<EncodedInstance>(i));
    batch.push_back(encoded.back()->get());
  }
  for (auto _ : state) {
    (*handler)->report(batch.data(), batch.size(), absl::Seconds(1), [](absl::Status) {});
  }
  state.SetItemsProcessed(state.iterations() * spans);
  handler->reset();
}
BENCHMARK(BM_ZipkinReport)->Arg(1)->Arg(100);

}  // namespace
}  // namespace mixer::adapter_host

BENCHMARK_MAIN();
