// The proxy client library's cost of a Check that misses its cache: what the nginx module's worker
// and the library's threads spend per miss, apart from the server's share.
//
//   BM_CheckMissInProcess      MixerClient::check() with a new request path each time, answered at
//                              once by an in-process transport: building the request, the answer
//                              into the cache, no gRPC.
//   BM_CheckMissOverGrpc/N/S   the same through GrpcTransport to a real server process over
//                              loopback, N Checks in flight: S = 0 check_floor_server (an empty
//                              answer, nothing decoded), S = 1 mixs on the proxy-filter tests'
//                              policy (every path a new cache entry, as in nginx_mixer_load.sh),
//                              S = 3 the same mixs' lean port (--lean-address).
//   BM_CheckMissLean/N/S       the same through LeanTransport (libnghttp2, one thread).
//   BM_TlsConnectAndCheck/R    a new TLS connection to mixs (certificates from openssl,
//                              tests/testing/make_test_certs.sh) and one Check on it, per
//                              iteration: R = 0 a full handshake each time, R = 1 the channel
//                              resumes its session (security::tls::enableSessionResumption, what
//                              GrpcTransport does).
//
// CPU is this process' (every thread: the caller, gRPC's and the library's), per Check; the
// servers run in their own processes, started from the benchmark's own directory and stopped by
// PID. Counters: heap allocations and voluntary context switches of this process per Check, and
// the server process' CPU per Check (server_us/op, from /proc).
#include <benchmark/benchmark.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "proxy-filter/core/http_attributes.h"
#include "proxy-filter/core/lean_transport.h"
#include "proxy-filter/core/mixer_client.h"
#include "proxy-filter/core/mixer_transport.h"
#include "security/tls/credentials.h"
#include "tests/bench/alloc_counter.h"
#include "tests/bench/inbound_request.h"

namespace {

using istio::mixer::v1::CheckRequest;
using istio::mixer::v1::CheckResponse;
using istio::mixer::v1::ReportRequest;
using mixer::bench::allocations;
using mixer::bench::inboundRequest;
using namespace mixer::proxy;

const bool kSmoke = std::getenv("MIXER_BENCH_SMOKE") != nullptr;

// A new path per call, so that the answer cached for one never serves the next.
void setUniquePath(Attributes* a, uint64_t n) {
  const std::string path = "/miss/" + std::to_string(n);
  a->setString("request.path", path);
  a->setString("request.url_path", path);
}

// Answers each Check at once with what mixs answers for the tests' policy (the path is one of
// the referenced attributes).
class AnsweringTransport : public MixerTransport {
 public:
  void check(const CheckRequest& request, CheckDone done) override {
    benchmark::DoNotOptimize(request.ByteSizeLong());
    answer(std::move(done));
  }
  void checkSerialized(std::string request, CheckDone done) override {
    benchmark::DoNotOptimize(request.size());
    answer(std::move(done));
  }
  void answer(CheckDone done) {
    CheckResponse response;
    auto* p = response.mutable_precondition();
    p->set_valid_use_count(1 << 30);
    p->mutable_valid_duration()->set_seconds(3600);
    auto* ra = p->mutable_referenced_attributes();
    for (const char* name : {"request.url_path", "destination.service", "request.method"}) {
      ra->add_words(name);
      auto* m = ra->add_attribute_matches();
      m->set_name(-ra->words_size());
      m->set_condition(istio::mixer::v1::ReferencedAttributes::EXACT);
    }
    done(grpc::Status::OK, response);
  }
  void report(const ReportRequest&, ReportDone done) override { done(grpc::Status::OK); }
};

void BM_CheckMissInProcess(benchmark::State& state) {
  MixerClientOptions options;
  options.check_cache_entries = 10000;
  MixerClient client(options, std::make_unique<AnsweringTransport>());
  Attributes request = inboundRequest();
  uint64_t n = 0;
  int denied = 0;
  const uint64_t before = allocations();
  for (auto _ : state) {
    setUniquePath(&request, ++n);
    client.check(request, {}, [&denied](const CheckResult& r) { denied += r.ok() ? 0 : 1; });
  }
  state.counters["allocs/op"] = benchmark::Counter(static_cast<double>(allocations() - before),
                                                   benchmark::Counter::kAvgIterations);
  if (denied > 0 || client.stats().check_remote_calls < n) {
    state.SkipWithError("a Check was not answered by the transport");
  }
}
BENCHMARK(BM_CheckMissInProcess)->Repetitions(kSmoke ? 1 : 3)->ReportAggregatesOnly(true);

// Certificates for the TLS benchmark, made once by openssl into a temporary directory.
const std::string& certsDir() {
  static const std::string* dir = [] {
    auto* d = new std::string(std::filesystem::temp_directory_path() /
                              ("client-bench-certs-" + std::to_string(getpid())));
    const std::string command = "/bin/sh " + std::string(SOURCE_DIR) +
                                "/tests/testing/make_test_certs.sh " + *d + " >/dev/null";
    if (std::system(command.c_str()) != 0) {
      std::fprintf(stderr, "client_miss_bench: %s failed\n", command.c_str());
      std::abort();
    }
    std::atexit([] { std::filesystem::remove_all(certsDir()); });
    return d;
  }();
  return *dir;
}

// A server process started for the benchmarks of one kind (0 the floor, 1 mixs, 2 mixs over TLS,
// 3 mixs' lean port), stopped by PID at exit.
class ServerProcess {
 public:
  static const std::string& address(int kind) {
    if (servers_[kind] == nullptr) {
      servers_[kind] = new ServerProcess(kind);
      std::atexit([] {
        for (ServerProcess* s : servers_) {
          if (s != nullptr) {
            s->stop();
          }
        }
      });
    }
    return servers_[kind]->address_;
  }
  // The server's CPU so far (utime + stime, from /proc), in seconds; 0 before it started.
  static double cpuSeconds(int kind) {
    static const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
    FILE* f = std::fopen(("/proc/" + std::to_string(pid(kind)) + "/stat").c_str(), "r");
    if (f == nullptr) {
      return 0;
    }
    char buf[2048];
    const size_t n = std::fread(buf, 1, sizeof(buf) - 1, f);
    std::fclose(f);
    buf[n] = '\0';
    // Fields 14 and 15 (utime, stime), counted after the ")" that ends the command name.
    const char* p = std::strrchr(buf, ')');
    unsigned long long utime = 0, stime = 0;
    if (p == nullptr || std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
                                    &utime, &stime) != 2) {
      return 0;
    }
    return static_cast<double>(utime + stime) / tick;
  }

 private:
  explicit ServerProcess(int kind) {
    const std::filesystem::path bin = std::filesystem::read_symlink("/proc/self/exe").parent_path();
    int out[2];
    if (pipe(out) != 0) {
      std::abort();
    }
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGTERM);  // never outlives the benchmark, however it ends
      dup2(out[1], 1);
      dup2(out[1], 2);
      close_range(3, ~0U, 0);  // nothing of the benchmark's (a lock it holds, the pipe's ends)
      if (kind == 0) {
        const std::string server = (bin / "check_floor_server").string();
        execl(server.c_str(), server.c_str(), "127.0.0.1:0", nullptr);
      } else if (kind == 2) {
        const std::string server = (bin / "mixs").string();
        const std::string cert = certsDir() + "/server.pem", key = certsDir() + "/server.key";
        execl(server.c_str(), server.c_str(), "server", "--address", "127.0.0.1:0",
              "--monitoring-port", "-1", "--log-level", "warn", "--tls-cert", cert.c_str(),
              "--tls-key", key.c_str(), nullptr);
      } else {
        const std::string server = (bin / "mixs").string();
        const std::string config = std::string(SOURCE_DIR) + "/tests/proxy-filter/testdata";
        const char* lean = kind == 3 ? "--lean-address" : nullptr;  // ends the list otherwise
        execl(server.c_str(), server.c_str(), "server", "--address", "127.0.0.1:0",
              "--monitoring-port", "-1", "--log-level", "info", "--config-dir", config.c_str(),
              lean, "127.0.0.1:0", nullptr);
      }
      _exit(127);
    }
    close(out[1]);
    // The floor prints "listening on 127.0.0.1:PORT"; mixs "(Istio 1.4 API) on 127.0.0.1:PORT",
    // and "lean port ... on 127.0.0.1:PORT".
    FILE* f = fdopen(out[0], "r");
    char line[1024];
    while (address_.empty() && std::fgets(line, sizeof(line), f) != nullptr) {
      const std::string s(line);
      const size_t at = s.find(kind == 0 ? "listening on " : kind == 3 ? "lean port" : "API) on ");
      if (at != std::string::npos) {
        const size_t start = s.find("127.0.0.1:", at);
        const size_t end = s.find_first_not_of("0123456789", start + 10);
        address_ = s.substr(start, end - start);
      }
    }
    if (address_.empty()) {
      std::fprintf(stderr, "client_miss_bench: the server did not start\n");
      std::abort();
    }
    // Keep draining its output so that it never blocks on a full pipe.
    std::thread([f] {
      char buf[4096];
      while (std::fread(buf, 1, sizeof(buf), f) > 0) {
      }
    }).detach();
  }

  void stop() {
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
  }

  static pid_t pid(int kind);

  pid_t pid_ = -1;
  std::string address_;
  static ServerProcess* servers_[4];
};

ServerProcess* ServerProcess::servers_[4] = {nullptr, nullptr, nullptr, nullptr};
pid_t ServerProcess::pid(int kind) { return servers_[kind] == nullptr ? -1 : servers_[kind]->pid_; }

long voluntarySwitches() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_nvcsw;
}

void checkMiss(benchmark::State& state, bool lean) {
  const int in_flight = static_cast<int>(state.range(0));
  const int kind = static_cast<int>(state.range(1));
  LeanTransportOptions transport;
  transport.address = ServerProcess::address(kind);
  MixerClientOptions options;
  options.fail_open = false;        // a failed call must show, not pass as an allowed request
  options.check_cache = kind != 0;  // the floor's empty answer would make every later call a hit
  std::unique_ptr<MixerTransport> made;
  if (lean) {
    made = *LeanTransport::create(transport);
  } else {
    made = std::make_unique<GrpcTransport>(transport);
  }
  auto client = std::make_unique<MixerClient>(options, std::move(made));

  std::mutex mu;
  std::condition_variable cv;
  int pending = 0;
  std::atomic<int> failed{0};
  Attributes request = inboundRequest();
  uint64_t n = 0;
  auto issue = [&] {
    setUniquePath(&request, ++n);
    client->check(request, {}, [&](const CheckResult& r) {
      if (!r.ok()) {
        failed.fetch_add(1);
      }
      std::lock_guard<std::mutex> lock(mu);
      --pending;
      cv.notify_one();
    });
  };
  // Warm-up: the channel connected, the server's first calls done.
  for (int i = 0; i < 200; ++i) {
    {
      std::lock_guard<std::mutex> lock(mu);
      ++pending;
    }
    issue();
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return pending == 0; });
  }
  const uint64_t allocs_before = allocations();
  const long switches_before = voluntarySwitches();
  const double server_before = ServerProcess::cpuSeconds(kind);
  for (auto _ : state) {
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return pending < in_flight; });
      ++pending;
    }
    issue();
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return pending == 0; });
  }
  state.counters["allocs/op"] = benchmark::Counter(
      static_cast<double>(allocations() - allocs_before), benchmark::Counter::kAvgIterations);
  // The server's share, for scale (the CPU column is this process' alone).
  state.counters["server_us/op"] = benchmark::Counter(
      (ServerProcess::cpuSeconds(kind) - server_before) * 1e6, benchmark::Counter::kAvgIterations);
  state.counters["switches/op"] =
      benchmark::Counter(static_cast<double>(voluntarySwitches() - switches_before),
                         benchmark::Counter::kAvgIterations);
  if (failed.load() > 0 || client->stats().check_remote_calls < n) {
    state.SkipWithError("a Check failed or did not reach the server");
  }
  client.reset();
}

void BM_CheckMissOverGrpc(benchmark::State& state) { checkMiss(state, false); }
BENCHMARK(BM_CheckMissOverGrpc)
    ->ArgsProduct({{1, 16}, {0, 1, 3}})
    ->MeasureProcessCPUTime()
    ->UseRealTime()
    ->Repetitions(kSmoke ? 1 : 3)
    ->ReportAggregatesOnly(true);

void BM_CheckMissLean(benchmark::State& state) { checkMiss(state, true); }
BENCHMARK(BM_CheckMissLean)
    ->ArgsProduct({{1, 16}, {0, 1, 3}})
    ->MeasureProcessCPUTime()
    ->UseRealTime()
    ->Repetitions(kSmoke ? 1 : 3)
    ->ReportAggregatesOnly(true);

void BM_TlsConnectAndCheck(benchmark::State& state) {
  const bool resume = state.range(0) == 1;
  security::tls::TlsFiles files;
  files.ca = certsDir() + "/ca.pem";  // made before the server forks, which reads them too
  const std::string& address = ServerProcess::address(2);
  auto credentials = security::tls::channelCredentials(files);
  if (!credentials.ok()) {
    state.SkipWithError(std::string(credentials.status().message()).c_str());
    return;
  }
  int connection = 0;
  int failed = 0;
  auto connectAndCheck = [&] {
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride("localhost");
    // A channel of its own, never a subchannel another one left behind: a new connection.
    args.SetInt("mixer.bench.connection", ++connection);
    if (resume) {
      security::tls::enableSessionResumption(&args);
    }
    auto stub =
        istio::mixer::v1::Mixer::NewStub(grpc::CreateCustomChannel(address, *credentials, args));
    grpc::ClientContext ctx;
    ctx.set_wait_for_ready(true);
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    CheckResponse response;
    if (!stub->Check(&ctx, CheckRequest(), &response).ok()) {
      ++failed;
    }
  };
  connectAndCheck();  // the server started; with R = 1, a session to resume
  const double server_before = ServerProcess::cpuSeconds(2);
  for (auto _ : state) {
    connectAndCheck();
  }
  state.counters["server_us/op"] = benchmark::Counter(
      (ServerProcess::cpuSeconds(2) - server_before) * 1e6, benchmark::Counter::kAvgIterations);
  if (failed > 0) {
    state.SkipWithError("a Check over a new TLS connection failed");
  }
}
BENCHMARK(BM_TlsConnectAndCheck)
    ->Arg(0)
    ->Arg(1)
    ->MeasureProcessCPUTime()
    ->UseRealTime()
    ->Repetitions(kSmoke ? 1 : 3)
    ->ReportAggregatesOnly(true);

}  // namespace

BENCHMARK_MAIN();
