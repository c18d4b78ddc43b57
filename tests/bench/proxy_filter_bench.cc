// The proxy-side client library in process: a cached Check decision (CheckCache alone and through
// MixerClient, from one and two threads), building a request's attributes through the C API (a
// new set per request, or one reused set), a quota cache hit, a Report enqueue (moved or copied
// into a sent record), and building or encoding a 100-record batch.
// Allocations per operation are counted by the global operator new hook (alloc_counter.h).
#include <benchmark/benchmark.h>

#include <time.h>

#include <cstdlib>

#include "proxy-filter/core/check_cache.h"
#include "proxy-filter/core/http_attributes.h"
#include "proxy-filter/core/mixer_client.h"
#include "proxy-filter/core/mixer_proxy.h"
#include "proxy-filter/core/quota_cache.h"
#include "proxy-filter/core/report_batcher.h"
#include "proxy-filter/core/report_encoder.h"
#include "tests/bench/alloc_counter.h"
#include "tests/bench/inbound_request.h"

namespace {

using istio::mixer::v1::CheckResponse;
using istio::mixer::v1::ReferencedAttributes;
using mixer::bench::allocations;
using mixer::bench::inboundRequest;
using namespace mixer::proxy;

// What mixs answers for the policy of tests/proxy-filter/testdata: two ABSENCE and four EXACT
// references, one of them a header.
CheckResponse::PreconditionResult typicalAnswer() {
  CheckResponse::PreconditionResult r;
  r.set_valid_use_count(1 << 30);
  r.mutable_valid_duration()->set_seconds(3600);
  auto* ra = r.mutable_referenced_attributes();
  auto add = [ra](const std::string& name, ReferencedAttributes::Condition c,
                  const std::string& key = "") {
    ra->add_words(name);
    auto* m = ra->add_attribute_matches();
    m->set_name(-ra->words_size());
    m->set_condition(c);
    if (!key.empty()) {
      ra->add_words(key);
      m->set_map_key(-ra->words_size());
    }
  };
  add("context.reporter.kind", ReferencedAttributes::ABSENCE);
  add("destination.namespace", ReferencedAttributes::ABSENCE);
  add("request.url_path", ReferencedAttributes::EXACT);
  add("destination.service", ReferencedAttributes::EXACT);
  add("request.headers", ReferencedAttributes::EXACT, "x-user");
  add("request.method", ReferencedAttributes::EXACT);
  return r;
}

void allocationCounter(benchmark::State& state, uint64_t before) {
  state.counters["allocs/op"] = benchmark::Counter(static_cast<double>(allocations() - before),
                                                   benchmark::Counter::kAvgIterations);
}

CheckCache& sharedCache() {
  static CheckCache* cache = [] {
    auto* c = new CheckCache();
    (void)c->insert(inboundRequest(), typicalAnswer(), 0);
    return c;
  }();
  return *cache;
}

// The ctest smoke run (MIXER_BENCH_SMOKE set) proves each benchmark still runs, with one
// repetition and few iterations, so that it fits its budget under the sanitizers too.
const bool kSmoke = std::getenv("MIXER_BENCH_SMOKE") != nullptr;
const int kRepetitions = kSmoke ? 1 : 5;

void BM_CheckCacheHit(benchmark::State& state) {
  CheckCache& cache = sharedCache();
  const Attributes request = inboundRequest();
  CheckResult out;
  cache.lookup(request, 1, &out);  // warm the thread's slot
  const uint64_t before = allocations();
  for (auto _ : state) {
    benchmark::DoNotOptimize(cache.lookup(request, 1, &out));
  }
  allocationCounter(state, before);
}
BENCHMARK(BM_CheckCacheHit)
    ->ThreadRange(1, 2)
    ->UseRealTime()
    ->Repetitions(kRepetitions)
    ->ReportAggregatesOnly(true);

// A transport that fails every call: the client under test never reaches it on a hit.
class UnusedTransport : public MixerTransport {
 public:
  void check(const istio::mixer::v1::CheckRequest&, CheckDone done) override {
    done(grpc::Status(grpc::StatusCode::UNAVAILABLE, "unused"), {});
  }
  void report(const istio::mixer::v1::ReportRequest&, ReportDone done) override {
    done(grpc::Status::OK);
  }
};

// A transport answering every Check with typicalAnswer(), at once.
class AnsweringTransport : public UnusedTransport {
 public:
  void check(const istio::mixer::v1::CheckRequest&, CheckDone done) override {
    CheckResponse response;
    *response.mutable_precondition() = typicalAnswer();
    done(grpc::Status::OK, response);
  }
};

void BM_MixerClientCheckCached(benchmark::State& state) {
  static MixerClient* client = [] {
    auto* c = new MixerClient({}, std::make_unique<AnsweringTransport>());
    c->check(inboundRequest(), {}, [](const CheckResult&) {});  // fills the cache
    return c;
  }();
  const Attributes request = inboundRequest();
  CheckResult out;
  client->checkCached(request, &out);
  const uint64_t before = allocations();
  for (auto _ : state) {
    benchmark::DoNotOptimize(client->checkCached(request, &out));
  }
  allocationCounter(state, before);
  if (!out.ok()) {
    state.SkipWithError("not a cached OK");
  }
}
BENCHMARK(BM_MixerClientCheckCached)
    ->ThreadRange(1, 2)
    ->UseRealTime()
    ->Repetitions(kRepetitions)
    ->ReportAggregatesOnly(true);

// What the nginx module sets per request through the C API (the attributes of inboundRequest()).
void buildThroughCApi(mixer_proxy_attributes* a) {
#define SET(name, value) \
  mixer_proxy_attributes_set_string(a, name, sizeof(name) - 1, value, sizeof(value) - 1)
#define HEADER(key, value)                                                                    \
  mixer_proxy_attributes_set_map_entry(a, "request.headers", 15, key, sizeof(key) - 1, value, \
                                       sizeof(value) - 1)
  SET("request.method", "GET");
  SET("request.path", "/productpage?u=normal");
  SET("request.url_path", "/productpage");
  SET("request.host", "bookinfo.example.com");
  SET("request.scheme", "http");
  SET("request.useragent", "Mozilla/5.0 (X11; Linux x86_64)");
  HEADER("host", "bookinfo.example.com");
  HEADER("user-agent", "Mozilla/5.0 (X11; Linux x86_64)");
  HEADER("accept", "text/html,application/xhtml+xml");
  HEADER("accept-encoding", "gzip, deflate");
  HEADER("accept-language", "en-US,en;q=0.5");
  HEADER("x-request-id", "c3a8a5a8-4fb6-4c07-9a1b-6a4b3f1e2d77");
  HEADER("x-user", "alice");
  HEADER("cookie", "session=abc123");
  SET("request.id", "c3a8a5a8-4fb6-4c07-9a1b-6a4b3f1e2d77");
  mixer_proxy_attributes_set_int64(a, "request.size", 12, 0);
  mixer_proxy_attributes_set_timestamp_ns(a, "request.time", 12, 1700000000000000000);
  SET("context.protocol", "http");
  mixer_proxy_attributes_set_ip(a, "source.ip", 9, "10.44.0.12", 10);
  mixer_proxy_attributes_set_int64(a, "source.port", 11, 43712);
  mixer_proxy_attributes_set_ip(a, "destination.ip", 14, "10.44.0.20", 10);
  mixer_proxy_attributes_set_int64(a, "destination.port", 16, 9080);
  SET("destination.service", "productpage.default.svc.cluster.local");
#undef SET
#undef HEADER
}

// The module before: a new set per request, destroyed after it.
void BM_BuildRequestNewSet(benchmark::State& state) {
  const uint64_t before = allocations();
  for (auto _ : state) {
    mixer_proxy_attributes* a = mixer_proxy_attributes_create();
    buildThroughCApi(a);
    mixer_proxy_attributes_destroy(a);
  }
  allocationCounter(state, before);
}
BENCHMARK(BM_BuildRequestNewSet)->Repetitions(kRepetitions)->ReportAggregatesOnly(true);

// The module now: one reused set, cleared per request.
void BM_BuildRequestReusedSet(benchmark::State& state) {
  mixer_proxy_attributes* a = mixer_proxy_attributes_create();
  buildThroughCApi(a);
  const uint64_t before = allocations();
  for (auto _ : state) {
    mixer_proxy_attributes_clear(a);
    buildThroughCApi(a);
  }
  allocationCounter(state, before);
  mixer_proxy_attributes_destroy(a);
}
BENCHMARK(BM_BuildRequestReusedSet)->Repetitions(kRepetitions)->ReportAggregatesOnly(true);

// A quota the prefetch object decides locally (grants far ahead of need), from 1 and 2 threads.
void BM_QuotaCacheHit(benchmark::State& state) {
  static QuotaCache* cache = [] {
    auto* c = new QuotaCache();
    const Attributes a = inboundRequest();
    auto first = c->check("requestcount", 1, a, 0);
    CheckResponse::QuotaResult grant;
    grant.set_granted_amount(1);
    auto* m = grant.mutable_referenced_attributes()->add_attribute_matches();
    m->set_name(152);  // destination.service
    m->set_condition(ReferencedAttributes::EXACT);
    c->onResult("requestcount", a, first, grant, 0);
    return c;
  }();
  const Attributes request = inboundRequest();
  CheckResponse::QuotaResult refill;
  refill.set_granted_amount(INT64_MAX / 4);
  int64_t now = 0;
  const uint64_t before = allocations();
  for (auto _ : state) {
    auto d = cache->check("requestcount", 1, request, ++now % 1000000);
    if (d.fetch_amount > 0) {  // answered at once, as if the server granted it all
      cache->onResult("requestcount", request, d, refill, now % 1000000);
    }
    benchmark::DoNotOptimize(d.outcome);
  }
  allocationCounter(state, before);
}
BENCHMARK(BM_QuotaCacheHit)
    ->ThreadRange(1, 2)
    ->UseRealTime()
    ->Repetitions(kRepetitions)
    ->ReportAggregatesOnly(true);

// The cost of the lookup that misses (the request goes to the server after it).
void BM_CheckCacheMiss(benchmark::State& state) {
  CheckCache& cache = sharedCache();
  Attributes request = inboundRequest();
  request.setString("request.url_path", "/unique");
  CheckResult out;
  const uint64_t before = allocations();
  for (auto _ : state) {
    benchmark::DoNotOptimize(cache.lookup(request, 1, &out));
  }
  allocationCounter(state, before);
}
BENCHMARK(BM_CheckCacheMiss);

// report(): the record is moved into storage reserved ahead; the flusher does not run during
// the measurement (an hour-long timer, a batch larger than the run).
void BM_ReportEnqueue(benchmark::State& state) {
  constexpr size_t kRecords = 200000;
  std::vector<Attributes> records(kRecords, inboundRequest());
  GlobalDictionary dictionary;
  StatsCounters stats;
  ReportBatcher batcher(
      {kRecords, 3600 * 1000, 1},
      [](const istio::mixer::v1::ReportRequest&, std::function<void(bool)> done) { done(true); },
      &dictionary, &stats);
  size_t i = 0;
  const uint64_t before = allocations();
  for (auto _ : state) {
    batcher.enqueue(std::move(records[i++]));
  }
  allocationCounter(state, before);
}
BENCHMARK(BM_ReportEnqueue)
    ->Iterations(kSmoke ? 2000 : 200000)
    ->Repetitions(kRepetitions)
    ->ReportAggregatesOnly(true);

// The flusher's work per batch: compress 100 records with one shared dictionary.
void BM_ReportBatchBuild(benchmark::State& state) {
  std::vector<Attributes> records(100, inboundRequest());
  const uint64_t before = allocations();
  for (auto _ : state) {
    istio::mixer::v1::ReportRequest request;
    ReportBatcher::buildRequest(records, 222, &request);
    benchmark::DoNotOptimize(request.attributes_size());
  }
  allocationCounter(state, before);
  state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK(BM_ReportBatchBuild);

// The same on an arena, as the flusher builds it.
void BM_ReportBatchBuildOnArena(benchmark::State& state) {
  std::vector<Attributes> records(100, inboundRequest());
  const uint64_t before = allocations();
  for (auto _ : state) {
    google::protobuf::Arena arena;
    auto* request = google::protobuf::Arena::CreateMessage<istio::mixer::v1::ReportRequest>(&arena);
    ReportBatcher::buildRequest(records, 222, request);
    benchmark::DoNotOptimize(request->attributes_size());
  }
  allocationCounter(state, before);
  state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK(BM_ReportBatchBuildOnArena);

// reportSwap(): the module's log phase with its reused sets. The record is queued and the set
// comes back with a sent record's storage, into which the next request is built (the build is
// timed too: BM_BuildRequestReusedSet is its share). Every 99 records the batch is flushed
// outside the timing.
void BM_ReportEnqueueSwap(benchmark::State& state) {
  const Attributes request = inboundRequest();
  GlobalDictionary dictionary;
  StatsCounters stats;
  ReportBatcher batcher({100, 3600 * 1000, 2},
                        ReportBatcher::SendSerialized(
                            [](std::string, std::function<void(bool)> done) { done(true); }),
                        &dictionary, &stats);
  Attributes record;
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 99; ++i) {
      record.assign(request);
      batcher.enqueueSwap(&record);
    }
    batcher.flush();
  }
  size_t queued = 0;
  const uint64_t before = allocations();
  for (auto _ : state) {
    record.assign(request);
    batcher.enqueueSwap(&record);
    if (++queued == 99) {
      state.PauseTiming();
      batcher.flush();
      queued = 0;
      state.ResumeTiming();
    }
  }
  allocationCounter(state, before);
}
BENCHMARK(BM_ReportEnqueueSwap)
    ->Iterations(kSmoke ? 990 : 99000)
    ->Repetitions(kRepetitions)
    ->ReportAggregatesOnly(true);

// The report path as a proxy runs it: this thread builds each request into a record and queues it
// (enqueueSwap), the batcher's flusher thread encodes and "sends" (a no-op) each batch of 100 and
// empties its records. Reports both threads' CPU per record: the flusher's is the process' CPU
// less this thread's (nothing else runs), read from the clocks, per record queued.
double cpuSeconds(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

void BM_ReportPathTwoThreads(benchmark::State& state) {
  const Attributes request = inboundRequest();
  GlobalDictionary dictionary;
  StatsCounters stats;
  ReportBatchOptions options{100, 3600 * 1000, 16};
  options.delta_encoding = state.range(0) != 0;
  ReportBatcher batcher(options,
                        ReportBatcher::SendSerialized(
                            [](std::string, std::function<void(bool)> done) { done(true); }),
                        &dictionary, &stats);
  Attributes record;
  int64_t n = 0;
  const double process0 = cpuSeconds(CLOCK_PROCESS_CPUTIME_ID);
  const double thread0 = cpuSeconds(CLOCK_THREAD_CPUTIME_ID);
  for (auto _ : state) {
    record.assign(request);
    record.setTimestamp("request.time", Timestamp(Duration(1700000000000000000 + n)));
    batcher.enqueueSwap(&record);
    ++n;
  }
  batcher.flush();
  const double producer = cpuSeconds(CLOCK_THREAD_CPUTIME_ID) - thread0;
  const double flusher = cpuSeconds(CLOCK_PROCESS_CPUTIME_ID) - process0 - producer;
  state.counters["producer_us/record"] = 1e6 * producer / static_cast<double>(n);
  state.counters["flusher_us/record"] = 1e6 * flusher / static_cast<double>(n);
}
BENCHMARK(BM_ReportPathTwoThreads)
    ->ArgName("delta")
    ->Arg(0)
    ->Arg(1)
    ->Iterations(kSmoke ? 1000 : 400000);

// Encodes `records` as one batch per iteration, as the flusher does; with DELTA_ENCODING where the
// records allow it when the benchmark's argument is 1, INDEPENDENT_ENCODING (Istio 1.4's client,
// and this library before) when 0. Reports the batch's wire bytes per record.
void encodeBatches(benchmark::State& state, const std::vector<Attributes>& records) {
  ReportEncoder encoder;
  encoder.allowDelta(state.range(0) != 0);
  std::string wire;
  const uint64_t before = allocations();
  for (auto _ : state) {
    encoder.encode(records, 222, &wire);
    benchmark::DoNotOptimize(wire.data());
  }
  allocationCounter(state, before);
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(records.size()));
  state.counters["bytes/record"] =
      static_cast<double>(wire.size()) / static_cast<double>(records.size());
}

// What the flusher does per batch now: encode 100 records straight into wire bytes.
void BM_ReportBatchEncode(benchmark::State& state) {
  std::vector<Attributes> records(100, inboundRequest());
  encodeBatches(state, records);
}
BENCHMARK(BM_ReportBatchEncode)->ArgName("delta")->Arg(0)->Arg(1);

// 100 records that differ where requests do: each its own request id (also in the x-request-id
// header), path and time.
std::vector<Attributes> distinctRecords() {
  std::vector<Attributes> records(100, inboundRequest());
  for (size_t i = 0; i < records.size(); ++i) {
    const std::string id = "c3a8a5a8-4fb6-4c07-9a1b-" + std::to_string(100000000000 + i);
    records[i].setString("request.id", id);
    records[i].setMapEntry("request.headers", "x-request-id", id);
    records[i].setString("request.path", "/productpage?u=" + std::to_string(i));
    records[i].setTimestamp("request.time", Timestamp(Duration(1700000000000000000 + i)));
  }
  return records;
}

void BM_ReportBatchEncodeDistinct(benchmark::State& state) {
  encodeBatches(state, distinctRecords());
}
BENCHMARK(BM_ReportBatchEncodeDistinct)->ArgName("delta")->Arg(0)->Arg(1);

// source.ip and destination.ip as the nginx module set them before (the address as text, parsed
// back) and now (the socket address' bytes). The module's own formatting of the local address
// (ngx_sock_ntop) is not in the first figure.
void BM_SetAddressFromText(benchmark::State& state) {
  mixer_proxy_attributes* a = mixer_proxy_attributes_create();
  for (auto _ : state) {
    mixer_proxy_attributes_set_ip(a, "source.ip", 9, "10.44.0.12", 10);
    mixer_proxy_attributes_set_ip(a, "destination.ip", 14, "10.44.0.20", 10);
  }
  mixer_proxy_attributes_destroy(a);
}
BENCHMARK(BM_SetAddressFromText);

void BM_SetAddressBytes(benchmark::State& state) {
  mixer_proxy_attributes* a = mixer_proxy_attributes_create();
  const unsigned char source[4] = {10, 44, 0, 12}, destination[4] = {10, 44, 0, 20};
  for (auto _ : state) {
    mixer_proxy_attributes_set_bytes(a, "source.ip", 9, source, 4);
    mixer_proxy_attributes_set_bytes(a, "destination.ip", 14, destination, 4);
  }
  mixer_proxy_attributes_destroy(a);
}
BENCHMARK(BM_SetAddressBytes);

// What the flusher did before: build on an arena, then serialize.
void BM_ReportBatchBuildAndSerialize(benchmark::State& state) {
  std::vector<Attributes> records(100, inboundRequest());
  std::string wire;
  const uint64_t before = allocations();
  for (auto _ : state) {
    google::protobuf::Arena arena;
    auto* request = google::protobuf::Arena::CreateMessage<istio::mixer::v1::ReportRequest>(&arena);
    ReportBatcher::buildRequest(records, 222, request);
    request->SerializeToString(&wire);
    benchmark::DoNotOptimize(wire.data());
  }
  allocationCounter(state, before);
  state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK(BM_ReportBatchBuildAndSerialize);

}  // namespace

BENCHMARK_MAIN();
