// DestinationRule (networking.istio.io v1alpha3, v1beta1 and v1): the subsets of a host (named
// label sets) and the load balancer of the host or of a subset. Plain values; thread-compatible.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pilot/model/yaml_reader.h"
#include "pilot/routing/parse_options.h"

namespace pilot::routing {

struct LoadBalancer {
  enum class Kind { kRoundRobin, kLeastRequest, kRandom, kRingHash };
  Kind kind = Kind::kRoundRobin;
  std::string hash_header;  // for kRingHash: consistentHash.httpHeaderName ("" = channel id)
  uint64_t minimum_ring_size = 0;
};

struct Subset {
  std::string name;
  std::map<std::string, std::string> labels;
  std::optional<LoadBalancer> load_balancer;
};

struct DestinationRule {
  std::string name;
  std::string namespace_;
  std::string host;  // FQDN
  std::optional<LoadBalancer> load_balancer;
  std::vector<Subset> subsets;
  Origin origin;

  const Subset* findSubset(std::string_view subset_name) const;
};

// Reads the spec of the DestinationRule `name` in namespace `ns`, declared at `origin`, reporting
// errors to `r`. The host is expanded to its FQDN in `ns`. Returns the DestinationRule only if its
// host and subsets are usable; an unsupported or malformed load balancer is reported and left
// unset.
std::optional<DestinationRule> parseDestinationRule(const YAML::Node& spec, const Origin& origin,
                                                    std::string name, std::string ns,
                                                    model::YamlReader& r,
                                                    const ParseOptions& options);

}  // namespace pilot::routing
