// A host for tests: in-memory counters, a real executor, captured logs, and a registry.
#ifndef TESTS_MIXER_ADAPTER_HOST_TEST_HOST_H_
#define TESTS_MIXER_ADAPTER_HOST_TEST_HOST_H_

#include <mutex>
#include <string>
#include <vector>

#include "mixer/adapter_host/adapter_registry.h"
#include "mixer/adapter_host/host_services.h"

namespace mixer::adapter_host::testing {

class TestHost {
 public:
  TestHost()
      : services_(&counters_, &executor_,
                  [this](int32_t severity, std::string_view adapter, std::string_view message) {
                    std::lock_guard<std::mutex> lock(mu_);
                    logs_.push_back(std::string(adapter) + ": " + std::string(message));
                  }),
        registry_(&services_) {}
  // Stops background work first: pending timers refer to the services.
  ~TestHost() { executor_.shutdown(); }

  AdapterRegistry& registry() { return registry_; }
  InMemoryCounterRegistry& counters() { return counters_; }
  BackgroundExecutor& executor() { return executor_; }
  HostServices& services() { return services_; }
  std::vector<std::string> logs() {
    std::lock_guard<std::mutex> lock(mu_);
    return logs_;
  }
  double callErrors(const std::string& adapter, const std::string& call,
                    const std::string& reason) const {
    return counters_.value("mixer_adapter_call_errors_total",
                           {{"adapter", adapter}, {"call", call}, {"reason", reason}});
  }

 private:
  InMemoryCounterRegistry counters_;
  BackgroundExecutor executor_{2};
  std::mutex mu_;
  std::vector<std::string> logs_;
  HostServices services_;
  AdapterRegistry registry_;
};

inline std::string fixtureDir(const std::string& set) {
  return std::string(FIXTURE_DIR) + "/" + set;
}

}  // namespace mixer::adapter_host::testing

#endif  // TESTS_MIXER_ADAPTER_HOST_TEST_HOST_H_
