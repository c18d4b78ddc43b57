#include "mixer/server/queue_server.h"

#include <pthread.h>

#include <algorithm>
#include <optional>
#include <set>
#include <string>

#include "base/log.h"
#include "base/str_cat.h"
#include "mixer/adapter_host/handler.h"
#include "mixer/server/byte_buffer.h"

namespace mixer::server {
namespace {

using Tag = QueueServer::Tag;

template <class C, void (C::*M)(bool)>
void thunk(void* owner, bool ok) {
  (static_cast<C*>(owner)->*M)(ok);
}

// A unary call of the Mixer API or of ext_authz or the rate limit service: asked for, run on the
// queue's thread when it arrives, answered (from this thread or, when a quota adapter answers
// later, from the adapter's), then deleted when gRPC has sent the answer.
class UnaryCall final : public CallSink {
 public:
  UnaryCall(QueueServer* s, QueueServer::Method method, grpc::ServerCompletionQueue* cq)
      : s_(s), method_(method), cq_(cq), responder_(&ctx_) {
    void* tag = &arrived_;
    switch (method) {
      case QueueServer::kCheck:
        s->services().mixer_async.RequestCheck(&ctx_, &request_, &responder_, cq, cq, tag);
        break;
      case QueueServer::kReport:
        s->services().mixer_async.RequestReport(&ctx_, &request_, &responder_, cq, cq, tag);
        break;
      case QueueServer::kAuthz:
        s->services().authz_async.RequestCheck(&ctx_, &request_, &responder_, cq, cq, tag);
        break;
      default:
        s->services().rate_limit_async.RequestShouldRateLimit(&ctx_, &request_, &responder_, cq, cq,
                                                              tag);
        break;
    }
  }

  void finish(const grpc::Status& status, std::string_view response) override {
    switch (method_) {
      case QueueServer::kCheck:
        s_->services().mixer->noteInvalid(ServerMetrics::kCheck, ctx_, status);
        timer_->finish(status);
        break;
      case QueueServer::kReport:
        timer_->finish(status);  // serveReport noted an invalid one
        break;
      case QueueServer::kAuthz:
        s_->services().envoy->noteFinished(frontends::envoy::EnvoyFrontends::kAuthz, ctx_, status);
        break;
      default:
        s_->services().envoy->noteFinished(frontends::envoy::EnvoyFrontends::kRateLimit, ctx_,
                                           status);
        break;
    }
    if (status.ok()) {
      response_ = bufferOf(response);
      responder_.Finish(response_, status, &answered_);
    } else {
      responder_.FinishWithError(status, &answered_);
    }
  }
  // The call object lives until its answer is sent: it is its own detached sink.
  CallSink* detach() override { return this; }

 private:
  void arrived(bool ok) {
    if (!ok) {  // the server is shutting down: no call came
      release();
      return;
    }
    s_->ask(method_, cq_);  // the next call of this method on this queue
    switch (method_) {
      case QueueServer::kCheck:
        timer_.emplace(s_->services().metrics, ServerMetrics::kCheck);
        s_->services().mixer->serveCheck(ctx_, request_,
                                         this);  // may finish now, or later elsewhere
        break;
      case QueueServer::kReport:
        timer_.emplace(s_->services().metrics, ServerMetrics::kReport);
        finish(s_->services().mixer->serveReport(ctx_, request_), {});
        break;
      case QueueServer::kAuthz:
        s_->services().envoy->serveUnary(frontends::envoy::EnvoyFrontends::kAuthz, ctx_, request_,
                                         this);
        break;
      default:
        s_->services().envoy->serveUnary(frontends::envoy::EnvoyFrontends::kRateLimit, ctx_,
                                         request_, this);
        break;
    }
  }
  void answered(bool /*ok*/) { release(); }
  void release() {
    QueueServer* s = s_;
    delete this;
    s->callDone();
  }

  QueueServer* const s_;
  const QueueServer::Method method_;
  grpc::ServerCompletionQueue* const cq_;
  grpc::ServerContext ctx_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
  grpc::ServerAsyncResponseWriter<grpc::ByteBuffer> responder_;
  std::optional<CallTimer> timer_;
  Tag arrived_{&thunk<UnaryCall, &UnaryCall::arrived>, this};
  Tag answered_{&thunk<UnaryCall, &UnaryCall::answered>, this};
};

// One StreamAccessLogs stream: every message is handled on the queue's thread as it arrives.
class AccessLogCall {
 public:
  AccessLogCall(QueueServer* s, grpc::ServerCompletionQueue* cq)
      : s_(s), cq_(cq), reader_(&ctx_), stream_(s->services().envoy, &ctx_) {
    s->services().access_log_async.RequestStreamAccessLogs(&ctx_, &reader_, cq, cq, &arrived_);
  }

 private:
  void arrived(bool ok) {
    if (!ok) {
      release();
      return;
    }
    s_->ask(QueueServer::kAccessLog, cq_);
    const grpc::Status admitted = stream_.admit();
    if (!admitted.ok()) {
      reader_.FinishWithError(admitted, &finished_);  // before any message is read
      return;
    }
    reader_.Read(&message_, &read_);
  }
  void read(bool ok) {
    if (!ok) {  // the client closed its side (or went away): the stream is done
      stream_.onClosed();
      reader_.Finish(bufferOf({}), grpc::Status::OK, &finished_);
      return;
    }
    const grpc::Status status = stream_.onMessage(message_);
    message_.Clear();
    if (!status.ok()) {
      reader_.FinishWithError(status, &finished_);
      return;
    }
    reader_.Read(&message_, &read_);
  }
  void finished(bool /*ok*/) {
    QueueServer* s = s_;
    delete this;
    s->callDone();
  }
  void release() { finished(false); }

  QueueServer* const s_;
  grpc::ServerCompletionQueue* const cq_;
  grpc::ServerContext ctx_;
  grpc::ServerAsyncReader<grpc::ByteBuffer, grpc::ByteBuffer> reader_;
  grpc::ByteBuffer message_;
  frontends::envoy::AccessLogStream stream_;
  Tag arrived_{&thunk<AccessLogCall, &AccessLogCall::arrived>, this};
  Tag read_{&thunk<AccessLogCall, &AccessLogCall::read>, this};
  Tag finished_{&thunk<AccessLogCall, &AccessLogCall::finished>, this};
};

// Any other method: grpc.health.v1.Health Check and Watch, server reflection, or UNIMPLEMENTED.
// Its state is guarded by mu_: a Watch is told of health changes on other threads. It is deleted
// when gRPC has said the call is over (the done tag) and none of its operations is in flight.
class GenericCall final : public HealthState::Watcher {
 public:
  GenericCall(QueueServer* s, grpc::ServerCompletionQueue* cq) : s_(s), cq_(cq), stream_(&ctx_) {
    ctx_.AsyncNotifyWhenDone(&done_);
    s->services().generic.RequestCall(&ctx_, &stream_, cq, cq, &arrived_);
  }

  void healthChanged() override {
    std::lock_guard<std::mutex> lock(mu_);
    sendHealthLocked();
  }

 private:
  enum Kind { kUnimplemented, kHealthCheck, kHealthWatch, kReflection };

  void arrived(bool ok) {
    if (!ok) {  // no call came, and no done tag will
      released_ = true;
      release_to_ = s_;
      return;
    }
    s_->ask(QueueServer::kGeneric, cq_);
    const std::string& method = ctx_.method();
    if (method == "/grpc.health.v1.Health/Check") {
      kind_ = kHealthCheck;
    } else if (method == "/grpc.health.v1.Health/Watch") {
      kind_ = kHealthWatch;
    } else if (method == "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo" ||
               method == "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo") {
      kind_ = kReflection;
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (kind_ == kUnimplemented) {
      finishLocked(
          grpc::Status(grpc::StatusCode::UNIMPLEMENTED, base::strCat("unknown method ", method)));
      return;
    }
    ++ops_;
    stream_.Read(&message_, &read_);
  }

  void read(bool ok) {
    std::unique_lock<std::mutex> lock(mu_);
    --ops_;
    if (!ok) {  // the client closed its side, or the call is over
      if (kind_ == kReflection) {
        finishLocked(grpc::Status::OK);
      } else if (kind_ != kHealthWatch || !watching_) {
        finishLocked(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no request message"));
      }
      return;
    }
    grpc::Slice slice;
    if (!flatten(message_, &slice)) {
      finishLocked(grpc::Status(grpc::StatusCode::INTERNAL, "cannot read the request bytes"));
      return;
    }
    message_.Clear();
    const std::string_view bytes = view(slice);
    if (kind_ != kReflection && !HealthState::parseRequest(bytes, &service_)) {
      finishLocked(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                "the request is not a grpc.health.v1.HealthCheckRequest"));
      return;
    }
    switch (kind_) {
      case kHealthCheck: {
        const HealthState::Status status = s_->services().health->status(service_);
        if (status == HealthState::kServiceUnknown) {
          finishLocked(grpc::Status(grpc::StatusCode::NOT_FOUND, "service name unknown"));
          return;
        }
        ++ops_;
        finishing_ = true;
        stream_.WriteAndFinish(bufferOf(HealthState::encodeResponse(status)), grpc::WriteOptions(),
                               grpc::Status::OK, &finished_);
        return;
      }
      case kHealthWatch: {
        watching_ = true;
        lock.unlock();  // the health state tells its watchers under its own lock
        s_->services().health->add(this);
        healthChanged();  // the first status, and any change made before add()
        return;
      }
      default: {
        std::string response;
        if (!s_->services().reflection->answer(bytes, &sent_files_, &response)) {
          finishLocked(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                    "the request is not a ServerReflectionRequest"));
          return;
        }
        ++ops_;
        stream_.Write(bufferOf(response), &wrote_);
        return;
      }
    }
  }

  void wrote(bool ok) {
    std::lock_guard<std::mutex> lock(mu_);
    --ops_;
    if (kind_ == kReflection) {
      if (ok && !done_seen_) {
        ++ops_;
        stream_.Read(&message_, &read_);  // the stream's next request
      } else {
        releaseIfOverLocked();
      }
      return;
    }
    writing_ = false;
    if (ok) sendHealthLocked();
    releaseIfOverLocked();
  }

  void finished(bool /*ok*/) {
    std::lock_guard<std::mutex> lock(mu_);
    --ops_;
    releaseIfOverLocked();
  }

  void done(bool /*ok*/) {
    bool was_watching;
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_seen_ = true;
      was_watching = watching_;
      watching_ = false;
    }
    // Without this call's lock: the health state tells its watchers under its own lock.
    if (was_watching) s_->services().health->remove(this);
    std::lock_guard<std::mutex> lock(mu_);
    releaseIfOverLocked();
  }

  // A Watch sends the service's status when it differs from what it sent last; once the server
  // shuts down, it sends NOT_SERVING and ends the stream UNAVAILABLE.
  void sendHealthLocked() {
    if (!watching_ || writing_ || finishing_ || done_seen_) return;
    const HealthState::Status status = s_->services().health->status(service_);
    const bool changed = status != last_sent_;
    last_sent_ = status;
    if (s_->services().health->isShutdown()) {
      const grpc::Status end(grpc::StatusCode::UNAVAILABLE, "the server is shutting down");
      finishing_ = true;
      ++ops_;
      if (changed) {
        stream_.WriteAndFinish(bufferOf(HealthState::encodeResponse(status)), grpc::WriteOptions(),
                               end, &finished_);
      } else {
        stream_.Finish(end, &finished_);
      }
      return;
    }
    if (!changed) return;
    writing_ = true;
    ++ops_;
    stream_.Write(bufferOf(HealthState::encodeResponse(status)), &wrote_);
  }

  void finishLocked(const grpc::Status& status) {
    if (finishing_) return;
    finishing_ = true;
    ++ops_;
    stream_.Finish(status, &finished_);
  }

  // Called with mu_ held: marks the call for deletion once the running tag's handler has
  // returned (and released the lock), when the call is over and nothing of it is in flight.
  void releaseIfOverLocked() {
    if (!done_seen_ || ops_ > 0 || released_) return;
    released_ = true;
    release_to_ = s_;
  }

  QueueServer* const s_;
  grpc::ServerCompletionQueue* const cq_;
  grpc::GenericServerContext ctx_;
  grpc::GenericServerAsyncReaderWriter stream_;
  grpc::ByteBuffer message_;
  Kind kind_ = kUnimplemented;
  std::mutex mu_;
  int ops_ = 0;
  bool done_seen_ = false;
  bool finishing_ = false;
  bool released_ = false;
  bool watching_ = false;
  bool writing_ = false;
  std::string service_;  // a health request's service
  HealthState::Status last_sent_ = HealthState::kUnknown;
  std::set<std::string> sent_files_;
  QueueServer* release_to_ = nullptr;  // set when the call is to be deleted

 public:
  // Runs a tag of this call, and deletes the call when that event was its last.
  template <void (GenericCall::*M)(bool)>
  static void run(void* owner, bool ok) {
    auto* call = static_cast<GenericCall*>(owner);
    (call->*M)(ok);
    if (QueueServer* s = call->release_to_) {
      delete call;
      s->callDone();
    }
  }

 private:
  Tag arrived_{&run<&GenericCall::arrived>, this};
  Tag read_{&run<&GenericCall::read>, this};
  Tag wrote_{&run<&GenericCall::wrote>, this};
  Tag finished_{&run<&GenericCall::finished>, this};
  Tag done_{&run<&GenericCall::done>, this};
};

}  // namespace

QueueServer::QueueServer(MixerService* mixer, frontends::envoy::EnvoyFrontends* envoy,
                         HealthState* health, const Reflection* reflection, ServerMetrics* metrics,
                         int threads)
    : thread_count_(threads > 0
                        ? threads
                        : std::max(1, static_cast<int>(std::thread::hardware_concurrency()))) {
  services_.mixer = mixer;
  services_.envoy = envoy;
  services_.health = health;
  services_.reflection = reflection;
  services_.metrics = metrics;
}

QueueServer::~QueueServer() { stop(std::chrono::milliseconds(0)); }

void QueueServer::registerOn(grpc::ServerBuilder* builder) {
  builder->RegisterService(&services_.mixer_async);
  builder->RegisterService(&services_.authz_async);
  builder->RegisterService(&services_.rate_limit_async);
  builder->RegisterService(&services_.access_log_async);
  builder->RegisterAsyncGenericService(&services_.generic);
  for (int i = 0; i < thread_count_; ++i) queues_.push_back(builder->AddCompletionQueue());
}

void QueueServer::start() {
  for (size_t i = 0; i < queues_.size(); ++i) {
    grpc::ServerCompletionQueue* cq = queues_[i].get();
    for (int r = 0; r < kRequestsPerQueue; ++r) {
      for (Method m : {kCheck, kReport, kAuthz, kRateLimit}) ask(m, cq);
    }
    for (int r = 0; r < kStreamRequestsPerQueue; ++r) {
      ask(kAccessLog, cq);
      ask(kGeneric, cq);
    }
    threads_.emplace_back([cq, i] {
      pthread_setname_np(pthread_self(), base::strCat("mixs-grpc-", i).c_str());
      adapter_host::FlushScope flush_scope;
      runPasses(cq, &flush_scope);
    });
  }
}

void QueueServer::ask(Method m, grpc::ServerCompletionQueue* cq) {
  if (stopping()) return;
  calls_.fetch_add(1, std::memory_order_relaxed);
  switch (m) {
    case kAccessLog:
      new AccessLogCall(this, cq);
      break;
    case kGeneric:
      new GenericCall(this, cq);
      break;
    default:
      new UnaryCall(this, m, cq);
      break;
  }
}

void QueueServer::callDone() {
  if (calls_.fetch_sub(1, std::memory_order_acq_rel) == 1 && stopping()) {
    std::lock_guard<std::mutex> lock(mu_);
    cv_.notify_all();
  }
}

void QueueServer::stop(std::chrono::milliseconds wait) {
  if (stopped_) return;
  stopped_ = true;
  stopping_.store(true, std::memory_order_release);
  if (!threads_.empty()) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, wait, [this] { return calls_.load() == 0; })) {
      MIXER_LOG(Warn) << calls_.load() << " gRPC calls were still open when the server stopped";
    }
  }
  for (auto& q : queues_) q->Shutdown();
  for (auto& t : threads_) t.join();
  // What the queues still hold is dropped with them (a queue must be drained before it goes).
  for (auto& q : queues_) {
    void* tag;
    bool ok;
    while (q->Next(&tag, &ok)) {
    }
  }
  threads_.clear();
}

}  // namespace mixer::server
