// MixerService: the istio.mixer.v1.Mixer service's two methods.
//
// Both take the raw request bytes (queue_server.h carries them from gRPC's raw completion-queue
// API) and decode them straight into a per-thread AttributeBag, so no protobuf request message is
// built and no string is copied. Thread-safe: all per-request state is per thread and reused
// across calls.
//
// Hostile or careless clients: decoding is linear in a request's size, and api::DecodeLimits
// bound what one request may carry (over a limit: INVALID_ARGUMENT naming the limit and its
// flag). A request larger than --max-message-size never reaches the service: gRPC refuses it
// with RESOURCE_EXHAUSTED (MixsServer sets the transport limit to the same size). A call whose
// deadline passes stops at the next step boundary and is answered DEADLINE_EXCEEDED (counted in
// mixer_server_stopped_calls_total).
#pragma once

#include <grpcpp/server_context.h>
#include <grpcpp/support/byte_buffer.h>

#include <atomic>
#include <chrono>
#include <memory>

#include "mixer/api/request_decoder.h"
#include "mixer/runtime/dispatcher.h"
#include "mixer/server/call_sink.h"
#include "mixer/server/server_metrics.h"
#include "security/tls/caller_gate.h"

namespace mixer::server {

// A call's place in the server metrics: counted as started when made, as finished (with its code
// and duration) by finish().
class CallTimer {
 public:
  CallTimer(ServerMetrics* metrics, ServerMetrics::Method m)
      : metrics_(metrics), method_(m), start_(std::chrono::steady_clock::now()) {
    metrics_->callStarted(m);
  }
  void finish(const grpc::Status& s) {
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start_;
    metrics_->callFinished(method_, s.error_code(), elapsed.count());
  }

 private:
  ServerMetrics* metrics_;
  ServerMetrics::Method method_;
  std::chrono::steady_clock::time_point start_;
};

// What stops a call's work early. The default stops nothing (tests, benchmarks).
struct CallControl {
  // Looked at after decoding, every 32 rules that may apply, before each adapter call, between
  // Report entries.
  runtime::CallDeadline deadline;
  // The caller's proven identity, written into the request's attributes after decoding
  // (security::tls::applyCaller). May be null: the request's attributes are taken as sent.
  const security::tls::Caller* caller = nullptr;
};

class MixerService final {
 public:
  // `max_message_size`: larger requests get RESOURCE_EXHAUSTED (gRPC's answer, which the
  // server's transport limit normally gives first). `limits` bound what one request may carry.
  // OWNERSHIP: `dispatchers` and `metrics` are borrowed and must outlive the service.
  MixerService(const runtime::DispatcherSource* dispatchers, ServerMetrics* metrics,
               size_t max_message_size, const api::DecodeLimits& limits = {});

  // Who may call Check and Report, and whose identity claims are believed (docs/security.md).
  // Null (the default): every caller, claims as sent. OWNERSHIP: borrowed; must outlive the
  // service. Set before serving.
  void setCallerGate(const security::tls::CallerGate* gate) { gate_ = gate; }

  using CallControl = server::CallControl;

  // Where a Check's outcome goes (call_sink.h).
  using CheckSink = CallSink;

  // What a gRPC call of either method gets (queue_server.h): size limit, caller policy, then the
  // Check or the Report. serveCheck answers through `sink`; serveReport returns the answer. Both
  // count and log (sampled) invalid requests.
  void serveCheck(const grpc::ServerContextBase& context, const grpc::ByteBuffer& request,
                  CheckSink* sink);
  grpc::Status serveReport(const grpc::ServerContextBase& context, const grpc::ByteBuffer& request);
  // Counts (and logs, sampled) a call refused as INVALID_ARGUMENT; nothing for other statuses.
  void noteInvalid(ServerMetrics::Method method, const grpc::ServerContextBase& context,
                   const grpc::Status& status);
  // The same, for a caller named by `peer` (the lean port's connections).
  void noteInvalid(ServerMetrics::Method method, std::string_view peer, const grpc::Status& status);

  // Runs a Check on the request bytes, which are borrowed for the call only. Without quotas,
  // everything happens on this thread and allocates nothing per call beyond what the rules'
  // adapters need; with quotas, the call's pending state (response, one slot per quota) is
  // allocated, because an adapter may answer on another thread after check() returned.
  void decideCheck(std::string_view request, CheckSink* sink, const CallControl& call = {});

  // The status a Check with these bytes gets, with the response bytes in `response`, waiting for
  // asynchronous quota adapters. Exposed for tests and benchmarks, which call it without a network.
  grpc::Status checkInProcess(std::string_view request, std::string* response,
                              const CallControl& call = {});
  grpc::Status reportInProcess(std::string_view request, const CallControl& call = {});

 private:
  grpc::Status checkSize(size_t size, ServerMetrics::Method method);
  // OK, or the answer to a call whose deadline passed (counted); `where` says at which step.
  grpc::Status stopped(const CallControl& call, ServerMetrics::Method method,
                       std::string_view where);
  grpc::Status deadlineExceeded(ServerMetrics::Method method, std::string_view where);

  const runtime::DispatcherSource* dispatchers_;
  ServerMetrics* metrics_;
  size_t max_message_size_;
  api::DecodeLimits limits_;
  const security::tls::CallerGate* gate_ = nullptr;
  std::atomic<uint64_t> unmatched_quota_logs_{0};
  std::atomic<uint64_t> invalid_request_logs_{0};
};

}  // namespace mixer::server
