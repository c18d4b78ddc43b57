// ServiceEntry (networking.istio.io v1alpha3, v1beta1 and v1): services outside the registry,
// declared beside the routing config and read straight into the service model, one Service per
// host with the entry's ports and its endpoints as instances. Plain functions; thread-compatible.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "pilot/model/service.h"
#include "pilot/model/yaml_reader.h"

namespace pilot::model {

// hosts x ports (and hosts x ports x endpoints) of one entry: bounded so that one entry cannot
// exhaust memory.
inline constexpr size_t kMaxServiceEntryInstances = 10000;

// Reads the spec of a ServiceEntry in namespace `ns`, declared at `origin` ("file:line"), reporting
// errors to `r`. Short hosts are expanded with `domain_suffix` (expandHost). Resolution STATIC
// serves the listed endpoints; DNS with no endpoints makes one instance per port that is the host
// itself. An endpoint's `ports` map (port name to number) overrides a port's targetPort, which
// defaults to the port number. Returns no services when the entry cannot be used.
std::vector<Service> parseServiceEntry(const YAML::Node& spec, const std::string& origin,
                                       std::string_view ns, std::string_view domain_suffix,
                                       YamlReader& r);

}  // namespace pilot::model
