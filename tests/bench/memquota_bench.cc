// memquota decisions per second, in process: the QuotaStore the adapter runs on each quota call,
// from one and two threads (as the server's request threads call it).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>
#include <vector>

#include "adapters/memquota/quota_store.h"

namespace {

using memquota::Algorithm;
using memquota::Dimensions;
using memquota::QuotaSpec;
using memquota::QuotaStore;

QuotaStore& store() {
  static QuotaStore* s = [] {
    QuotaSpec q;
    q.name = "requestcount";
    q.limit = {1'000'000'000'000, 60'000'000'000, Algorithm::kRollingWindow};
    return new QuotaStore({q}, 1'000'000'000);
  }();
  return *s;
}

// 1000 destinations; each thread walks them; time advances 1us per call (slots roll over).
void BM_QuotaStoreRollingWindow(benchmark::State& state) {
  QuotaStore& s = store();
  const QuotaSpec& q = *s.find("requestcount");
  std::vector<Dimensions> dims;
  for (int i = 0; i < 1000; ++i) {
    dims.push_back({{"destination", "svc-" + std::to_string(i) + ".ns"}});
  }
  const std::string no_dedup;
  int64_t now = 1'000'000'000'000 + state.thread_index() * 7;
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(s.alloc(q, dims[i], 1, false, no_dedup, now));
    i = (i + 1) % dims.size();
    now += 1000;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_QuotaStoreRollingWindow)->ThreadRange(1, 2)->UseRealTime();

void BM_QuotaStoreWithDedupIds(benchmark::State& state) {
  QuotaStore& s = store();
  const QuotaSpec& q = *s.find("requestcount");
  Dimensions dims{{"destination", "svc.ns"},
                  {"source", "client" + std::to_string(state.thread_index())}};
  std::string dedup = "0123456789abcdef-requestcount";
  int64_t now = 2'000'000'000'000;
  uint64_t n = 0;
  for (auto _ : state) {
    std::snprintf(dedup.data(), 17, "%016llx", static_cast<unsigned long long>(n++));
    dedup[16] = '-';
    benchmark::DoNotOptimize(s.alloc(q, dims, 1, false, dedup, now));
    now += 1000;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_QuotaStoreWithDedupIds)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
