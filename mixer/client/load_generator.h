// LoadGenerator: sends one pre-encoded request many times, for benchmarks.
//
// Closed loop (default): `concurrency` calls in flight, each completion starts the next.
// Open loop (rate > 0): calls start at a constant arrival rate whatever the server does, and each
// call's latency is measured from its scheduled start, so queueing delay counts (no coordinated
// omission). The run ends after `requests` calls or `duration`, whichever comes first.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

namespace mixer::proxy {
class MixerTransport;
}

namespace mixer::client {

struct LoadRunOptions {
  std::string method;  // full gRPC method, e.g. /istio.mixer.v1.Mixer/Check
  int64_t requests = 1;
  int concurrency = 1;
  double rate = 0;                           // calls per second; 0 = closed loop
  std::chrono::duration<double> duration{};  // 0 = until `requests` are done
  std::chrono::milliseconds timeout{10000};  // per-call deadline
};

struct LoadRunResult {
  int64_t sent = 0;
  int64_t ok = 0;
  std::map<std::string, int64_t> errors;  // by gRPC code name
  double elapsed_seconds = 0;
  std::vector<int64_t> latencies_ns;  // of every completed call, sorted

  double percentileMicros(double p) const;
  std::string text(const LoadRunOptions& o) const;
  std::string json(const LoadRunOptions& o) const;
};

LoadRunResult runLoad(const std::shared_ptr<grpc::Channel>& channel, const std::string& request,
                      const LoadRunOptions& options);

// The same through a proxy library transport (mixc --transport lean: LeanTransport), whose own
// deadline applies (options.timeout is the transport's, set when it was made). options.method must
// be Mixer's Check or Report.
LoadRunResult runLoad(proxy::MixerTransport& transport, const std::string& request,
                      const LoadRunOptions& options);

// Makes a running (or the next) runLoad stop starting calls; calls in flight complete and are
// counted. Async-signal-safe: mixc calls it from its SIGINT/SIGTERM handler.
void stopLoad();

std::string statusCodeName(grpc::StatusCode code);

}  // namespace mixer::client
