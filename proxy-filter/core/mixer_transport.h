// MixerTransport: how a MixerClient reaches the server. GrpcTransport is the real one; tests of
// the client's own logic may substitute another.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "mixer/v1/mixer.grpc.pb.h"

namespace mixer::proxy {

// Implementations are thread-safe; `done` runs exactly once, usually on a transport thread (it
// may run inside check()/report() when the call fails at once).
class MixerTransport {
 public:
  using CheckDone =
      std::function<void(const grpc::Status&, const istio::mixer::v1::CheckResponse&)>;
  using ReportDone = std::function<void(const grpc::Status&)>;

  virtual ~MixerTransport() = default;
  virtual void check(const istio::mixer::v1::CheckRequest& request, CheckDone done) = 0;
  virtual void report(const istio::mixer::v1::ReportRequest& request, ReportDone done) = 0;
  // A Report whose request is already serialized (the report batcher encodes batches straight
  // into wire bytes). This default parses it and calls report(); GrpcTransport sends the bytes.
  virtual void reportSerialized(std::string request, ReportDone done) {
    istio::mixer::v1::ReportRequest parsed;
    if (!parsed.ParseFromString(request)) {
      done(grpc::Status(grpc::StatusCode::INTERNAL, "unparsable serialized ReportRequest"));
      return;
    }
    report(parsed, std::move(done));
  }
  // A Check whose request is already serialized (MixerClient encodes it straight into wire
  // bytes). This default parses it and calls check(); GrpcTransport sends the bytes.
  virtual void checkSerialized(std::string request, CheckDone done) {
    istio::mixer::v1::CheckRequest parsed;
    if (!parsed.ParseFromString(request)) {
      done(grpc::Status(grpc::StatusCode::INTERNAL, "unparsable serialized CheckRequest"), {});
      return;
    }
    check(parsed, std::move(done));
  }
  // Whether check() and report() only queue the call for the transport's own thread (never
  // waiting, no network work on the caller's thread): a caller may send from its own thread
  // rather than hand the send to one of its own (MixerClient's report batcher does).
  virtual bool queuesCalls() const { return false; }
};

struct GrpcTransportOptions {
  // host:port (a DNS name that resolves to several mixs replicas uses them all, re-resolved by
  // gRPC), or several comma-separated IP:port replicas ("10.0.0.1:9091,10.0.0.2:9091"), or a gRPC
  // target with a scheme (dns:///, ipv4:, ipv6:, unix:). Calls are spread over the healthy
  // replicas (see grpcTarget).
  std::string address;
  // TLS to the server (security/tls/credentials.h); null: plain text.
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  // The name the server's certificate must carry, when it is not the address' host.
  std::string server_name;
  int64_t timeout_ms = 1000;   // deadline of each attempt
  int max_retries = 0;         // Istio 1.4's default: no retries
  int64_t base_retry_ms = 80;  // retry n waits uniform in [base, min(max, base * 2^n)]
  int64_t max_retry_ms = 1000;
};

// The gRPC target for `address` (see GrpcTransportOptions): one host:port or a target with a
// scheme as it is, several comma-separated IP:port entries as gRPC's ipv4: or ipv6: target. Empty,
// with `error` set, when a list mixes address families or holds a name (give a DNS name alone).
std::string grpcTarget(const std::string& address, std::string* error);

// The channel's service config: gRPC's round_robin over every address the target resolves to,
// with client-side health checking (grpc.health.v1.Health, service istio.mixer.v1.Mixer, which
// mixs serves): a replica that is down, or reports NOT_SERVING, gets no calls until it is back.
extern const char kMixerServiceConfig[];

// The retry delay of attempt `retry` (0-based), jittered as above.
int64_t retryDelayMs(const GrpcTransportOptions& options, int retry, std::mt19937_64* random);

// Unary istio.mixer.v1 calls over one channel, driven by the transport's own completion queue and
// polling thread (callbacks run there), with a per-attempt deadline and retries of transport
// failures (UNAVAILABLE, DEADLINE_EXCEEDED) after a jittered backoff (a gRPC alarm on the same
// queue). The destructor waits for calls in flight. Thread-safe.
class GrpcTransport : public MixerTransport {
 public:
  explicit GrpcTransport(GrpcTransportOptions options);
  ~GrpcTransport() override;

  void check(const istio::mixer::v1::CheckRequest& request, CheckDone done) override;
  void report(const istio::mixer::v1::ReportRequest& request, ReportDone done) override;
  void reportSerialized(std::string request, ReportDone done) override;
  void checkSerialized(std::string request, CheckDone done) override;

  // An event on the completion queue.
  class Tag {
   public:
    virtual ~Tag() = default;
    virtual void fire(bool ok) = 0;
  };

 private:
  template <class Request, class Response>
  class Call;
  void poll();
  void callStarted();
  void callFinished();
  int64_t nextRetryDelayMs(int retry);

  GrpcTransportOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<istio::mixer::v1::Mixer::Stub> stub_;
  grpc::GenericStub generic_stub_;  // serialized Checks and Reports
  grpc::CompletionQueue queue_;
  std::mutex mutex_;
  std::condition_variable idle_;
  int64_t in_flight_ = 0;
  std::mt19937_64 random_;
  std::thread poller_;
};

}  // namespace mixer::proxy
