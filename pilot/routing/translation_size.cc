#include "pilot/routing/translation_size.h"

#include <map>

namespace pilot::routing {

void validateTranslationSize(const RoutingConfig& config,
                             const std::vector<model::Service>& services,
                             std::vector<ConfigError>* errors) {
  std::map<std::string, size_t> ports;
  for (const model::Service& s : config.service_entries) ports[s.hostname] = s.ports.size();
  for (const model::Service& s : services) ports[s.hostname] = s.ports.size();
  size_t routes = 0;
  for (const VirtualService& vs : config.virtual_services) {
    size_t host_ports = 0;
    for (const std::string& h : vs.hosts) {
      if (auto it = ports.find(h); it != ports.end()) host_ports += it->second;
    }
    routes += routeEntries(vs) * host_ports;
    if (routes > kMaxTranslatedRouteEntries) {
      errors->push_back({{vs.origin.file, vs.origin.line},
                         "VirtualService " + vs.name +
                             " brings the route entries across all "
                             "service ports to more than " +
                             std::to_string(kMaxTranslatedRouteEntries)});
      return;
    }
  }
  size_t clusters = 0;
  for (const DestinationRule& dr : config.destination_rules) {
    if (auto it = ports.find(dr.host); it != ports.end()) {
      clusters += dr.subsets.size() * it->second;
    }
    if (clusters > kMaxTranslatedSubsetClusters) {
      errors->push_back({{dr.origin.file, dr.origin.line},
                         "DestinationRule " + dr.name +
                             " brings the subset clusters across all "
                             "service ports to more than " +
                             std::to_string(kMaxTranslatedSubsetClusters)});
      return;
    }
  }
}

}  // namespace pilot::routing
