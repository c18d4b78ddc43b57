// An in-test istio.mixer.v1.Mixer server on a loopback ephemeral port, whose answers each test
// scripts, and which records every request it receives. Used by the tests of the units that talk
// gRPC (grpc_transport, mixer_client, mixer_proxy).
#ifndef TESTS_PROXY_FILTER_CORE_SCRIPTED_MIXER_H_
#define TESTS_PROXY_FILTER_CORE_SCRIPTED_MIXER_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "mixer/v1/mixer.grpc.pb.h"

namespace mixer::proxy::testing {

class ScriptedMixer final : public istio::mixer::v1::Mixer::Service {
 public:
  using CheckRequest = istio::mixer::v1::CheckRequest;
  using CheckResponse = istio::mixer::v1::CheckResponse;
  using ReportRequest = istio::mixer::v1::ReportRequest;
  using ReportResponse = istio::mixer::v1::ReportResponse;
  using CheckFn = std::function<grpc::Status(const CheckRequest&, CheckResponse*)>;
  using ReportFn = std::function<grpc::Status(const ReportRequest&)>;

  grpc::Status Check(grpc::ServerContext* context, const CheckRequest* request,
                     CheckResponse* response) override {
    CheckFn fn;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      checks_.push_back(*request);
      deadlines_.push_back(context->deadline());
      fn = check_;
    }
    return fn(*request, response);
  }
  grpc::Status Report(grpc::ServerContext*, const ReportRequest* request,
                      ReportResponse*) override {
    ReportFn fn;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      reports_.push_back(*request);
      fn = report_;
    }
    return fn(*request);
  }
  void onCheck(CheckFn fn) {
    std::lock_guard<std::mutex> lock(mutex_);
    check_ = std::move(fn);
  }
  void onReport(ReportFn fn) {
    std::lock_guard<std::mutex> lock(mutex_);
    report_ = std::move(fn);
  }
  std::vector<CheckRequest> checks() {
    std::lock_guard<std::mutex> lock(mutex_);
    return checks_;
  }
  // The deadline each Check arrived with (the client's grpc-timeout).
  std::vector<std::chrono::system_clock::time_point> checkDeadlines() {
    std::lock_guard<std::mutex> lock(mutex_);
    return deadlines_;
  }
  std::vector<ReportRequest> reports() {
    std::lock_guard<std::mutex> lock(mutex_);
    return reports_;
  }

 private:
  std::mutex mutex_;
  // By default: OK, cacheable for a minute or 10000 uses, no referenced attributes.
  CheckFn check_ = [](const CheckRequest&, CheckResponse* r) {
    r->mutable_precondition()->set_valid_use_count(10000);
    r->mutable_precondition()->mutable_valid_duration()->set_seconds(60);
    return grpc::Status::OK;
  };
  ReportFn report_ = [](const ReportRequest&) { return grpc::Status::OK; };
  std::vector<CheckRequest> checks_;
  std::vector<std::chrono::system_clock::time_point> deadlines_;
  std::vector<ReportRequest> reports_;
};

// A ScriptedMixer served on 127.0.0.1:<ephemeral port> (or on `ip`:`port`).
class ScriptedMixerServer {
 public:
  explicit ScriptedMixerServer(const std::string& ip = "127.0.0.1", int port = 0) : ip_(ip) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort(ip + ":" + std::to_string(port), grpc::InsecureServerCredentials(),
                             &port_);
    builder.RegisterService(&mixer_);
    server_ = builder.BuildAndStart();
  }
  ~ScriptedMixerServer() { shutdown(); }

  bool started() const { return server_ != nullptr && port_ > 0; }
  int port() const { return port_; }
  std::string address() const { return ip_ + ":" + std::to_string(port_); }
  ScriptedMixer& mixer() { return mixer_; }
  // Stops serving (the port then refuses connections). Idempotent.
  void shutdown() {
    if (server_ != nullptr) {
      server_->Shutdown();
      server_->Wait();
      server_.reset();
    }
  }

 private:
  std::string ip_;
  ScriptedMixer mixer_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace mixer::proxy::testing

#endif  // TESTS_PROXY_FILTER_CORE_SCRIPTED_MIXER_H_
