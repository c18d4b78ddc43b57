#include "pilot/model/service_entry.h"

#include <algorithm>
#include <cstdlib>

namespace pilot::model {

std::vector<Service> parseServiceEntry(const YAML::Node& spec, const std::string& origin,
                                       std::string_view ns, std::string_view domain_suffix,
                                       YamlReader& r) {
  if (!r.expectMap(spec, "ServiceEntry spec",
                   {"hosts", "addresses", "ports", "location", "resolution", "endpoints",
                    "exportTo", "subjectAltNames", "workloadSelector"})) {
    return {};
  }
  if (r.reportUnsupported(spec, "a ServiceEntry", {"workloadSelector"})) return {};
  const std::vector<std::string> hosts = r.stringList(spec, "hosts", true);
  for (const std::string& h : hosts) {
    if (!isDnsName(h)) {
      r.error(spec["hosts"], "host '" + h + "' is not a DNS name");
      return {};
    }
  }
  const std::vector<std::string> addresses = r.stringList(spec, "addresses", false);
  const std::string resolution = r.str(spec, "resolution", false).value_or("NONE");
  Resolution res;
  if (resolution == "STATIC") {
    res = Resolution::kStatic;
  } else if (resolution == "DNS" || resolution == "DNS_ROUND_ROBIN") {
    res = Resolution::kDns;
  } else {
    r.error(spec["resolution"].IsDefined() ? spec["resolution"] : spec,
            "resolution must be STATIC or DNS for proxyless clients, got '" + resolution + "'");
    return {};
  }
  std::vector<std::pair<ServicePort, uint32_t>> ports;  // port, target port
  const YAML::Node pl = spec["ports"];
  if (!pl.IsDefined() || !r.expectSequence(pl, "ports")) {
    if (!pl.IsDefined()) r.error(spec, "ServiceEntry needs ports");
    return {};
  }
  if (pl.size() > kMaxPortsPerService) {
    r.error(pl, "ServiceEntry has " + std::to_string(pl.size()) + " ports, more than " +
                    std::to_string(kMaxPortsPerService));
    return {};
  }
  for (const YAML::Node& p : pl) {
    if (!r.expectMap(p, "port", {"number", "protocol", "name", "targetPort"})) return {};
    ServicePort port;
    const auto number = r.integer(p, "number", true, 1, 65535);
    if (!number) return {};
    port.number = static_cast<uint32_t>(*number);
    port.name = r.str(p, "name", false).value_or("");
    if (const auto proto = r.str(p, "protocol", false)) {
      const auto parsed = parseProtocol(*proto);
      if (!parsed) {
        r.error(p["protocol"], "unknown protocol '" + *proto + "'");
        return {};
      }
      port.protocol = *parsed;
    }
    const auto target = r.integer(p, "targetPort", false, 1, 65535);
    for (const auto& [seen, t] : ports) {
      if (seen.number == port.number) {
        r.error(p, "port " + std::to_string(port.number) + " is declared twice");
        return {};
      }
    }
    ports.emplace_back(port, target ? static_cast<uint32_t>(*target) : port.number);
  }
  if (hosts.size() * ports.size() > kMaxServiceEntryInstances) {
    r.error(pl, "ServiceEntry has " + std::to_string(hosts.size() * ports.size()) +
                    " host x port combinations, more than " +
                    std::to_string(kMaxServiceEntryInstances));
    return {};
  }
  std::vector<ServiceInstance> instances;
  if (const YAML::Node eps = spec["endpoints"]; eps.IsDefined() && !eps.IsNull()) {
    if (!r.expectSequence(eps, "endpoints")) return {};
    // hosts x ports x endpoints resources: bounded so that one entry cannot exhaust memory.
    const size_t product = std::max<size_t>(1, hosts.size()) * ports.size() * eps.size();
    if (product > kMaxServiceEntryInstances) {
      r.error(eps, "ServiceEntry has " + std::to_string(product) +
                       " host x port x endpoint combinations, more than " +
                       std::to_string(kMaxServiceEntryInstances));
      return {};
    }
    for (const YAML::Node& e : eps) {
      if (!r.expectMap(
              e, "endpoint",
              {"address", "ports", "labels", "locality", "weight", "network", "serviceAccount"})) {
        return {};
      }
      const auto address = r.str(e, "address", true);
      if (!address) return {};
      if (!isDnsName(*address) &&
          address->find_first_not_of("0123456789abcdefABCDEF:.") != std::string::npos) {
        r.error(e["address"],
                "endpoint address '" + *address + "' is neither an IP nor a DNS name");
        return {};
      }
      const auto port_map = r.stringMap(e, "ports");
      for (const auto& [port, target] : ports) {
        ServiceInstance inst;
        inst.address = *address;
        inst.service_port = port.number;
        inst.port = target;
        if (auto it = port_map.find(port.name); it != port_map.end()) {
          inst.port = static_cast<uint32_t>(std::atoi(it->second.c_str()));
          if (inst.port == 0 || inst.port > 65535) {
            r.error(e["ports"], "endpoint port '" + it->second + "' is not a port number");
            return {};
          }
        }
        inst.labels = r.stringMap(e, "labels");
        inst.locality = parseLocality(r.str(e, "locality", false).value_or(""));
        instances.push_back(std::move(inst));
      }
    }
  }
  if (res == Resolution::kStatic) {
    for (const auto& inst : instances) {
      if (inst.address.find_first_not_of("0123456789.:abcdefABCDEF") != std::string::npos) {
        r.error(spec["endpoints"],
                "STATIC endpoint address must be an IP, got '" + inst.address + "'");
        return {};
      }
    }
  }
  std::vector<Service> out;
  for (const std::string& h : hosts) {
    Service s;
    s.hostname = expandHost(h, ns, domain_suffix);
    s.address = addresses.empty() ? "" : addresses[0];
    for (const auto& [port, target] : ports) s.ports.push_back(port);
    s.resolution = res;
    s.instances = instances;
    if (res == Resolution::kDns && s.instances.empty()) {
      for (const auto& [port, target] : ports) {
        ServiceInstance inst;
        inst.address = s.hostname;
        inst.port = target;
        inst.service_port = port.number;
        s.instances.push_back(inst);
      }
    }
    s.origin = origin;
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace pilot::model
