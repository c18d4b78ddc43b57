// The floor for the Check load benchmark: a minimal gRPC server built from the same protos that
// answers every Check with an empty OK CheckResponse (and every Report with an empty response),
// doing no decoding and no policy work. What mixs costs above this is the cost of our code.
//
// Two server styles, to compare what gRPC C++ itself costs per call:
//   check_floor_server [ADDRESS]                 the callback API (what mixs uses)
//   check_floor_server ADDRESS --async THREADS   the asynchronous completion-queue API, one
//                                                completion queue per thread, each thread polling
//                                                its own queue and answering on it
// Either takes --tls CERT KEY [CA] last: TLS with the credentials mixs builds (gRPC's TLS
// credentials over watched files; with a CA, client certificates required and verified), to
// measure what gRPC's TLS costs by itself.
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "mixer/v1/mixer.grpc.pb.h"
#include "security/tls/credentials.h"

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

// The synchronous API: a polling thread reads the call and answers it on the same thread.
class SyncFloor final : public istio::mixer::v1::Mixer::Service {
  grpc::Status Check(grpc::ServerContext*, const istio::mixer::v1::CheckRequest*,
                     istio::mixer::v1::CheckResponse*) override {
    return grpc::Status::OK;
  }
  grpc::Status Report(grpc::ServerContext*, const istio::mixer::v1::ReportRequest*,
                      istio::mixer::v1::ReportResponse*) override {
    return grpc::Status::OK;
  }
};

using AsyncFloor = istio::mixer::v1::Mixer::WithRawMethod_Check<
    istio::mixer::v1::Mixer::WithRawMethod_Report<istio::mixer::v1::Mixer::Service>>;

// One pending call of the async server: requested, then answered, then deleted.
struct AsyncCall {
  AsyncCall(AsyncFloor* service, grpc::ServerCompletionQueue* cq, bool check)
      : service(service), cq(cq), check(check), responder(&ctx) {
    if (check) {
      service->RequestCheck(&ctx, &request, &responder, cq, cq, this);
    } else {
      service->RequestReport(&ctx, &request, &responder, cq, cq, this);
    }
  }
  void proceed(bool ok) {
    if (answered || !ok) {
      delete this;
      return;
    }
    new AsyncCall(service, cq, check);  // the next call of this method on this queue
    answered = true;
    responder.Finish(grpc::ByteBuffer(), grpc::Status::OK, this);
  }

  AsyncFloor* service;
  grpc::ServerCompletionQueue* cq;
  bool check;
  bool answered = false;
  grpc::ServerContext ctx;
  grpc::ByteBuffer request;
  grpc::ServerAsyncResponseWriter<grpc::ByteBuffer> responder;
};

}  // namespace

int main(int argc, char** argv) {
  const std::string address = argc > 1 ? argv[1] : "127.0.0.1:0";
  const int async_threads =
      argc > 3 && std::strcmp(argv[2], "--async") == 0 ? std::atoi(argv[3]) : 0;
  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--tls") != 0) continue;
    if (i + 2 >= argc) {
      std::fprintf(stderr, "check_floor_server: --tls CERT KEY [CA]\n");
      return 2;
    }
    security::tls::TlsFiles files;
    files.cert = argv[i + 1];
    files.key = argv[i + 2];
    if (i + 3 < argc) {
      files.ca = argv[i + 3];
    } else {
      files.client_cert = security::tls::ClientCertMode::kNone;
    }
    auto c = security::tls::serverCredentials(files);
    if (!c.ok()) {
      std::fprintf(stderr, "check_floor_server: %s\n", std::string(c.status().message()).c_str());
      return 1;
    }
    credentials = *c;
    break;
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  const bool sync = argc > 2 && std::strcmp(argv[2], "--sync") == 0;
  FloorService service;
  SyncFloor sync_service;
  AsyncFloor async_service;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(address, credentials, &port);
  std::vector<std::unique_ptr<grpc::ServerCompletionQueue>> queues;
  if (async_threads > 0) {
    builder.RegisterService(&async_service);
    for (int i = 0; i < async_threads; ++i) {
      queues.push_back(builder.AddCompletionQueue());
    }
  } else if (sync) {
    builder.RegisterService(&sync_service);
  } else {
    builder.RegisterService(&service);
  }
  auto server = builder.BuildAndStart();
  if (!server) {
    std::fprintf(stderr, "check_floor_server: cannot listen on %s\n", address.c_str());
    return 1;
  }
  std::vector<std::thread> threads;
  for (auto& q : queues) {
    grpc::ServerCompletionQueue* cq = q.get();
    // A few outstanding requests per method per queue, so that calls arriving together find one.
    for (int i = 0; i < 8; ++i) {
      new AsyncCall(&async_service, cq, true);
      new AsyncCall(&async_service, cq, false);
    }
    threads.emplace_back([cq] {
      void* tag;
      bool ok;
      while (cq->Next(&tag, &ok)) {
        static_cast<AsyncCall*>(tag)->proceed(ok);
      }
    });
  }
  std::printf(
      "check_floor_server listening on 127.0.0.1:%d (%s)\n", port,
      async_threads > 0 ? "async completion queues" : (sync ? "synchronous API" : "callback API"));
  std::fflush(stdout);
  int sig;
  sigwait(&signals, &sig);
  server->Shutdown();
  for (auto& q : queues) {
    q->Shutdown();
  }
  for (auto& t : threads) {
    t.join();
  }
  return 0;
}
