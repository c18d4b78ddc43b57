// CPU per byte of request decoding for worst-case shapes (every name, map key or word distinct:
// nothing a decoder looks up twice is cheap by accident), against a typical Istio 1.4 sidecar
// Check in the same run. Linear decoding shows as ns/byte that does not grow with N.
//
// The server's decoders run with limits high enough not to interfere (the algorithm is measured,
// not the limit), except BM_RefuseDistinctNamesAtDefaultLimits, which is what a default mixs
// spends on the reported 1 MiB request. The proxy library's CheckResponse decoding (protobuf
// parse, then the referenced attributes into a cache key) is measured on a response referencing N
// distinct names. The request format has no nesting deeper than a STRING_MAP inside
// CompressedAttributes (groups are rejected), so no nesting shape applies.
#include <benchmark/benchmark.h>

#include "mixer/api/request_decoder.h"
#include "mixer/v1/mixer.pb.h"
#include "proxy-filter/core/referenced_key.h"
#include "tests/bench/istio_request.h"
#include "tests/testing/hostile_requests.h"

namespace mixer::bench {
namespace {

using namespace mixer::testing;

api::DecodeLimits unlimited() {
  api::DecodeLimits l;
  l.max_attributes = l.max_string_map_entries = l.max_words = l.max_report_records = l.max_quotas =
      100000000;
  return l;
}

// CPU per request byte ("cpu/byte", printed in ns; the benchmark's time is CPU time).
void perByte(benchmark::State& state, size_t bytes) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  state.counters["cpu/byte"] =
      benchmark::Counter(static_cast<double>(bytes), benchmark::Counter::kIsIterationInvariantRate |
                                                         benchmark::Counter::kInvert);
  state.counters["bytes"] = static_cast<double>(bytes);
}

absl::Status decodeCheck(const std::string& bytes, const api::DecodeLimits& limits,
                         api::CheckRequestView* view, attribute::AttributeBag* bag) {
  view->clear();
  bag->clear();
  if (auto s = api::parseCheckRequest(bytes, view, limits); !s.ok()) {
    return s;
  }
  return api::decodeCheckAttributes(view, bag, limits);
}

absl::Status decodeReport(const std::string& bytes, const api::DecodeLimits& limits,
                          api::ReportRequestView* view, attribute::AttributeBag* bag) {
  view->clear();
  bag->clear();
  if (auto s = api::parseReportRequest(bytes, view, limits); !s.ok()) {
    return s;
  }
  for (size_t i = 0; i < view->records.size(); ++i) {
    if (auto s = api::decodeReportRecord(view, i, bag, limits); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

void runCheck(benchmark::State& state, const std::string& bytes, const api::DecodeLimits& limits,
              bool want_ok = true) {
  attribute::AttributeBag bag(attribute::Vocabulary::builtin());
  api::CheckRequestView view;
  if (decodeCheck(bytes, limits, &view, &bag).ok() != want_ok) {
    state.SkipWithError("unexpected decode outcome");
    return;
  }
  for (auto _ : state) {
    auto s = decodeCheck(bytes, limits, &view, &bag);
    benchmark::DoNotOptimize(s);
  }
  perByte(state, bytes.size());
}

void BM_DecodeIstioCheck(benchmark::State& state) {
  runCheck(state, istioCheckRequest(), api::DecodeLimits{});
}
BENCHMARK(BM_DecodeIstioCheck);

void BM_DecodeDistinctNames(benchmark::State& state) {
  runCheck(state, distinctNamesCheck(static_cast<size_t>(state.range(0))), unlimited());
}
BENCHMARK(BM_DecodeDistinctNames)->Arg(1000)->Arg(10000)->Arg(54000);

void BM_DecodeDistinctMapKeys(benchmark::State& state) {
  runCheck(state, distinctMapKeysCheck(static_cast<size_t>(state.range(0))), unlimited());
}
BENCHMARK(BM_DecodeDistinctMapKeys)->Arg(1000)->Arg(10000)->Arg(73000);

void BM_DecodeDistinctWords(benchmark::State& state) {
  runCheck(state, distinctWordsCheck(static_cast<size_t>(state.range(0))), unlimited());
}
BENCHMARK(BM_DecodeDistinctWords)->Arg(1000)->Arg(10000)->Arg(100000);

void BM_RefuseDistinctNamesAtDefaultLimits(benchmark::State& state) {
  runCheck(state, distinctNamesCheck(54000), api::DecodeLimits{}, false);
}
BENCHMARK(BM_RefuseDistinctNamesAtDefaultLimits);

// N default words shared by N one-attribute entries.
void BM_DecodeReportSharedWords(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const std::string bytes = sharedWordsReport(n, n);
  const api::DecodeLimits limits = unlimited();
  attribute::AttributeBag bag(attribute::Vocabulary::builtin());
  api::ReportRequestView view;
  if (!decodeReport(bytes, limits, &view, &bag).ok()) {
    state.SkipWithError("decode failed");
    return;
  }
  for (auto _ : state) {
    auto s = decodeReport(bytes, limits, &view, &bag);
    benchmark::DoNotOptimize(s);
  }
  perByte(state, bytes.size());
}
BENCHMARK(BM_DecodeReportSharedWords)->Arg(1000)->Arg(10000)->Arg(50000);

// The proxy library: a CheckResponse whose precondition references N distinct names (message
// words), parsed and turned into a cache key.
void BM_ProxyCheckResponseReferences(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  istio::mixer::v1::CheckResponse response;
  auto* refs = response.mutable_precondition()->mutable_referenced_attributes();
  for (int i = 0; i < n; ++i) {
    refs->add_words(distinctWord(static_cast<size_t>(i)));
    auto* m = refs->add_attribute_matches();
    m->set_name(-i - 1);
    m->set_condition(i % 2 == 0 ? istio::mixer::v1::ReferencedAttributes::EXACT
                                : istio::mixer::v1::ReferencedAttributes::ABSENCE);
  }
  const std::string bytes = response.SerializeAsString();
  for (auto _ : state) {
    istio::mixer::v1::CheckResponse parsed;
    parsed.ParseFromString(bytes);
    auto key = proxy::ReferencedKey::fromProto(parsed.precondition().referenced_attributes());
    benchmark::DoNotOptimize(key);
  }
  perByte(state, bytes.size());
}
BENCHMARK(BM_ProxyCheckResponseReferences)->Arg(100)->Arg(10000)->Arg(50000);

}  // namespace
}  // namespace mixer::bench

BENCHMARK_MAIN();
