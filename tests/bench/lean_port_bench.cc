// The lean port's protocol work per call, in process: a LeanSession (libnghttp2's HTTP/2 and the
// port's gRPC framing) receives batches of unary calls as a gRPC client sends them and answers each
// at once with a fixed response; no socket, no policy. What it costs per call, and how many heap
// allocations (every malloc of the process, libnghttp2's included) it makes per call, against the
// gRPC C++ completion-queue floor measured over loopback in docs/performance.md §17 and §23.
//
// The client's bytes are made up front by a libnghttp2 client session talking to a server session
// of the same kind, batch by batch, and replayed into a fresh session in the timed loop: the same
// server settings and answers, so the replayed flow-control updates match.
#include <benchmark/benchmark.h>
#include <nghttp2/nghttp2.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "mixer/server/lean_port.h"
#include "tests/mixer/server/lean_client.h"

#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
// Every malloc of the process, counted (operator new calls malloc).
extern "C" void* __libc_malloc(size_t);
extern "C" void* __libc_calloc(size_t, size_t);
extern "C" void* __libc_realloc(void*, size_t);
namespace {
std::atomic<uint64_t> g_mallocs{0};
}
extern "C" void* malloc(size_t n) {
  g_mallocs.fetch_add(1, std::memory_order_relaxed);
  return __libc_malloc(n);
}
extern "C" void* calloc(size_t n, size_t size) {
  g_mallocs.fetch_add(1, std::memory_order_relaxed);
  return __libc_calloc(n, size);
}
extern "C" void* realloc(void* p, size_t n) {
  g_mallocs.fetch_add(1, std::memory_order_relaxed);
  return __libc_realloc(p, n);
}
uint64_t mallocs() { return g_mallocs.load(std::memory_order_relaxed); }
#else
uint64_t mallocs() { return 0; }
#endif

namespace {

using mixer::server::LeanSession;

// Answers every call at once with the same response.
class Answer final : public LeanSession::Handler {
 public:
  explicit Answer(size_t response_size) : response_(response_size, 'r') {}
  void onCall(LeanSession* session, int32_t stream, LeanSession::Method, std::string_view,
              mixer::runtime::CallDeadline) override {
    session->answer(stream, grpc::Status::OK, response_);
    ++calls;
  }
  uint64_t calls = 0;

 private:
  std::string response_;
};

nghttp2_nv nv(const char* name, const std::string& value) {
  return {reinterpret_cast<uint8_t*>(const_cast<char*>(name)),
          reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), std::strlen(name),
          value.size(), NGHTTP2_NV_FLAG_NONE};
}

struct Body {
  const std::string* bytes;
  size_t at = 0;
};

ssize_t readBody(nghttp2_session*, int32_t, uint8_t* buf, size_t length, uint32_t* flags,
                 nghttp2_data_source* source, void*) {
  auto* b = static_cast<Body*>(source->ptr);
  const size_t n = std::min(length, b->bytes->size() - b->at);
  std::memcpy(buf, b->bytes->data() + b->at, n);
  b->at += n;
  if (b->at == b->bytes->size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
  return static_cast<ssize_t>(n);
}

// The client's bytes, batch by batch: `batches` batches of `per_batch` Checks, each a gRPC message
// of `request_size` bytes; the first batch starts with the connection preface and SETTINGS.
// Empty when the server refused them.
std::vector<std::string> clientBytes(int batches, int per_batch, size_t request_size,
                                     size_t response_size) {
  nghttp2_session_callbacks* cb = nullptr;
  nghttp2_session_callbacks_new(&cb);
  nghttp2_session* client = nullptr;
  nghttp2_session_client_new(&client, cb, nullptr);
  nghttp2_session_callbacks_del(cb);
  const nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 30}};
  nghttp2_submit_settings(client, NGHTTP2_FLAG_NONE, settings, 1);
  nghttp2_submit_window_update(client, NGHTTP2_FLAG_NONE, 0, (1 << 30) - 65535);

  Answer answer(response_size);
  LeanSession server(&answer, mixer::server::LeanLimits{});
  std::string message(5 + request_size, 'q');
  message[0] = 0;
  message[1] = static_cast<char>(request_size >> 24);
  message[2] = static_cast<char>(request_size >> 16);
  message[3] = static_cast<char>(request_size >> 8);
  message[4] = static_cast<char>(request_size);
  const std::string post = "POST", scheme = "http", path = "/istio.mixer.v1.Mixer/Check",
                    authority = "mixs:9091", type = "application/grpc", te = "trailers",
                    timeout = "5S";
  const nghttp2_nv headers[] = {nv(":method", post),        nv(":scheme", scheme),
                                nv(":path", path),          nv(":authority", authority),
                                nv("content-type", type),   nv("te", te),
                                nv("grpc-timeout", timeout)};
  std::vector<Body> bodies(static_cast<size_t>(per_batch));
  std::vector<std::string> out;
  std::string answers;
  for (int b = 0; b < batches; ++b) {
    for (Body& body : bodies) {
      body = Body{&message};
      nghttp2_data_provider provider{};
      provider.source.ptr = &body;
      provider.read_callback = &readBody;
      nghttp2_submit_request(client, nullptr, headers, 7, &provider, nullptr);
    }
    std::string bytes;  // the client session sends the connection preface itself, first
    const uint8_t* data;
    ssize_t n;
    while ((n = nghttp2_session_mem_send(client, &data)) > 0) {
      bytes.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
    }
    if (!server.receive(bytes.data(), bytes.size())) return {};
    answers.clear();
    server.produce(&answers);
    nghttp2_session_mem_recv(client, reinterpret_cast<const uint8_t*>(answers.data()),
                             answers.size());
    out.push_back(std::move(bytes));
  }
  nghttp2_session_del(client);
  return out;
}

// Arguments: calls per batch (per socket read), request bytes.
void BM_LeanSessionCheck(benchmark::State& state) {
  const int per_batch = static_cast<int>(state.range(0));
  const size_t request_size = static_cast<size_t>(state.range(1));
  const int batches = static_cast<int>(state.max_iterations);
  const std::vector<std::string> input = clientBytes(batches, per_batch, request_size, 200);
  if (input.empty()) {
    state.SkipWithError("the server refused the client's bytes");
    return;
  }
  Answer answer(200);
  LeanSession server(&answer, mixer::server::LeanLimits{});
  std::string out;
  out.reserve(1 << 16);
  size_t i = 0;
  uint64_t allocations = 0;
  for (auto _ : state) {
    const uint64_t before = mallocs();
    server.receive(input[i].data(), input[i].size());
    out.clear();
    server.produce(&out);
    allocations += mallocs() - before;
    benchmark::DoNotOptimize(out.data());
    ++i;
  }
  const double calls = static_cast<double>(i) * per_batch;
  if (server.openStreams() != 0 || static_cast<double>(answer.calls) != calls) {
    state.SkipWithError("calls left unanswered, or replayed bytes refused");
  }
  state.counters["calls"] = benchmark::Counter(calls, benchmark::Counter::kIsRate);
  state.counters["ns_per_call"] =
      benchmark::Counter(calls, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["mallocs_per_call"] = static_cast<double>(allocations) / calls;
}
// A fixed iteration count: the client's bytes are made for that many batches.
BENCHMARK(BM_LeanSessionCheck)
    ->Args({1, 300})
    ->Args({8, 300})
    ->Args({8, 2000})
    ->Args({64, 300})
    ->Iterations(4000)
    ->Unit(benchmark::kMicrosecond);

// What one connection can make the session hold with requests that never finish: `streams`
// streams, each sending 1 MiB - 1 of a 1 MiB message and waiting (the gRPC port's default message
// limit). Argument 1: the lean port's limits; 0: no limit on bytes still arriving, as the port was
// before it had one. Counter: bytes held after the client sent all it could.
void BM_HeldByUnfinishedRequests(benchmark::State& state) {
  const int streams = static_cast<int>(state.range(0));
  class None final : public LeanSession::Handler {
    void onCall(LeanSession*, int32_t, LeanSession::Method, std::string_view,
                mixer::runtime::CallDeadline) override {}
  } none;
  mixer::server::LeanLimits limits;
  limits.max_concurrent_streams = 1024;
  if (state.range(1) == 0) limits.max_connection_buffered = SIZE_MAX;
  size_t held = 0;
  for (auto _ : state) {
    LeanSession server(&none, limits);
    mixer::server::InMemoryClient client(&server);
    for (int i = 0; i < streams; ++i) client.partialCheck(limits.max_message_size - 1 + 5);
    if (!client.exchange()) state.SkipWithError("the session refused the client");
    held = server.bufferedBytes();
  }
  state.counters["held_MiB"] = static_cast<double>(held) / (1 << 20);
}
BENCHMARK(BM_HeldByUnfinishedRequests)
    ->Args({64, 0})
    ->Args({64, 1})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
