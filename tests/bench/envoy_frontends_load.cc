// Loopback load on a real mixs through its gRPC port: the requests of envoy_frontends_bench
// (tests/bench/envoy_requests.h), sent over real gRPC with N calls in flight, to measure the
// server's CPU per call from outside (envoy_frontends_load.sh reads /proc/<pid>/stat around each
// run). Modes:
//   check   istio.mixer.v1.Mixer/Check carrying the attributes the ext_authz request maps to
//   authz   envoy.service.auth.v3.Authorization/Check (the ext_authz request)
//   rls     envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit, one descriptor
//   report  istio.mixer.v1.Mixer/Report of --entries records
//   als     envoy.service.accesslog.v3.AccessLogService/StreamAccessLogs, messages of --entries
//           HTTP entries, one stream per call in flight
// Prints "MODE calls=N errors=E seconds=S" (for als and report, calls are messages). With
// --print-config, prints the configuration the check, authz and rls modes are meant for; with
// --print-default-config, the embedded default configuration with its access log to /dev/null
// (for report and als).
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "envoy/service/accesslog/v3/als.grpc.pb.h"
#include "tests/bench/envoy_requests.h"
#include "tests/bench/istio_request.h"

namespace mixer::bench {
namespace {

// Unary calls of one method and request, `inflight` at a time, `total` in all (callback API).
class UnaryLoad {
 public:
  UnaryLoad(std::shared_ptr<grpc::Channel> channel, std::string method, std::string request,
            int64_t total)
      : stub_(std::move(channel)),
        method_(std::move(method)),
        request_(std::move(request)),
        total_(total) {}

  void run(int inflight) {
    for (int i = 0; i < inflight; ++i) issue();
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return done_ >= total_; });
  }
  int64_t errors() const { return errors_; }

 private:
  struct Call {
    grpc::ClientContext ctx;
    grpc::ByteBuffer request;
    grpc::ByteBuffer response;
  };

  void issue() {
    if (started_.fetch_add(1) >= total_) return;
    auto* call = new Call;
    grpc::Slice slice(request_.data(), request_.size());
    call->request = grpc::ByteBuffer(&slice, 1);
    call->ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    stub_.UnaryCall(&call->ctx, method_, grpc::StubOptions(), &call->request, &call->response,
                    [this, call](grpc::Status status) {
                      if (!status.ok()) {
                        if (errors_.fetch_add(1) == 0) {
                          std::fprintf(stderr, "%s: %s\n", method_.c_str(),
                                       status.error_message().c_str());
                        }
                      }
                      delete call;
                      finish();
                    });
  }

  void finish() {
    bool last = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      last = ++done_ >= total_;
    }
    if (last) {
      cv_.notify_all();
    } else {
      issue();
    }
  }

  grpc::GenericStub stub_;
  const std::string method_;
  const std::string request_;
  const int64_t total_;
  std::atomic<int64_t> started_{0};
  std::atomic<int64_t> errors_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  int64_t done_ = 0;
};

// `streams` access log streams, each writing its share of `total` messages, then closing.
int64_t accessLogLoad(const std::shared_ptr<grpc::Channel>& channel, const std::string& message,
                      int64_t total, int streams) {
  namespace als = ::envoy::service::accesslog::v3;
  als::StreamAccessLogsMessage msg;
  if (!msg.ParseFromString(message)) std::abort();
  msg.mutable_identifier()->mutable_node()->set_id("sidecar~10.44.2.9~reviews-v1.default~cluster");
  std::atomic<int64_t> errors{0};
  std::vector<std::thread> threads;
  for (int s = 0; s < streams; ++s) {
    const int64_t share = total / streams + (s < total % streams ? 1 : 0);
    threads.emplace_back([&, share] {
      // Each stream its own copy: it changes the message after the first write.
      als::StreamAccessLogsMessage own = msg;
      auto stub = als::AccessLogService::NewStub(channel);
      grpc::ClientContext ctx;
      als::StreamAccessLogsResponse resp;
      auto writer = stub->StreamAccessLogs(&ctx, &resp);
      for (int64_t i = 0; i < share; ++i) {
        if (!writer->Write(own)) break;
        if (i == 0) own.clear_identifier();  // only the first message of a stream carries it
      }
      writer->WritesDone();
      const grpc::Status status = writer->Finish();
      if (!status.ok()) {
        ++errors;
        std::fprintf(stderr, "StreamAccessLogs: %s\n", status.error_message().c_str());
      }
    });
  }
  for (auto& t : threads) t.join();
  return errors;
}

int usage() {
  std::fprintf(stderr,
               "usage: envoy_frontends_load --print-config | --print-default-config | --address "
               "HOST:PORT --mode "
               "check|authz|rls|report|als [--calls N] [--inflight K] [--entries E]\n");
  return 2;
}

}  // namespace
}  // namespace mixer::bench

int main(int argc, char** argv) {
  using namespace mixer::bench;  // NOLINT(google-build-using-namespace)
  std::string address, mode;
  int64_t calls = 20000;
  int inflight = 16;
  int entries = 100;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--print-config") {
      std::fputs(configYaml().c_str(), stdout);
      return 0;
    } else if (a == "--print-default-config") {
      std::fputs(defaultConfig().c_str(), stdout);
      return 0;
    } else if (a == "--address" && has_value) {
      address = argv[++i];
    } else if (a == "--mode" && has_value) {
      mode = argv[++i];
    } else if (a == "--calls" && has_value) {
      calls = std::atoll(argv[++i]);
    } else if (a == "--inflight" && has_value) {
      inflight = std::atoi(argv[++i]);
    } else if (a == "--entries" && has_value) {
      entries = std::atoi(argv[++i]);
    } else {
      return usage();
    }
  }
  if (address.empty() || calls <= 0 || inflight <= 0 || entries <= 0) return usage();
  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(64 << 20);
  auto channel = grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
  if (!channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10))) {
    std::fprintf(stderr, "cannot connect to %s\n", address.c_str());
    return 1;
  }
  std::string method, request;
  if (mode == "check") {
    method = "/istio.mixer.v1.Mixer/Check";
    request = mixerCheckWithSameAttributes(authzRequest());
  } else if (mode == "authz") {
    method = "/envoy.service.auth.v3.Authorization/Check";
    request = authzRequest().SerializeAsString();
  } else if (mode == "rls") {
    method = "/envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit";
    request = rateLimitRequest();
  } else if (mode == "report") {
    method = "/istio.mixer.v1.Mixer/Report";
    request = istioReportRequest(entries);
  } else if (mode != "als") {
    return usage();
  }
  const auto start = std::chrono::steady_clock::now();
  int64_t errors = 0;
  if (mode == "als") {
    errors = accessLogLoad(channel, accessLogMessage(entries), calls, inflight);
  } else {
    UnaryLoad load(channel, method, request, calls);
    load.run(inflight);
    errors = load.errors();
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%s calls=%lld errors=%lld seconds=%.3f\n", mode.c_str(),
              static_cast<long long>(calls), static_cast<long long>(errors), seconds);
  return errors == 0 ? 0 : 1;
}
