// The discovery server's Prometheus metrics: connected clients, pushes and their latency, NACKs,
// config reloads. Thread-safe (prometheus-cpp metrics are).
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <memory>

#include "pilot/xds/snapshot.h"

namespace pilot::xds {

class XdsMetrics {
 public:
  explicit XdsMetrics(std::shared_ptr<prometheus::Registry> registry);

  const std::shared_ptr<prometheus::Registry>& registry() const { return registry_; }

  prometheus::Counter& pushes(ResourceType t) { return *pushes_[static_cast<size_t>(t)]; }
  prometheus::Counter& nacks(ResourceType t) { return *nacks_[static_cast<size_t>(t)]; }

 private:
  std::shared_ptr<prometheus::Registry> registry_;

 public:
  prometheus::Gauge& connected_clients;
  // Seconds from the snapshot's creation to the response being written to the client's stream.
  prometheus::Histogram& push_latency;
  prometheus::Counter& config_reloads_ok;
  prometheus::Counter& config_reloads_failed;
  prometheus::Gauge& snapshot_version;
  prometheus::Counter& response_bytes;

 private:
  std::array<prometheus::Counter*, kResourceTypeCount> pushes_{};
  std::array<prometheus::Counter*, kResourceTypeCount> nacks_{};
};

}  // namespace pilot::xds
