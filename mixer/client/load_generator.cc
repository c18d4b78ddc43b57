#include "mixer/client/load_generator.h"

#include <grpcpp/generic/generic_stub.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <mutex>
#include <thread>

#include "base/grpc_codes.h"
#include "base/str_cat.h"
#include "proxy-filter/core/mixer_transport.h"

namespace mixer::client {
namespace {

using Clock = std::chrono::steady_clock;

std::atomic<bool> g_stop{false};

struct Call {
  grpc::ClientContext context;
  grpc::ByteBuffer response;
  grpc::Status status;
  std::unique_ptr<grpc::GenericClientAsyncResponseReader> reader;
  Clock::time_point scheduled;
};

std::string fmtMicros(double us) {
  char buf[32];
  if (us >= 1000) {
    std::snprintf(buf, sizeof(buf), "%.2fms", us / 1000);
  } else {
    std::snprintf(buf, sizeof(buf), "%.1fus", us);
  }
  return buf;
}

// An open loop: starts calls at `rate` per second from `start`, each with its scheduled time, until
// `may_start` says no; both run under `mu`.
template <class MayStart, class StartCall>
void paceCalls(Clock::time_point start, double rate, std::mutex& mu, MayStart may_start,
               StartCall start_call) {
  const auto interval = std::chrono::duration<double>(1.0 / rate);
  for (int64_t i = 0;; ++i) {
    const auto at = start + std::chrono::duration_cast<Clock::duration>(interval * i);
    std::this_thread::sleep_until(at);
    std::lock_guard<std::mutex> lock(mu);
    if (!may_start(Clock::now())) {
      return;
    }
    start_call(at);
  }
}

}  // namespace

void stopLoad() { g_stop.store(true, std::memory_order_relaxed); }

std::string statusCodeName(grpc::StatusCode code) {
  const std::string_view name = base::grpcCodeName(static_cast<int>(code));
  return name.empty() ? base::strCat("CODE_", static_cast<int>(code)) : std::string(name);
}

double LoadRunResult::percentileMicros(double p) const {
  if (latencies_ns.empty()) {
    return 0;
  }
  auto idx = static_cast<size_t>(p / 100.0 * static_cast<double>(latencies_ns.size()));
  idx = std::min(idx, latencies_ns.size() - 1);
  return static_cast<double>(latencies_ns[idx]) / 1000.0;
}

LoadRunResult runLoad(const std::shared_ptr<grpc::Channel>& channel, const std::string& request,
                      const LoadRunOptions& o) {
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  const grpc::Slice slice(request.data(), request.size());
  const grpc::ByteBuffer payload(&slice, 1);

  LoadRunResult result;
  result.latencies_ns.reserve(static_cast<size_t>(std::min<int64_t>(o.requests, 50000000)));
  const auto start = Clock::now();
  const bool timed = o.duration.count() > 0;
  const auto end_time = start + std::chrono::duration_cast<Clock::duration>(o.duration);

  std::atomic<int64_t> started{0};
  auto startCall = [&](Clock::time_point scheduled) {
    auto* call = new Call();
    call->scheduled = scheduled;
    call->context.set_deadline(std::chrono::system_clock::now() + o.timeout);
    call->reader = stub.PrepareUnaryCall(&call->context, o.method, payload, &cq);
    call->reader->StartCall();
    call->reader->Finish(&call->response, &call->status, call);
    started.fetch_add(1, std::memory_order_relaxed);
  };
  auto mayStart = [&](Clock::time_point now) {
    return !g_stop.load(std::memory_order_relaxed) &&
           started.load(std::memory_order_relaxed) < o.requests && (!timed || now < end_time);
  };

  std::thread scheduler;
  std::atomic<bool> scheduling_done{false};
  std::mutex cq_mutex;  // serialises startCall between the scheduler and the completion loop
  if (o.rate > 0) {
    scheduler = std::thread([&] {
      paceCalls(start, o.rate, cq_mutex, mayStart, startCall);
      scheduling_done = true;
    });
  } else {
    std::lock_guard<std::mutex> lock(cq_mutex);
    for (int i = 0; i < std::max(1, o.concurrency) && mayStart(Clock::now()); ++i) {
      startCall(Clock::now());
    }
    scheduling_done = true;
  }

  int64_t completed = 0;
  while (true) {
    if (scheduling_done.load() && completed == started.load()) {
      break;
    }
    void* tag;
    bool ok;
    const auto status =
        cq.AsyncNext(&tag, &ok, std::chrono::system_clock::now() + std::chrono::milliseconds(50));
    if (status != grpc::CompletionQueue::GOT_EVENT) {
      continue;
    }
    auto* call = static_cast<Call*>(tag);
    const auto now = Clock::now();
    ++completed;
    result.latencies_ns.push_back(
        std::chrono::duration_cast<std::chrono::nanoseconds>(now - call->scheduled).count());
    if (call->status.ok()) {
      ++result.ok;
    } else {
      ++result.errors[statusCodeName(call->status.error_code())];
    }
    delete call;
    if (o.rate <= 0) {
      std::lock_guard<std::mutex> lock(cq_mutex);
      if (mayStart(now)) {
        startCall(now);
      }
    }
  }
  if (scheduler.joinable()) {
    scheduler.join();
  }
  result.elapsed_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  result.sent = completed;
  std::sort(result.latencies_ns.begin(), result.latencies_ns.end());
  cq.Shutdown();
  void* tag;
  bool ok;
  while (cq.Next(&tag, &ok)) {
  }
  return result;
}

LoadRunResult runLoad(proxy::MixerTransport& transport, const std::string& request,
                      const LoadRunOptions& o) {
  const bool check = o.method == "/istio.mixer.v1.Mixer/Check";
  LoadRunResult result;
  result.latencies_ns.reserve(static_cast<size_t>(std::min<int64_t>(o.requests, 50000000)));
  const auto start = Clock::now();
  const bool timed = o.duration.count() > 0;
  const auto end_time = start + std::chrono::duration_cast<Clock::duration>(o.duration);

  // Callbacks run on the transport's one thread; the mutex hands the counts to this one.
  std::mutex mu;
  std::condition_variable finished;
  int64_t started = 0, completed = 0;
  bool scheduling_done = false;
  std::function<void(Clock::time_point)> startCall;
  auto mayStart = [&](Clock::time_point now) {  // with mu held
    return !g_stop.load(std::memory_order_relaxed) && started < o.requests &&
           (!timed || now < end_time);
  };
  auto complete = [&](Clock::time_point scheduled, const grpc::Status& status) {
    const auto now = Clock::now();
    std::lock_guard<std::mutex> lock(mu);
    ++completed;
    result.latencies_ns.push_back(
        std::chrono::duration_cast<std::chrono::nanoseconds>(now - scheduled).count());
    if (status.ok()) {
      ++result.ok;
    } else {
      ++result.errors[statusCodeName(status.error_code())];
    }
    if (o.rate <= 0 && mayStart(now)) {
      startCall(now);
    }
    finished.notify_all();
  };
  startCall = [&](Clock::time_point scheduled) {  // with mu held
    ++started;
    if (check) {
      transport.checkSerialized(
          request, [&, scheduled](const grpc::Status& s, const istio::mixer::v1::CheckResponse&) {
            complete(scheduled, s);
          });
    } else {
      transport.reportSerialized(request,
                                 [&, scheduled](const grpc::Status& s) { complete(scheduled, s); });
    }
  };

  std::thread scheduler;
  if (o.rate > 0) {
    scheduler = std::thread([&] {
      paceCalls(start, o.rate, mu, mayStart, startCall);
      std::lock_guard<std::mutex> lock(mu);
      scheduling_done = true;
      finished.notify_all();
    });
  } else {
    std::lock_guard<std::mutex> lock(mu);
    for (int i = 0; i < std::max(1, o.concurrency) && mayStart(Clock::now()); ++i) {
      startCall(Clock::now());
    }
    scheduling_done = true;
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    finished.wait(lock, [&] {
      // A closed loop ends when nothing is in flight (a completion started the next call, if any).
      return scheduling_done && completed == started;
    });
  }
  if (scheduler.joinable()) {
    scheduler.join();
  }
  result.elapsed_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  result.sent = completed;
  std::sort(result.latencies_ns.begin(), result.latencies_ns.end());
  return result;
}

std::string LoadRunResult::text(const LoadRunOptions& o) const {
  std::string out;
  char buf[256];
  std::snprintf(buf, sizeof(buf), "%s: %lld calls in %.3f s: %.1f calls/s (%s)\n", o.method.c_str(),
                static_cast<long long>(sent), elapsed_seconds,
                elapsed_seconds > 0 ? static_cast<double>(sent) / elapsed_seconds : 0.0,
                o.rate > 0 ? base::strCat("open loop at ", o.rate, "/s").c_str()
                           : base::strCat("closed loop, concurrency ", o.concurrency).c_str());
  out += buf;
  out += base::strCat("  OK: ", ok, "\n");
  for (const auto& [code, n] : errors) {
    out += base::strCat("  ", code, ": ", n, "\n");
  }
  out += base::strCat("  latency p50 ", fmtMicros(percentileMicros(50)), "  p90 ",
                      fmtMicros(percentileMicros(90)), "  p99 ", fmtMicros(percentileMicros(99)),
                      "  p99.9 ", fmtMicros(percentileMicros(99.9)), "  max ",
                      fmtMicros(latencies_ns.empty() ? 0 : latencies_ns.back() / 1000.0), "\n");
  return out;
}

std::string LoadRunResult::json(const LoadRunOptions& o) const {
  char buf[1024];
  std::string errs;
  for (const auto& [code, n] : errors) {
    errs += base::strCat(errs.empty() ? "" : ",", "\"", code, "\":", n);
  }
  std::snprintf(
      buf, sizeof(buf),
      "{\"method\":\"%s\",\"calls\":%lld,\"ok\":%lld,\"errors\":{%s},"
      "\"elapsed_seconds\":%.6f,\"rate\":%.3f,\"target_rate\":%.3f,\"concurrency\":%d,"
      "\"latency_us\":{\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"p999\":%.3f,\"max\":%.3f}}",
      o.method.c_str(), static_cast<long long>(sent), static_cast<long long>(ok), errs.c_str(),
      elapsed_seconds, elapsed_seconds > 0 ? static_cast<double>(sent) / elapsed_seconds : 0.0,
      o.rate, o.concurrency, percentileMicros(50), percentileMicros(90), percentileMicros(99),
      percentileMicros(99.9),
      latencies_ns.empty() ? 0.0 : static_cast<double>(latencies_ns.back()) / 1000.0);
  return buf;
}

}  // namespace mixer::client
