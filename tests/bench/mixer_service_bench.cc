// In-process cost of the server's request handling, without the network: decode, dispatch and
// response encoding of a Check / Report shaped like Istio 1.4 sidecar traffic. Reports heap
// allocations per call (counted by a global operator new hook).
//
// Baseline in the same run: parsing the same bytes into the generated protobuf message, which is
// what a server built the conventional way does before any policy logic.
#include <benchmark/benchmark.h>

#include "mixer/api/request_decoder.h"
#include "mixer/server/mixer_service.h"
#include "tests/bench/alloc_counter.h"
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

void BM_HandleCheck(benchmark::State& state) {
  ServiceFixture f;
  const std::string bytes = istioCheckRequest();
  std::string out;
  for (int i = 0; i < 10; ++i) {
    (void)f.service().handleCheck(bytes, &out);
  }
  const uint64_t before = allocations();
  for (auto _ : state) {
    auto s = f.service().handleCheck(bytes, &out);
    benchmark::DoNotOptimize(s);
  }
  reportAllocations(state, before);
}
BENCHMARK(BM_HandleCheck);

void BM_HandleReport(benchmark::State& state) {
  ServiceFixture f;
  const int records = static_cast<int>(state.range(0));
  const std::string bytes = istioReportRequest(records);
  for (int i = 0; i < 10; ++i) {
    (void)f.service().handleReport(bytes);
  }
  const uint64_t before = allocations();
  for (auto _ : state) {
    auto s = f.service().handleReport(bytes);
    benchmark::DoNotOptimize(s);
  }
  reportAllocations(state, before);
  state.SetItemsProcessed(state.iterations() * records);
}
BENCHMARK(BM_HandleReport)->Arg(1)->Arg(100);

}  // namespace
}  // namespace mixer::bench

BENCHMARK_MAIN();
