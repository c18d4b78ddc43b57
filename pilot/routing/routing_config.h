// Istio routing configuration (networking.istio.io v1alpha3, v1beta1 and v1) as a whole: the
// VirtualServices, DestinationRules and ServiceEntries of a directory of YAML files, each document
// dispatched by its kind to the resource's parser, then the checks that span resources. Errors
// are file:line. Short hosts ("reviews") are expanded to FQDNs in the resource's namespace
// ("reviews.default.svc.cluster.local"). Plain values; thread-compatible.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "pilot/model/service.h"
#include "pilot/routing/destination_rule.h"
#include "pilot/routing/parse_options.h"
#include "pilot/routing/virtual_service.h"

namespace pilot::routing {

using model::ConfigError;

struct RoutingConfig {
  std::vector<VirtualService> virtual_services;
  std::vector<DestinationRule> destination_rules;
  // ServiceEntries, already in the service model (hostname, ports, endpoints as instances).
  std::vector<model::Service> service_entries;

  const VirtualService* virtualServiceFor(std::string_view fqdn) const;
  const DestinationRule* destinationRuleFor(std::string_view fqdn) const;
};

// Parses one file's YAML documents into `config`, appending errors (file:line). Documents of kinds
// other than the three are reported as errors, as are unknown fields.
void parseRoutingYaml(std::string_view text, const std::string& file_name,
                      const ParseOptions& options, RoutingConfig* config,
                      std::vector<ConfigError>* errors);

// Checks what a single document cannot: one VirtualService and one DestinationRule per host,
// destination subsets that some DestinationRule defines, route weights.
void validateRouting(const RoutingConfig& config, std::vector<ConfigError>* errors);

// Reads every *.yaml/*.yml of `dir` (name order), then validates. True if no errors.
bool loadRoutingDir(const std::string& dir, const ParseOptions& options, RoutingConfig* config,
                    std::vector<ConfigError>* errors);

}  // namespace pilot::routing
