// MixerService: the istio.mixer.v1.Mixer gRPC service.
//
// Both methods take the raw request bytes (gRPC's raw callback API) and decode them straight into
// a per-thread AttributeBag, so no protobuf request message is built and no string is copied.
// Thread-safe: all per-request state is per thread and reused across calls.
#pragma once

#include <atomic>
#include <memory>

#include "mixer/runtime/dispatcher.h"
#include "mixer/server/server_metrics.h"
#include "mixer/v1/mixer.grpc.pb.h"

namespace mixer::server {

using MixerRawService = istio::mixer::v1::Mixer::WithRawCallbackMethod_Check<
    istio::mixer::v1::Mixer::WithRawCallbackMethod_Report<istio::mixer::v1::Mixer::Service>>;

class MixerService final : public MixerRawService {
 public:
  // `max_message_size`: larger requests get INVALID_ARGUMENT.
  // OWNERSHIP: `dispatchers` and `metrics` are borrowed and must outlive the service.
  MixerService(const runtime::DispatcherSource* dispatchers, ServerMetrics* metrics,
               size_t max_message_size);

  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context,
                                  const grpc::ByteBuffer* request,
                                  grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* Report(grpc::CallbackServerContext* context,
                                   const grpc::ByteBuffer* request,
                                   grpc::ByteBuffer* response) override;

  // Where a Check's outcome goes. finish() is called exactly once: on the thread that called
  // check(), or, when a quota went to an adapter that answers later, on that adapter's (or the
  // host's deadline) thread, after detach() was called on the calling thread.
  class CheckSink {
   public:
    virtual ~CheckSink() = default;
    // OWNERSHIP: `response` is borrowed for the call.
    virtual void finish(const grpc::Status& status, std::string_view response) = 0;
    // The outcome will not be known before check() returns: returns the sink that will receive
    // it (this one, or a copy that lives until its finish()).
    virtual CheckSink* detach() = 0;
  };

  // Runs a Check on the request bytes, which are borrowed for the call only. Without quotas,
  // everything happens on this thread and allocates nothing per call beyond what the rules'
  // adapters need; with quotas, the call's pending state (response, one slot per quota) is
  // allocated, because an adapter may answer on another thread after check() returned.
  void check(std::string_view request, CheckSink* sink);

  // The status a Check with these bytes gets, with the response bytes in `response`, waiting for
  // asynchronous quota adapters. Exposed for tests and benchmarks, which call it without a network.
  grpc::Status handleCheck(std::string_view request, std::string* response);
  grpc::Status handleReport(std::string_view request);

 private:
  grpc::Status checkSize(size_t size, ServerMetrics::Method method);

  const runtime::DispatcherSource* dispatchers_;
  ServerMetrics* metrics_;
  size_t max_message_size_;
  std::atomic<uint64_t> unmatched_quota_logs_{0};
  std::atomic<uint64_t> invalid_request_logs_{0};
};

}  // namespace mixer::server
