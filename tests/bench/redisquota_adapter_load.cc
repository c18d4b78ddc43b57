// The redisquota adapter alone under load: redisquota.so loaded by the host library, against a
// redis-server on PORT, with IN_FLIGHT calls kept in flight (callback form, as the runtime's
// asynchronous path would) and a fresh dedup id per call (the script's full path).
// Usage: redisquota_adapter_load PORT [CALLS] [IN_FLIGHT] [POOL]; prints calls/s, and this
// process' CPU time and context switches per call (getrusage: the adapter's threads, the host's
// executor and the driver, whose next call starts from each completion) and heap allocations per
// call (the driver's own included: its dedup id and the host's call state). The adapter comes from
// $MIXER_ADAPTER_DIR when set (to compare builds), else from the build's folder.
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

#include "mixer/adapter_host/adapter_registry.h"
#include "mixer/adapter_host/host_services.h"
#include "mixer/adapter_host/yaml_params.h"
#include "tests/bench/alloc_counter.h"

using namespace mixer::adapter_host;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s PORT [CALLS] [IN_FLIGHT] [POOL]\n", argv[0]);
    return 2;
  }
  const std::string port = argv[1];
  const int64_t calls = argc > 2 ? std::stoll(argv[2]) : 50000;
  const int in_flight = argc > 3 ? std::stoi(argv[3]) : 16;
  const std::string pool = argc > 4 ? argv[4] : "4";
  InMemoryCounterRegistry counters;
  BackgroundExecutor executor(1);
  HostServices services(&counters, &executor, nullptr);
  AdapterRegistry registry(&services);
  const char* dir = std::getenv("MIXER_ADAPTER_DIR");
  if (!registry.loadFile(std::string(dir != nullptr ? dir : ADAPTER_DIR) + "/redisquota.so").ok()) {
    std::fprintf(stderr, "cannot load redisquota.so\n");
    return 1;
  }
  std::vector<ParamError> errors;
  AbiValue params = valueFromYaml(
      YAML::Load("redisServerUrl: 127.0.0.1:" + port + "\nconnectionPoolSize: " + pool +
                 "\nquotas: [{name: requestcount, maxAmount: 1000000000000, "
                 "validDuration: 1h}]"),
      "params", &errors);
  auto handler = registry.find("redisquota")->createHandler("bench", params);
  if (!handler.ok()) {
    std::fprintf(stderr, "%s\n", std::string(handler.status().message()).c_str());
    return 1;
  }
  Instance instance{
      "requestcount.quota.istio-system", "quota",
      AbiValue::map(
          {{"dimensions", AbiValue::map({{"destination", AbiValue::string("bench.svc")}})}})};
  std::mutex mu;
  std::condition_variable cv;
  int64_t started = 0;
  int64_t finished = 0;
  int64_t granted = 0;
  int64_t failed = 0;
  const std::string run_id = "bench-" + std::to_string(getpid()) + "-";
  std::function<void()> issue;
  issue = [&] {
    int64_t n;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (started == calls) {
        return;
      }
      n = started++;
    }
    (*handler)->quota(instance, AdapterQuotaArgs{1, false, run_id + std::to_string(n)},
                      absl::Seconds(5), [&](absl::StatusOr<AdapterQuotaResult> r) {
                        {
                          std::lock_guard<std::mutex> lock(mu);
                          ++finished;
                          if (r.ok() && r->status.ok()) {
                            granted += r->granted_amount;
                          } else {
                            ++failed;
                          }
                        }
                        cv.notify_all();
                        issue();
                      });
  };
  rusage r0{};
  getrusage(RUSAGE_SELF, &r0);
  const uint64_t a0 = mixer::bench::allocations();
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < in_flight; ++i) {
    issue();
  }
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return finished == calls; });
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const uint64_t a1 = mixer::bench::allocations();
  rusage r1{};
  getrusage(RUSAGE_SELF, &r1);
  auto us = [](const timeval& t) { return t.tv_sec * 1e6 + t.tv_usec; };
  const double cpu_us = us(r1.ru_utime) - us(r0.ru_utime) + us(r1.ru_stime) - us(r0.ru_stime);
  const double switches =
      static_cast<double>(r1.ru_nvcsw - r0.ru_nvcsw + r1.ru_nivcsw - r0.ru_nivcsw);
  std::printf(
      "{\"calls\":%lld,\"granted\":%lld,\"failed\":%lld,\"rate\":%.0f,"
      "\"cpu_us_per_call\":%.2f,\"switches_per_call\":%.3f,\"allocations_per_call\":%.2f}\n",
      static_cast<long long>(calls), static_cast<long long>(granted),
      static_cast<long long>(failed), calls / seconds, cpu_us / calls, switches / calls,
      static_cast<double>(a1 - a0) / calls);
  (*handler)->close();
  executor.shutdown();
  return failed == 0 ? 0 : 1;
}
