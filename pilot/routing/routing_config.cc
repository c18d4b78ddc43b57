#include "pilot/routing/routing_config.h"

#include <map>

#include "pilot/model/file_registry.h"
#include "pilot/model/service_entry.h"
#include "pilot/model/yaml_reader.h"

namespace pilot::routing {
namespace {

using model::YamlReader;

constexpr std::string_view kApiGroup = "networking.istio.io/";

}  // namespace

const VirtualService* RoutingConfig::virtualServiceFor(std::string_view fqdn) const {
  for (const VirtualService& vs : virtual_services) {
    for (const std::string& h : vs.hosts) {
      if (h == fqdn) return &vs;
    }
  }
  return nullptr;
}

const DestinationRule* RoutingConfig::destinationRuleFor(std::string_view fqdn) const {
  for (const DestinationRule& dr : destination_rules) {
    if (dr.host == fqdn) return &dr;
  }
  return nullptr;
}

void parseRoutingYaml(std::string_view text, const std::string& file_name,
                      const ParseOptions& options, RoutingConfig* config,
                      std::vector<ConfigError>* errors) {
  YamlReader r(file_name, errors);
  for (const YAML::Node& doc : loadDocuments(text, &r)) {
    if (!r.expectMap(doc, "resource", {"apiVersion", "kind", "metadata", "spec", "status"})) {
      continue;
    }
    const auto api = r.str(doc, "apiVersion", true);
    const auto kind = r.str(doc, "kind", true);
    if (!api || !kind) continue;
    if (!api->starts_with(kApiGroup) ||
        (*api != "networking.istio.io/v1alpha3" && *api != "networking.istio.io/v1beta1" &&
         *api != "networking.istio.io/v1")) {
      r.error(doc["apiVersion"],
              "apiVersion must be networking.istio.io/v1alpha3, v1beta1 or "
              "v1, got '" +
                  *api + "'");
      continue;
    }
    const YAML::Node meta = doc["metadata"];
    if (!meta.IsDefined()) {
      r.error(doc, "missing required field 'metadata'");
      continue;
    }
    if (!r.expectMap(meta, "metadata",
                     {"name", "namespace", "labels", "annotations", "resourceVersion", "uid",
                      "generation", "creationTimestamp"})) {
      continue;
    }
    const auto name = r.str(meta, "name", true);
    if (!name) continue;
    const std::string ns = r.str(meta, "namespace", false).value_or(options.default_namespace);
    if (!model::isDnsName(ns) || ns.find('.') != std::string::npos) {
      r.error(meta["namespace"], "namespace '" + ns + "' is not a DNS label");
      continue;
    }
    const YAML::Node spec = doc["spec"];
    if (!spec.IsDefined()) {
      r.error(doc, "missing required field 'spec'");
      continue;
    }
    const Origin origin{file_name, YamlReader::lineOf(doc)};
    if (*kind == "VirtualService") {
      if (auto vs = parseVirtualService(spec, origin, *name, ns, r, options)) {
        config->virtual_services.push_back(std::move(*vs));
      }
    } else if (*kind == "DestinationRule") {
      if (auto dr = parseDestinationRule(spec, origin, *name, ns, r, options)) {
        config->destination_rules.push_back(std::move(*dr));
      }
    } else if (*kind == "ServiceEntry") {
      for (model::Service& s :
           model::parseServiceEntry(spec, origin.str(), ns, options.domain_suffix, r)) {
        config->service_entries.push_back(std::move(s));
      }
    } else {
      r.error(doc["kind"],
              "unsupported kind '" + *kind + "' (VirtualService, DestinationRule, ServiceEntry)");
    }
  }
}

void validateRouting(const RoutingConfig& config, std::vector<ConfigError>* errors) {
  std::map<std::string, const VirtualService*> vs_by_host;
  for (const VirtualService& vs : config.virtual_services) {
    for (const std::string& h : vs.hosts) {
      auto [it, inserted] = vs_by_host.emplace(h, &vs);
      if (!inserted) {
        errors->push_back({{vs.origin.file, vs.origin.line},
                           "host " + h + " already has VirtualService " + it->second->name +
                               " at " + it->second->origin.str()});
      }
    }
  }
  std::map<std::string, const DestinationRule*> dr_by_host;
  for (const DestinationRule& dr : config.destination_rules) {
    auto [it, inserted] = dr_by_host.emplace(dr.host, &dr);
    if (!inserted) {
      errors->push_back({{dr.origin.file, dr.origin.line},
                         "host " + dr.host + " already has DestinationRule " + it->second->name +
                             " at " + it->second->origin.str()});
    }
  }
  for (const VirtualService& vs : config.virtual_services) {
    for (const HttpRoute& route : vs.http) {
      for (const RouteDestination& rd : route.route) {
        if (rd.destination.subset.empty()) continue;
        auto it = dr_by_host.find(rd.destination.host);
        if (it == dr_by_host.end() || it->second->findSubset(rd.destination.subset) == nullptr) {
          errors->push_back({{vs.origin.file, route.line},
                             "subset '" + rd.destination.subset + "' of " + rd.destination.host +
                                 " is not defined by any DestinationRule"});
        }
      }
    }
  }
}

bool loadRoutingDir(const std::string& dir, const ParseOptions& options, RoutingConfig* config,
                    std::vector<ConfigError>* errors) {
  const size_t before = errors->size();
  std::string error;
  const std::vector<std::string> files = model::yamlFilesIn(dir, &error);
  if (!error.empty()) {
    errors->push_back({{dir, 1}, error});
    return false;
  }
  RoutingConfig loaded;
  for (const std::string& f : files) {
    std::string text;
    if (!model::readFile(f, &text, &error)) {
      errors->push_back({{f, 1}, error});
      continue;
    }
    parseRoutingYaml(text, f, options, &loaded, errors);
  }
  validateRouting(loaded, errors);
  if (errors->size() != before) return false;
  *config = std::move(loaded);
  return true;
}

}  // namespace pilot::routing
