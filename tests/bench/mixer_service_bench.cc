// In-process cost of the server's request handling, without the network: decode, dispatch and
// response encoding of a Check / Report shaped like Istio 1.4 sidecar traffic. Reports heap
// allocations per call (counted by a global operator new hook).
//
// Baseline in the same run: parsing the same bytes into the generated protobuf message, which is
// what a server built the conventional way does before any policy logic.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "config/loader.h"
#include "mixer/adapter_host/adapter_host.h"
#include "mixer/api/request_decoder.h"
#include "mixer/runtime/config_store.h"
#include "mixer/server/mixer_service.h"
#include "proxy-filter/core/report_encoder.h"
#include "tests/bench/alloc_counter.h"
#include "tests/bench/inbound_request.h"
#include "tests/bench/istio_request.h"

namespace mixer::bench {
namespace {

void reportAllocations(benchmark::State& state, uint64_t before) {
  state.counters["allocs/op"] = benchmark::Counter(static_cast<double>(allocations() - before),
                                                   benchmark::Counter::kAvgIterations);
}

void BM_ProtobufParseCheckRequest(benchmark::State& state) {
  const std::string bytes = istioCheckRequest();
  istio::mixer::v1::CheckRequest req;
  const uint64_t before = allocations();
  for (auto _ : state) {
    req.ParseFromString(bytes);
    benchmark::DoNotOptimize(req);
  }
  reportAllocations(state, before);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes.size()));
}
BENCHMARK(BM_ProtobufParseCheckRequest);

void BM_DecodeCheckRequest(benchmark::State& state) {
  const std::string bytes = istioCheckRequest();
  attribute::AttributeBag bag(attribute::Vocabulary::builtin());
  api::CheckRequestView view;
  for (int i = 0; i < 10; ++i) {  // warm up reusable storage
    view.clear();
    bag.clear();
    (void)api::parseCheckRequest(bytes, &view);
    (void)api::decodeCheckAttributes(&view, &bag);
  }
  const uint64_t before = allocations();
  for (auto _ : state) {
    view.clear();
    bag.clear();
    auto s1 = api::parseCheckRequest(bytes, &view);
    auto s2 = api::decodeCheckAttributes(&view, &bag);
    benchmark::DoNotOptimize(s1);
    benchmark::DoNotOptimize(s2);
  }
  reportAllocations(state, before);
  state.counters["attributes"] = static_cast<double>(bag.size());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes.size()));
}
BENCHMARK(BM_DecodeCheckRequest);

class ServiceFixture {
 public:
  ServiceFixture()
      : vocab_(attribute::Vocabulary::builtin()),
        source_(
            std::make_shared<runtime::Dispatcher>(runtime::ConfigSnapshot::empty(vocab_), nullptr)),
        service_(&source_, &metrics_, 1 << 20) {}
  server::MixerService& service() { return service_; }

 private:
  server::ServerMetrics metrics_;
  attribute::VocabularyConstSharedPtr vocab_;
  runtime::FixedDispatcherSource source_;
  server::MixerService service_;
};

// Warms up, then times checkInProcess on `bytes`, reporting allocations per call.
void runChecks(benchmark::State& state, server::MixerService& service, const std::string& bytes,
               const server::CallControl& call = {}) {
  std::string out;
  for (int i = 0; i < 10; ++i) {
    (void)service.checkInProcess(bytes, &out, call);
  }
  const uint64_t before = allocations();
  for (auto _ : state) {
    auto s = service.checkInProcess(bytes, &out, call);
    benchmark::DoNotOptimize(s);
  }
  reportAllocations(state, before);
}

void BM_HandleCheck(benchmark::State& state) {
  ServiceFixture f;
  const std::string bytes = istioCheckRequest();
  runChecks(state, f.service(), bytes);
}
BENCHMARK(BM_HandleCheck);

// A deadline an hour away, as a gRPC call with a timeout has: every step boundary reads the clock.
server::CallControl distantDeadline() {
  return server::CallControl{
      runtime::CallDeadline(std::chrono::system_clock::now() + std::chrono::hours(1))};
}

void BM_HandleCheckWithDeadline(benchmark::State& state) {
  ServiceFixture f;
  runChecks(state, f.service(), istioCheckRequest(), distantDeadline());
}
BENCHMARK(BM_HandleCheckWithDeadline);

// Warms up, then times reportInProcess on `bytes` (a batch of `records`), reporting allocations
// per call and records per second.
void runReports(benchmark::State& state, const std::string& bytes, int records) {
  ServiceFixture f;
  for (int i = 0; i < 10; ++i) {
    (void)f.service().reportInProcess(bytes);
  }
  const uint64_t before = allocations();
  for (auto _ : state) {
    auto s = f.service().reportInProcess(bytes);
    benchmark::DoNotOptimize(s);
  }
  reportAllocations(state, before);
  state.SetItemsProcessed(state.iterations() * records);
}

void BM_HandleReport(benchmark::State& state) {
  const int records = static_cast<int>(state.range(0));
  runReports(state, istioReportRequest(records), records);
}
BENCHMARK(BM_HandleReport)->Arg(1)->Arg(100);

// A batch of 100 reports as the proxy client library sends them (ReportEncoder): the nginx
// module's request and response attributes, each record its own request id, path, times and
// duration. With DELTA_ENCODING (argument 1; what the library sends for records of the same
// names) or INDEPENDENT_ENCODING (0; Istio 1.4's client).
std::string proxyReportBatch(bool delta) {
  std::vector<proxy::Attributes> records;
  for (int i = 0; i < 100; ++i) {
    proxy::Attributes a = inboundRequest();
    const std::string id = "c3a8a5a8-4fb6-4c07-9a1b-" + std::to_string(100000000000 + i);
    a.setString("request.id", id);
    a.setMapEntry("request.headers", "x-request-id", id);
    a.setString("request.path", "/productpage?u=" + std::to_string(i));
    a.setTimestamp("request.time",
                   proxy::Timestamp(proxy::Duration(1700000000000000000 + 1000000 * i)));
    proxy::HttpResponseInfo response;
    response.code = 200;
    response.headers = {{"content-type", "text/html"}, {"server", "nginx"}};
    response.size = 5120;
    response.total_size = 5300;
    response.duration = proxy::Duration(400000 + 1000 * i);
    response.time = proxy::Timestamp(proxy::Duration(1700000000000400000 + 1001000 * i));
    proxy::buildResponseAttributes(response, &a);
    records.push_back(std::move(a));
  }
  proxy::ReportEncoder encoder;
  encoder.allowDelta(delta);
  std::string wire;
  encoder.encode(records, 222, &wire);
  return wire;
}

void BM_HandleProxyReport(benchmark::State& state) {
  const std::string bytes = proxyReportBatch(state.range(0) != 0);
  runReports(state, bytes, 100);
  state.counters["bytes/record"] = static_cast<double>(bytes.size()) / 100;
}
BENCHMARK(BM_HandleProxyReport)->ArgName("delta")->Arg(0)->Arg(1);

// A configuration compiled in-process from YAML, with the build's adapters.
class ConfiguredService {
 public:
  explicit ConfiguredService(const std::string& yaml) {
    config::LoadResult loaded;
    config::loadText(yaml, "bench.yaml", &loaded);
    config::resolve(&loaded);
    std::vector<config::ConfigError> errors = loaded.errors;
    auto snapshot = runtime::compileSnapshot(loaded.model, host_.registry(),
                                             attribute::Vocabulary::builtin(), 1, &errors);
    if (!snapshot) {
      for (const auto& e : errors) {
        std::fprintf(stderr, "%s\n", e.str().c_str());
      }
      std::abort();
    }
    source_ = std::make_unique<runtime::FixedDispatcherSource>(
        std::make_shared<runtime::Dispatcher>(snapshot, &queue_));
    service_ = std::make_unique<server::MixerService>(source_.get(), &metrics_, 1 << 20);
  }
  ~ConfiguredService() { queue_.shutdown(); }
  server::MixerService& service() { return *service_; }

 private:
  adapter_host::AdapterHost host_{{}};
  runtime::ReportQueue queue_{100000, absl::Seconds(1), nullptr};
  server::ServerMetrics metrics_;
  std::unique_ptr<runtime::FixedDispatcherSource> source_;
  std::unique_ptr<server::MixerService> service_;
};

// N rules, one matching the request (a denier answering OK), as tests/bench/gen_rules.py writes.
std::string rulesYaml(int n) {
  std::string y =
      "apiVersion: config.istio.io/v1alpha2\nkind: denier\nmetadata: {name: allow, namespace: "
      "istio-system}\nspec: {status: {code: 0}, validDuration: 10s, validUseCount: 100}\n---\n"
      "apiVersion: config.istio.io/v1alpha2\nkind: checknothing\nmetadata: {name: nothing, "
      "namespace: istio-system}\n";
  for (int i = 0; i < n; ++i) {
    const std::string svc =
        i == 0 ? "reviews.default.svc.cluster.local" : "svc" + std::to_string(i) + ".default";
    y += "---\napiVersion: config.istio.io/v1alpha2\nkind: rule\nmetadata: {name: rule" +
         std::to_string(i) +
         ", namespace: istio-system}\nspec:\n  match: "
         "destination.service.host == \"" +
         svc +
         "\" && request.method == \"GET\"\n"
         "  actions:\n  - handler: allow.denier\n    instances: [nothing.checknothing]\n";
  }
  return y;
}

void BM_HandleCheckWithRules(benchmark::State& state) {
  ConfiguredService f(rulesYaml(static_cast<int>(state.range(0))));
  const std::string bytes = istioCheckRequest();
  runChecks(state, f.service(), bytes);
}
BENCHMARK(BM_HandleCheckWithRules)->Arg(10)->Arg(100)->Arg(1000);

void BM_HandleCheckWithRulesAndDeadline(benchmark::State& state) {
  ConfiguredService f(rulesYaml(static_cast<int>(state.range(0))));
  runChecks(state, f.service(), istioCheckRequest(), distantDeadline());
}
BENCHMARK(BM_HandleCheckWithRulesAndDeadline)->Arg(10)->Arg(100)->Arg(1000);

// The rules of BM_HandleCheckWithRules behind an attribute generator: a registryenv handler
// (a registry directory of 100 services, the request's source.ip among them) whose bindings add
// the source workload's name, namespace and labels before the check rules run.
void BM_HandleCheckWithGenerator(benchmark::State& state) {
  const std::string dir = (std::filesystem::temp_directory_path() /
                           ("mixer_service_bench_registry_" + std::to_string(::getpid())))
                              .string();
  std::filesystem::create_directories(dir);
  {
    std::ofstream out(dir + "/services.yaml");
    out << "services:\n";
    for (int i = 0; i < 100; ++i) {
      out << "- hostname: svc" << i << ".default.svc.cluster.local\n"
          << "  ports: [{name: http, number: 9080, protocol: HTTP}]\n"
          << "  instances:\n  - {address: 10.44." << (i == 0 ? 1 : 2) << "." << (i == 0 ? 7 : i)
          << ", port: 9080, labels: {app: svc" << i << ", version: v1}}\n";
    }
  }
  ConfiguredService f(rulesYaml(10) + R"(
---
apiVersion: config.istio.io/v1alpha2
kind: registryenv
metadata: {name: handler, namespace: istio-system}
spec: {directory: )" + dir +
                      R"(}
---
apiVersion: config.istio.io/v1alpha2
kind: kubernetes
metadata: {name: attributes, namespace: istio-system}
spec:
  source_uid: source.uid | ""
  source_ip: source.ip | ip("0.0.0.0")
  destination_ip: destination.ip | ip("0.0.0.0")
  destination_port: destination.port | 0
  attribute_bindings:
    source.workload.name: $out.source_workload_name | "unknown"
    source.workload.namespace: $out.source_workload_namespace | "unknown"
    source.labels: $out.source_labels | emptyStringMap()
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: {name: kubeattrgenrulerule, namespace: istio-system}
spec:
  actions:
  - handler: handler.registryenv
    instances: [attributes.kubernetes]
)");
  std::filesystem::remove_all(dir);
  runChecks(state, f.service(), istioCheckRequest());
}
BENCHMARK(BM_HandleCheckWithGenerator);

// A Check carrying one quota that a memquota handler grants (its limit is never reached): the
// cost of the quota path, including the per-call state an asynchronous adapter answer needs.
void BM_HandleCheckWithQuota(benchmark::State& state) {
  ConfiguredService f(R"(apiVersion: config.istio.io/v1alpha2
kind: memquota
metadata: {name: handler, namespace: istio-system}
spec:
  quotas:
  - name: requestcount.quota.istio-system
    maxAmount: 1000000000000
    validDuration: 1h
---
apiVersion: config.istio.io/v1alpha2
kind: quota
metadata: {name: requestcount, namespace: istio-system}
spec:
  dimensions:
    destination: destination.service.host | "unknown"
---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: {name: quota, namespace: istio-system}
spec:
  actions:
  - handler: handler.memquota
    instances: [requestcount.quota]
)");
  istio::mixer::v1::CheckRequest req;
  req.ParseFromString(istioCheckRequest());
  (*req.mutable_quotas())["requestcount"].set_amount(1);
  const std::string bytes = req.SerializeAsString();
  runChecks(state, f.service(), bytes);
}
BENCHMARK(BM_HandleCheckWithQuota);

// The embedded default configuration: per record, an access log line through the stdio adapter
// (written to /dev/null) and Istio's four standard metrics through the prometheus adapter.
void BM_HandleReportAccessLog(benchmark::State& state) {
  std::string yaml = runtime::embeddedDefaultConfig("127.0.0.1:0");
  const std::string from = "outputAsJson: true";
  yaml.replace(yaml.find(from), from.size(),
               "{outputAsJson: true, logStream: FILE, outputPath: /dev/null}");
  ConfiguredService f(yaml);
  const int records = static_cast<int>(state.range(0));
  const std::string bytes = istioReportRequest(records);
  for (int i = 0; i < 10; ++i) {
    (void)f.service().reportInProcess(bytes);
  }
  const uint64_t before = allocations();
  for (auto _ : state) {
    auto s = f.service().reportInProcess(bytes);
    benchmark::DoNotOptimize(s);
  }
  reportAllocations(state, before);
  state.SetItemsProcessed(state.iterations() * records);
}
BENCHMARK(BM_HandleReportAccessLog)->Arg(1)->Arg(100);

}  // namespace
}  // namespace mixer::bench

BENCHMARK_MAIN();
