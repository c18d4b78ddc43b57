// The Envoy front-ends of mixs: ext_authz (envoy.service.auth.v3.Authorization/Check), the rate
// limit service (envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit) and the access log
// service (envoy.service.accesslog.v3.AccessLogService/StreamAccessLogs), served on the same
// gRPC server as istio.mixer.v1.Mixer.
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

using AuthorizationRaw = ::envoy::service::auth::v3::Authorization::WithRawCallbackMethod_Check<
    ::envoy::service::auth::v3::Authorization::Service>;
using RateLimitRaw =
    ::envoy::service::ratelimit::v3::RateLimitService::WithRawCallbackMethod_ShouldRateLimit<
        ::envoy::service::ratelimit::v3::RateLimitService::Service>;
using AccessLogRaw =
    ::envoy::service::accesslog::v3::AccessLogService::WithRawCallbackMethod_StreamAccessLogs<
        ::envoy::service::accesslog::v3::AccessLogService::Service>;

class EnvoyFrontends;

class AuthorizationService final : public AuthorizationRaw {
 public:
  explicit AuthorizationService(EnvoyFrontends* f) : f_(f) {}
  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context,
                                  const grpc::ByteBuffer* request,
                                  grpc::ByteBuffer* response) override;

 private:
  EnvoyFrontends* f_;
};

class RateLimitService final : public RateLimitRaw {
 public:
  explicit RateLimitService(EnvoyFrontends* f) : f_(f) {}
  grpc::ServerUnaryReactor* ShouldRateLimit(grpc::CallbackServerContext* context,
                                            const grpc::ByteBuffer* request,
                                            grpc::ByteBuffer* response) override;

 private:
  EnvoyFrontends* f_;
};

class AccessLogService final : public AccessLogRaw {
 public:
  explicit AccessLogService(EnvoyFrontends* f) : f_(f) {}
  grpc::ServerReadReactor<grpc::ByteBuffer>* StreamAccessLogs(grpc::CallbackServerContext* context,
                                                              grpc::ByteBuffer* response) override;

 private:
  EnvoyFrontends* f_;
};

// The three services and the logic they share.
class EnvoyFrontends {
 public:
  // OWNERSHIP: `dispatchers` is borrowed and must outlive this object.
  EnvoyFrontends(const mixer::runtime::DispatcherSource* dispatchers, Options options);

  AuthorizationService& authorization() { return authorization_; }
  RateLimitService& rateLimit() { return rate_limit_; }
  AccessLogService& accessLog() { return access_log_; }
  // The fully-qualified service names, for the health service.
  static constexpr const char* kServiceNames[] = {"envoy.service.auth.v3.Authorization",
                                                  "envoy.service.ratelimit.v3.RateLimitService",
                                                  "envoy.service.accesslog.v3.AccessLogService"};

  // Who may call each API, and whose identity claims are believed (docs/security.md). Null (the
  // default): every caller, claims as sent. OWNERSHIP: borrowed; set before serving.
  void setCallerGate(const security::tls::CallerGate* gate) { gate_ = gate; }
  const security::tls::CallerGate* callerGate() const { return gate_; }

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
  AuthorizationService authorization_{this};
  RateLimitService rate_limit_{this};
  AccessLogService access_log_{this};
};

// google.rpc.Code → the HTTP status of ext_authz's DeniedHttpResponse: PERMISSION_DENIED 403,
// UNAUTHENTICATED 401, RESOURCE_EXHAUSTED 429, anything else 403 (Envoy's default).
int httpStatusForCode(int32_t code);

}  // namespace frontends::envoy
