// QueueServer: every gRPC call of mixs' port, on gRPC's asynchronous completion-queue API.
//
// One completion queue per thread (--grpc-threads, 1 by default). The thread that takes a call
// from its queue runs it and answers it: with one queue, a Check's policy runs on the thread that
// read the request, with no hand-off to another thread (docs/performance.md §17). With several,
// gRPC 1.51 reads a connection on whichever thread polls and queues its calls on the
// connection's queue, so a call often wakes a second thread. It carries:
//   - istio.mixer.v1.Mixer Check and Report (MixerService);
//   - ext_authz Check, the rate limit service and the access log stream (EnvoyFrontends);
//   - grpc.health.v1.Health Check and Watch (HealthState);
//   - grpc.reflection.v1alpha and v1 ServerReflection (Reflection);
// and answers any other method UNIMPLEMENTED. No service of the port is on gRPC's callback or
// synchronous API: in gRPC 1.51 their threads poll the same connections, and a call read by one
// of them is handed to a queue's thread, which costs more than either API alone.
//
// A call whose quota adapter answers later (redisquota) is answered from that adapter's thread;
// the call stays counted until gRPC has sent its answer, and stop() waits for it.
//
// Each thread works in passes (runPasses): it runs the events its queue has at once (at most
// kMaxPassEvents), then flushes the adapters its calls left holding I/O
// (adapter_host::FlushScope, adapter ABI 1.3), then waits in Next(). redisquota sends the Redis
// commands of one pass together there.
//
// A client that goes away is noticed at the call's deadline, not before: the asynchronous API
// tells a call's cancellation only through its queue, whose one thread is the one running it.
#pragma once

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "frontends/envoy/envoy_services.h"
#include "mixer/server/health_state.h"
#include "mixer/server/mixer_service.h"
#include "mixer/server/reflection.h"
#include "mixer/server/server_metrics.h"
#include "mixer/v1/mixer.grpc.pb.h"

namespace mixer::server {

class QueueServer {
 public:
  // `threads`: completion queues, each with its thread; 0: one per CPU.
  // OWNERSHIP: everything is borrowed and must outlive this object.
  QueueServer(MixerService* mixer, frontends::envoy::EnvoyFrontends* envoy, HealthState* health,
              const Reflection* reflection, ServerMetrics* metrics, int threads);
  ~QueueServer();

  // Registers the services and the queues; before builder->BuildAndStart().
  void registerOn(grpc::ServerBuilder* builder);
  // Asks for the first calls and starts the threads; after BuildAndStart().
  void start();
  // After the grpc::Server's Shutdown(): waits until every call has been answered and deleted
  // (up to `wait`), then shuts the queues down and joins the threads.
  void stop(std::chrono::milliseconds wait = std::chrono::seconds(30));

  // A call's event on its queue: what the queue's thread runs for a tag it takes.
  struct Tag {
    void (*run)(void* owner, bool ok);
    void* owner;
  };

  // The call kinds. Each unary kind is asked for kRequestsPerQueue times per queue, the access log
  // stream and the generic call (health, reflection, unknown methods) kStreamRequestsPerQueue
  // times; every call that arrives asks for its successor.
  enum Method { kCheck, kReport, kAuthz, kRateLimit, kAccessLog, kGeneric };
  static constexpr int kRequestsPerQueue = 8;
  static constexpr int kStreamRequestsPerQueue = 2;

  using MixerAsync = istio::mixer::v1::Mixer::WithRawMethod_Check<
      istio::mixer::v1::Mixer::WithRawMethod_Report<istio::mixer::v1::Mixer::Service>>;
  using AuthzAsync = ::envoy::service::auth::v3::Authorization::WithRawMethod_Check<
      ::envoy::service::auth::v3::Authorization::Service>;
  using RateLimitAsync =
      ::envoy::service::ratelimit::v3::RateLimitService::WithRawMethod_ShouldRateLimit<
          ::envoy::service::ratelimit::v3::RateLimitService::Service>;
  using AccessLogAsync =
      ::envoy::service::accesslog::v3::AccessLogService::WithRawMethod_StreamAccessLogs<
          ::envoy::service::accesslog::v3::AccessLogService::Service>;

  // What the calls (queue_server.cc) ask for and run: the gRPC services they are requested
  // from, and the logic they are handed to (borrowed).
  struct Services {
    MixerService* mixer = nullptr;
    frontends::envoy::EnvoyFrontends* envoy = nullptr;
    HealthState* health = nullptr;
    const Reflection* reflection = nullptr;
    ServerMetrics* metrics = nullptr;
    MixerAsync mixer_async;
    AuthzAsync authz_async;
    RateLimitAsync rate_limit_async;
    AccessLogAsync access_log_async;
    grpc::AsyncGenericService generic;
  };
  Services& services() { return services_; }
  // A queue thread's loop (the top of this file): runs the tags of `cq` in passes until the queue
  // is shut down. While `scope` has calls awaiting a flush, the thread takes the events that are
  // ready without waiting; it flushes when none is, or after kMaxPassEvents events (a queue that
  // is never empty under load would otherwise hold an adapter's writes until their deadline),
  // and only then waits in Next(). Scope: pending() and flush(), as adapter_host::FlushScope.
  static constexpr int kMaxPassEvents = 32;
  template <class Scope>
  static void runPasses(grpc::CompletionQueue* cq, Scope* scope) {
    void* tag;
    bool ok;
    int events = 0;  // run since calls began to await the flush
    for (;;) {
      if (scope->pending()) {
        const auto got = events >= kMaxPassEvents
                             ? grpc::CompletionQueue::TIMEOUT
                             : cq->AsyncNext(&tag, &ok, gpr_time_0(GPR_CLOCK_MONOTONIC));
        if (got == grpc::CompletionQueue::TIMEOUT) {
          scope->flush();
          events = 0;
          continue;
        }
        if (got == grpc::CompletionQueue::SHUTDOWN) return;
      } else if (!cq->Next(&tag, &ok)) {
        return;
      }
      auto* t = static_cast<Tag*>(tag);
      t->run(t->owner, ok);
      events = scope->pending() ? events + 1 : 0;
    }
  }

  // Asks for the next call of `m` on `cq` (nothing once stopping); a call calls callDone() when
  // it is deleted.
  void ask(Method m, grpc::ServerCompletionQueue* cq);
  void callDone();
  bool stopping() const { return stopping_.load(std::memory_order_acquire); }

 private:
  Services services_;
  const int thread_count_;
  std::vector<std::unique_ptr<grpc::ServerCompletionQueue>> queues_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopping_{false};
  std::atomic<long> calls_{0};  // call objects alive: asked for, running or being answered
  std::mutex mu_;               // with cv_: stop() waits for calls_ to reach 0
  std::condition_variable cv_;
  bool stopped_ = false;
};

}  // namespace mixer::server
