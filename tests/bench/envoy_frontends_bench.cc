// In-process cost of the Envoy front-ends (frontends/envoy), against the Mixer API in the same
// run: decode, dispatch and response encoding, without the network (as mixer_service_bench).
//
// - ext_authz Check vs a Mixer Check carrying the same attributes (the Mixer request is encoded
//   from the bag the ext_authz request maps to), both against the same 10 rules;
// - ShouldRateLimit with one descriptor against memquota vs a plain Mixer Check (same config);
// - StreamAccessLogs messages of 100 HTTP entries vs a Mixer Report of 100 records, through the
//   embedded default configuration (stdio to /dev/null and the standard prometheus metrics; the
//   adapters run on the report queue's threads, outside the timed thread, for both).
// Reports heap allocations per call.
#include <benchmark/benchmark.h>

#include "config/loader.h"
#include "envoy/service/accesslog/v3/als.pb.h"
#include "envoy/service/auth/v3/external_auth.pb.h"
#include "envoy/service/ratelimit/v3/rls.pb.h"
#include "frontends/envoy/envoy_services.h"
#include "mixer/adapter_host/adapter_host.h"
#include "mixer/api/attribute_encoder.h"
#include "mixer/runtime/config_store.h"
#include "mixer/server/mixer_service.h"
#include "tests/bench/alloc_counter.h"
#include "tests/bench/envoy_requests.h"
#include "tests/bench/istio_request.h"

namespace mixer::bench {
namespace {

void reportAllocations(benchmark::State& state, uint64_t before) {
  state.counters["allocs/op"] = benchmark::Counter(static_cast<double>(allocations() - before),
                                                   benchmark::Counter::kAvgIterations);
}

// Mixer and Envoy services over one configuration compiled in-process, with the build's adapters.
class Services {
 public:
  explicit Services(const std::string& yaml) {
    config::LoadResult loaded;
    config::loadText(yaml, "bench.yaml", &loaded);
    config::resolve(&loaded);
    std::vector<config::ConfigError> errors = loaded.errors;
    auto snapshot = runtime::compileSnapshot(loaded.model, host_.registry(),
                                             attribute::Vocabulary::builtin(), 1, &errors);
    if (!snapshot) {
      for (const auto& e : errors) std::fprintf(stderr, "%s\n", e.str().c_str());
      std::abort();
    }
    source_ = std::make_unique<runtime::FixedDispatcherSource>(
        std::make_shared<runtime::Dispatcher>(snapshot, &queue_));
    mixer_ = std::make_unique<server::MixerService>(source_.get(), &metrics_, 1 << 20);
    envoy_ = std::make_unique<frontends::envoy::EnvoyFrontends>(source_.get(),
                                                                frontends::envoy::Options{});
  }
  ~Services() { queue_.shutdown(); }
  server::MixerService& mixer() { return *mixer_; }
  frontends::envoy::EnvoyFrontends& envoy() { return *envoy_; }

 private:
  adapter_host::AdapterHost host_{{}};
  runtime::ReportQueue queue_{100000, absl::Seconds(1), nullptr};
  server::ServerMetrics metrics_;
  std::unique_ptr<runtime::FixedDispatcherSource> source_;
  std::unique_ptr<server::MixerService> mixer_;
  std::unique_ptr<frontends::envoy::EnvoyFrontends> envoy_;
};

template <typename Fn>
void timeCalls(benchmark::State& state, Fn&& call) {
  for (int i = 0; i < 10; ++i) call();
  const uint64_t before = allocations();
  for (auto _ : state) call();
  reportAllocations(state, before);
}

void BM_MixerCheck(benchmark::State& state) {
  Services s(configYaml());
  const std::string bytes = mixerCheckWithSameAttributes(authzRequest());
  std::string out;
  timeCalls(state, [&] { benchmark::DoNotOptimize(s.mixer().checkInProcess(bytes, &out)); });
}
BENCHMARK(BM_MixerCheck);

void BM_ExtAuthzCheck(benchmark::State& state) {
  Services s(configYaml());
  const std::string bytes = authzRequest().SerializeAsString();
  std::string out;
  timeCalls(state, [&] { benchmark::DoNotOptimize(s.envoy().handleAuthzCheck(bytes, &out)); });
  auth::CheckResponse resp;
  if (!resp.ParseFromString(out) || resp.status().code() != 0) state.SkipWithError("not OK");
}
BENCHMARK(BM_ExtAuthzCheck);

void BM_RateLimitMemquota(benchmark::State& state) {
  Services s(configYaml());
  ::envoy::service::ratelimit::v3::RateLimitRequest req;
  req.set_domain("envoy");
  auto* e = req.add_descriptors()->add_entries();
  e->set_key("generic_key");
  e->set_value("api");
  const std::string bytes = req.SerializeAsString();
  std::string out;
  timeCalls(state, [&] { benchmark::DoNotOptimize(s.envoy().handleRateLimit(bytes, &out)); });
  ::envoy::service::ratelimit::v3::RateLimitResponse resp;
  if (!resp.ParseFromString(out) ||
      resp.overall_code() != ::envoy::service::ratelimit::v3::RateLimitResponse::OK ||
      resp.statuses(0).limit_remaining() == 0) {
    state.SkipWithError("not OK");
  }
}
BENCHMARK(BM_RateLimitMemquota);

void BM_AccessLogs(benchmark::State& state) {
  Services s(defaultConfig());
  const int n = static_cast<int>(state.range(0));
  const std::string bytes = accessLogMessage(n);
  std::string uid;
  timeCalls(state, [&] { benchmark::DoNotOptimize(s.envoy().accessLogs(bytes, &uid)); });
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_AccessLogs)->Arg(100);

// The Mixer Report the same entries would be from Istio's sidecar (istio_request.h).
void BM_MixerReport(benchmark::State& state) {
  Services s(defaultConfig());
  const int n = static_cast<int>(state.range(0));
  const std::string bytes = istioReportRequest(n);
  timeCalls(state, [&] { benchmark::DoNotOptimize(s.mixer().reportInProcess(bytes)); });
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_MixerReport)->Arg(100);

}  // namespace
}  // namespace mixer::bench

BENCHMARK_MAIN();
