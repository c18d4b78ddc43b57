#include "mixer/adapter_host/prometheus_counter_registry.h"

namespace mixer::adapter_host {

class PrometheusCounterRegistry::Child : public Counter {
 public:
  explicit Child(prometheus::Counter* counter) : counter_(counter) {}
  void add(double delta) override { counter_->Increment(delta); }

 private:
  prometheus::Counter* counter_;  // OWNERSHIP: the family
};

PrometheusCounterRegistry::PrometheusCounterRegistry(std::shared_ptr<prometheus::Registry> registry)
    : registry_(std::move(registry)) {}

PrometheusCounterRegistry::~PrometheusCounterRegistry() = default;

Counter* PrometheusCounterRegistry::counter(const std::string& name, const std::string& help,
                                            const Labels& labels) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& child = children_[{name, labels}];
  if (child == nullptr) {
    auto& family = families_[name];
    if (family == nullptr) {
      family = &prometheus::BuildCounter().Name(name).Help(help).Register(*registry_);
    }
    std::map<std::string, std::string> label_map(labels.begin(), labels.end());
    child = std::make_unique<Child>(&family->Add(label_map));
  }
  return child.get();
}

}  // namespace mixer::adapter_host
