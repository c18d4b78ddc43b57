// A CounterRegistry backed by prometheus-cpp, so adapter counters and the host's adapter-call
// counters appear on the server's /metrics.
#ifndef MIXER_ADAPTER_HOST_PROMETHEUS_COUNTER_REGISTRY_H_
#define MIXER_ADAPTER_HOST_PROMETHEUS_COUNTER_REGISTRY_H_

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

#include "mixer/adapter_host/host_services.h"

namespace mixer::adapter_host {

// Thread-safe. One prometheus Family per counter name, one child per label set.
class PrometheusCounterRegistry : public CounterRegistry {
 public:
  // OWNERSHIP: `registry` is shared with the server's exposer.
  explicit PrometheusCounterRegistry(std::shared_ptr<prometheus::Registry> registry);
  ~PrometheusCounterRegistry() override;

  Counter* counter(const std::string& name, const std::string& help, const Labels& labels) override;

 private:
  class Child;
  std::shared_ptr<prometheus::Registry> registry_;
  std::mutex mu_;
  std::map<std::string, prometheus::Family<prometheus::Counter>*> families_;
  std::map<std::pair<std::string, Labels>, std::unique_ptr<Child>> children_;
};

}  // namespace mixer::adapter_host

#endif  // MIXER_ADAPTER_HOST_PROMETHEUS_COUNTER_REGISTRY_H_
