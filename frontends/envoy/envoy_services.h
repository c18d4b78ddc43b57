// The Envoy front-ends of mixs: ext_authz (envoy.service.auth.v3.Authorization/Check), the rate
// limit service (envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit) and the access log
// service (envoy.service.accesslog.v3.AccessLogService/StreamAccessLogs), served on the same
// gRPC server as istio.mixer.v1.Mixer (mixer/server/queue_server.h carries their calls).
//
// Each one decodes its request into the same AttributeBag a Mixer Check or Report fills
// (attribute_mapping.h), then uses the same Dispatcher: check() and quota() for ext_authz,
// quota() for the rate limit service, report() and flushReports() (the ReportQueue) for the
// access log service. Requests are parsed into protobuf messages on a per-thread arena; the bag
// holds views into them. Thread-safe: per-request state is per thread (or per stream).
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <string_view>

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <array>

#include "envoy/service/accesslog/v3/als.grpc.pb.h"
#include "envoy/service/auth/v3/external_auth.grpc.pb.h"
#include "envoy/service/ratelimit/v3/rls.grpc.pb.h"
#include "frontends/envoy/attribute_mapping.h"
#include "mixer/runtime/dispatcher.h"
#include "mixer/server/call_sink.h"
#include "security/tls/caller_gate.h"

namespace frontends::envoy {

struct Options {
  MappingLimits limits;
  // Larger requests (or stream messages) get INVALID_ARGUMENT, as for the Mixer API.
  size_t max_message_size = 1024 * 1024;
  // Where the calls are counted (grpc_server_handled_total, as for the Mixer API, and
  // mixer_envoy_access_log_entries_total); null: not counted.
  std::shared_ptr<prometheus::Registry> registry;
};

using mixer::server::CallSink;  // where the outcome of a unary call goes (mixer/server/call_sink.h)

// The three services and the logic they share.
class EnvoyFrontends {
 public:
  // OWNERSHIP: `dispatchers` is borrowed and must outlive this object.
  EnvoyFrontends(const mixer::runtime::DispatcherSource* dispatchers, Options options);

  // The services, in the order of kServiceNames.
  enum Service { kAuthz = 0, kRateLimit = 1, kAccessLog = 2 };
  // The fully-qualified service names, for the health service.
  static constexpr const char* kServiceNames[] = {"envoy.service.auth.v3.Authorization",
                                                  "envoy.service.ratelimit.v3.RateLimitService",
                                                  "envoy.service.accesslog.v3.AccessLogService"};

  // Who may call each API, and whose identity claims are believed (docs/security.md). Null (the
  // default): every caller, claims as sent. OWNERSHIP: borrowed; set before serving.
  void setCallerGate(const security::tls::CallerGate* gate) { gate_ = gate; }
  const security::tls::CallerGate* callerGate() const { return gate_; }

  // One gRPC call of ext_authz (kAuthz) or the rate limit service (kRateLimit), whatever the gRPC
  // API that carries it: size limit, caller policy, then the call; the outcome goes to `sink`.
  void serveUnary(Service service, const grpc::ServerContextBase& context,
                  const grpc::ByteBuffer& request, CallSink* sink);
  // What the carrier does with such a call's outcome: counts it, and logs (sampled) a refusal.
  void noteFinished(Service service, const grpc::ServerContextBase& context,
                    const grpc::Status& status);

  // An ext_authz Check or a ShouldRateLimit on request bytes (borrowed for the call). `caller`:
  // the caller's proven identity, written into the attributes (may be null).
  void authzCheck(std::string_view request, CallSink* sink,
                  const security::tls::Caller* caller = nullptr);
  void shouldRateLimit(std::string_view request, CallSink* sink,
                       const security::tls::Caller* caller = nullptr);
  // One StreamAccessLogsMessage of a stream: its entries become Report records, handed to the
  // report queue before this returns. `reporter_uid` carries the stream's identifier (sent in
  // its first message only) from one message to the next.
  grpc::Status accessLogs(std::string_view message, std::string* reporter_uid,
                          size_t* accepted = nullptr,
                          const security::tls::Caller* caller = nullptr);

  // The same, waiting for asynchronous quota adapters (tests, benchmarks).
  grpc::Status handleAuthzCheck(std::string_view request, std::string* response);
  grpc::Status handleRateLimit(std::string_view request, std::string* response);

  const Options& options() const { return options_; }
  grpc::Status checkSize(size_t size) const;

  // Counts a finished call of service `service` (index in kServiceNames).
  void countCall(int service, grpc::StatusCode code) {
    if (handled_[service][0] != nullptr && code >= 0 && code < kCodeCount) {
      handled_[service][code]->Increment();
    }
  }
  void countAccessLogEntries(size_t n) {
    if (log_entries_ != nullptr) log_entries_->Increment(static_cast<double>(n));
  }

 private:
  static constexpr int kCodeCount = 17;

  const mixer::runtime::DispatcherSource* dispatchers_;
  Options options_;
  const security::tls::CallerGate* gate_ = nullptr;
  std::array<std::array<prometheus::Counter*, kCodeCount>, 3> handled_{};
  prometheus::Counter* log_entries_ = nullptr;
};

// One StreamAccessLogs stream, whatever the gRPC API that carries it: each message is handled
// when it arrives; a bad one ends the stream with its error, and the entries of the messages
// before it stay accepted. Counts the stream's outcome.
class AccessLogStream {
 public:
  // OWNERSHIP: both borrowed for the stream's life.
  AccessLogStream(EnvoyFrontends* f, const grpc::ServerContextBase* context);
  // Before any message is read: non-OK when the caller may not send access logs (the stream is
  // then finished with it).
  grpc::Status admit();
  // One message: non-OK ends the stream with that status.
  grpc::Status onMessage(const grpc::ByteBuffer& message);
  // The client closed its side: the stream ends OK.
  void onClosed();

 private:
  EnvoyFrontends* f_;
  const grpc::ServerContextBase* context_;
  std::string reporter_uid_;
  security::tls::Caller caller_;
  bool gated_ = false;
  size_t entries_ = 0;
  size_t messages_ = 0;
};

// google.rpc.Code → the HTTP status of ext_authz's DeniedHttpResponse: PERMISSION_DENIED 403,
// UNAUTHENTICATED 401, RESOURCE_EXHAUSTED 429, anything else 403 (Envoy's default).
int httpStatusForCode(int32_t code);

}  // namespace frontends::envoy
