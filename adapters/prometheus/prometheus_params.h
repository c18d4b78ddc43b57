// prometheus_params: the `prometheus` adapter's params (see prometheus.cc for the list) read into
// a Config, every problem reported with its param path. No prometheus-cpp here: the exposition
// (prometheus.cc) builds its metric families from the Config.
#ifndef MIXER_ADAPTERS_PROMETHEUS_PROMETHEUS_PARAMS_H_
#define MIXER_ADAPTERS_PROMETHEUS_PROMETHEUS_PARAMS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "mixer/adapter_sdk/params.h"
#include "mixer/adapter_sdk/value_view.h"

namespace prometheus_adapter {

enum class Kind { kGauge = 1, kCounter = 2, kDistribution = 3 };

constexpr char kDefaultAddress[] = ":42422";
constexpr char kDefaultNamespace[] = "istio";
constexpr size_t kMaxLabels = 64;
// Series per metric family, by default: label values come from clients, and each new combination
// is a new series held in memory and in every scrape. Past the cap a new combination is dropped
// (counted and logged, sampled); existing series keep counting. `max_series_per_metric` changes
// it, 0 removes it.
constexpr int64_t kDefaultMaxSeriesPerMetric = 10000;

struct MetricConfig {
  std::string full_name;  // namespace_name
  std::string instance_name;
  std::string description;
  Kind kind = Kind::kCounter;
  std::vector<double> bounds;  // DISTRIBUTION only
  std::vector<std::string> label_names;

  // Two handlers may share a family only when everything that shapes it is equal.
  std::string signature() const {
    std::string s = std::to_string(static_cast<int>(kind)) + "|" + description + "|";
    for (const std::string& l : label_names) {
      s += l + ",";
    }
    s += "|";
    for (double b : bounds) {
      s += std::to_string(b) + ",";
    }
    return s;
  }
};

struct Config {
  std::vector<MetricConfig> metrics;
  std::string address = kDefaultAddress;
  int64_t expiry_ns = 0;                                       // 0: series never expire
  int64_t expiry_check_ns = 0;                                 // 0: expiry_ns / 2 (Istio's default)
  int64_t max_series_per_metric = kDefaultMaxSeriesPerMetric;  // 0: no cap
};

// Reads and checks the params; what is wrong goes to `errors` (the Config then holds what could
// be read).
Config readParams(mixer::adapter_sdk::ValueView params, mixer::adapter_sdk::ErrorSink& errors);

}  // namespace prometheus_adapter

#endif  // MIXER_ADAPTERS_PROMETHEUS_PROMETHEUS_PARAMS_H_
