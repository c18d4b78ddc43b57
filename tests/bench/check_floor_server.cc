// The floor for the Check load benchmark: a minimal gRPC server built from the same protos that
// answers every Check with an empty OK CheckResponse (and every Report with an empty response),
// doing no decoding and no policy work. What mixs costs above this is the cost of our code.
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <cstdio>

#include "mixer/v1/mixer.grpc.pb.h"

namespace {

class FloorService final : public istio::mixer::v1::Mixer::CallbackService {
  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* ctx,
                                  const istio::mixer::v1::CheckRequest*,
                                  istio::mixer::v1::CheckResponse*) override {
    auto* r = ctx->DefaultReactor();
    r->Finish(grpc::Status::OK);
    return r;
  }
  grpc::ServerUnaryReactor* Report(grpc::CallbackServerContext* ctx,
                                   const istio::mixer::v1::ReportRequest*,
                                   istio::mixer::v1::ReportResponse*) override {
    auto* r = ctx->DefaultReactor();
    r->Finish(grpc::Status::OK);
    return r;
  }
};

}  // namespace

int main(int argc, char** argv) {
  const std::string address = argc > 1 ? argv[1] : "127.0.0.1:0";
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  FloorService service;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(address, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  auto server = builder.BuildAndStart();
  if (!server) {
    std::fprintf(stderr, "check_floor_server: cannot listen on %s\n", address.c_str());
    return 1;
  }
  std::printf("check_floor_server listening on 127.0.0.1:%d\n", port);
  std::fflush(stdout);
  int sig;
  sigwait(&signals, &sig);
  server->Shutdown();
  return 0;
}
