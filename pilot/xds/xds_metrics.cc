#include "pilot/xds/xds_metrics.h"

#include <string>

namespace pilot::xds {
namespace {

prometheus::Histogram::BucketBoundaries latencyBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

prometheus::Family<prometheus::Counter>& reloadFamily(prometheus::Registry& registry) {
  return prometheus::BuildCounter()
      .Name("pilot_config_reloads_total")
      .Help("Reloads of the config and registry directories, by result")
      .Register(registry);
}

}  // namespace

XdsMetrics::XdsMetrics(std::shared_ptr<prometheus::Registry> registry)
    : registry_(std::move(registry)),
      connected_clients(prometheus::BuildGauge()
                            .Name("pilot_xds_connected_clients")
                            .Help("ADS streams currently open")
                            .Register(*registry_)
                            .Add({})),
      push_latency(prometheus::BuildHistogram()
                       .Name("pilot_xds_push_latency_seconds")
                       .Help("From a config or registry snapshot to its response being written")
                       .Register(*registry_)
                       .Add({}, latencyBuckets())),
      config_reloads_ok(reloadFamily(*registry_).Add({{"result", "ok"}})),
      config_reloads_failed(reloadFamily(*registry_).Add({{"result", "error"}})),
      snapshot_version(prometheus::BuildGauge()
                           .Name("pilot_snapshot_version")
                           .Help("Version of the resources being served")
                           .Register(*registry_)
                           .Add({})),
      response_bytes(prometheus::BuildCounter()
                         .Name("pilot_xds_response_bytes_total")
                         .Help("Bytes of resources sent in discovery responses")
                         .Register(*registry_)
                         .Add({})) {
  auto& pushes = prometheus::BuildCounter()
                     .Name("pilot_xds_pushes_total")
                     .Help("Discovery responses sent, by type")
                     .Register(*registry_);
  auto& nacks = prometheus::BuildCounter()
                    .Name("pilot_xds_nacks_total")
                    .Help("Responses the client rejected (NACK), by type")
                    .Register(*registry_);
  for (ResourceType t : kAllResourceTypes) {
    const std::string type(typeShortName(t));
    pushes_[static_cast<size_t>(t)] = &pushes.Add({{"type", type}});
    nacks_[static_cast<size_t>(t)] = &nacks.Add({{"type", type}});
  }
}

}  // namespace pilot::xds
