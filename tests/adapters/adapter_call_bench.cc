// The cost of the adapter ABI on the request path: one denier check through the host (encode the
// instance, cross the ABI, SDK completion, result checks, callback), and its parts.
#include <benchmark/benchmark.h>

#include "mixer/adapter_host/adapter_host.h"

namespace mixer::adapter_host {
namespace {

Instance listEntry() {
  Instance instance{"appversion.listentry", "listentry", AbiValue::map()};
  instance.fields.set("value", AbiValue::string("v1.2.3"));
  return instance;
}

Instance logEntry() {
  Instance i{"accesslog.logentry", "logentry", AbiValue::map()};
  i.fields.set("severity", AbiValue::string("info"));
  i.fields.set("timestamp", AbiValue::timestampNs(1'700'000'000'000'000'000));
  AbiValue vars = AbiValue::map();
  for (const char* key : {"source", "destination", "method", "path", "protocol", "user_agent"}) {
    vars.set(key, AbiValue::string(std::string(key) + "-value"));
  }
  vars.set("code", AbiValue::int64(200));
  vars.set("latency", AbiValue::durationNs(1'234'567));
  vars.set("bytes", AbiValue::int64(5120));
  i.fields.set("variables", std::move(vars));
  return i;
}

AdapterHost::Options options() {
  AdapterHost::Options o;
  o.adapter_dirs = {ADAPTER_DIR};
  o.log = nullptr;
  return o;
}

void BM_DenierCheck(benchmark::State& state) {
  AdapterHost host(options());
  auto handler = host.registry().find("denier")->createHandler("deny", AbiValue());
  const Instance instance = listEntry();
  int64_t denied = 0;
  for (auto _ : state) {
    (*handler)->check(instance, absl::Seconds(1), [&](absl::StatusOr<AdapterCheckResult> r) {
      denied += r.ok() && !r->status.ok();
    });
  }
  benchmark::DoNotOptimize(denied);
  handler->reset();
}
BENCHMARK(BM_DenierCheck);

// The ABI crossing alone: the instance is encoded once, as a runtime with its own encoding would.
void BM_DenierCheckEncoded(benchmark::State& state) {
  AdapterHost host(options());
  auto handler = host.registry().find("denier")->createHandler("deny", AbiValue());
  const Instance instance = listEntry();
  EncodedInstance encoded(instance);
  int64_t denied = 0;
  for (auto _ : state) {
    (*handler)->check(*encoded.get(), absl::Seconds(1), [&](absl::StatusOr<AdapterCheckResult> r) {
      denied += r.ok() && !r->status.ok();
    });
  }
  benchmark::DoNotOptimize(denied);
  handler->reset();
}
BENCHMARK(BM_DenierCheckEncoded);

void BM_EncodeInstance(benchmark::State& state) {
  const Instance instance = logEntry();
  for (auto _ : state) {
    EncodedInstance encoded(instance);
    benchmark::DoNotOptimize(encoded.get());
  }
}
BENCHMARK(BM_EncodeInstance);

void BM_StdioReport(benchmark::State& state) {
  AdapterHost host(options());
  auto handler = host.registry().find("stdio")->createHandler(
      "log", AbiValue::map({{"log_stream", AbiValue::string("FILE")},
                            {"output_path", AbiValue::string("/dev/null")}}));
  const Instance instance = logEntry();
  const std::vector<const Instance*> batch(static_cast<size_t>(state.range(0)), &instance);
  for (auto _ : state) {
    (*handler)->report(batch, absl::Seconds(1), [](absl::Status) {});
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  handler->reset();
}
BENCHMARK(BM_StdioReport)->Arg(1)->Arg(100);

}  // namespace
}  // namespace mixer::adapter_host

BENCHMARK_MAIN();
