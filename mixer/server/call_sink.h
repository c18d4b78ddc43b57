// Where the outcome of a unary call goes, for every service that answers through the Dispatcher
// (the Mixer API and the front-ends). finish() is called exactly once: on the thread that started
// the call, or, when a quota went to an adapter that answers later, on that adapter's (or the
// host's deadline) thread, after detach() was called on the starting thread.
#pragma once

#include <grpcpp/support/status.h>

#include <condition_variable>
#include <mutex>
#include <string>
#include <string_view>

#include "mixer/adapter_host/handler.h"

namespace mixer::server {

class CallSink {
 public:
  virtual ~CallSink() = default;
  // OWNERSHIP: `response` is borrowed for the call.
  virtual void finish(const grpc::Status& status, std::string_view response) = 0;
  // The outcome will not be known before the call returns: returns the sink that will receive
  // it (this one, or a copy that lives until its finish()).
  virtual CallSink* detach() = 0;
};

// A sink the caller waits on: the outcome is copied out (tests and the in-process entry points).
class WaitingCallSink final : public CallSink {
 public:
  explicit WaitingCallSink(std::string* response) : response_(response) {}
  void finish(const grpc::Status& status, std::string_view response) override {
    std::lock_guard<std::mutex> lock(mu_);
    status_ = status;
    response_->assign(response);
    done_ = true;
    cv_.notify_all();
  }
  CallSink* detach() override { return this; }
  grpc::Status wait() {
    adapter_host::FlushScope::flushCurrent();  // an adapter may hold a call for this thread
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return done_; });
    return status_;
  }

 private:
  // std:: primitives rather than absl's: ThreadSanitizer sees through them.
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::string* response_;
  grpc::Status status_;
};

}  // namespace mixer::server
