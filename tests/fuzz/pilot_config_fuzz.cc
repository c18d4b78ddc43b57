// Fuzz target: pilot's YAML parsers (Istio routing config and the file registry) and the xDS
// translation of what they accept. The input is parsed both as a routing file and as a registry
// file. Invariants beyond "no crash, no hang": every error has a message and a line >= 1 in the
// named file, and a configuration without errors (including the translation size check against
// the services) translates into resources that parse back, with
// route weights that gRPC accepts (sum > 0) and every route naming a cluster.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "envoy/config/route/v3/route.pb.h"
#include "pilot/model/file_registry.h"
#include "pilot/routing/routing_config.h"
#include "pilot/routing/translation_size.h"
#include "pilot/xds/translate.h"

namespace {

void checkErrors(const std::vector<pilot::model::ConfigError>& errors, const char* file) {
  for (const auto& e : errors) {
    if (e.message.empty() || e.pos.line < 1 || e.pos.file != file) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 16384) return 0;  // configuration files are small
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  std::vector<pilot::model::ConfigError> errors;
  std::vector<pilot::model::Service> services;
  pilot::model::parseRegistryYaml(input, "registry.yaml", &services, &errors);
  checkErrors(errors, "registry.yaml");
  const bool registry_ok = errors.empty();

  errors.clear();
  pilot::routing::RoutingConfig routing;
  pilot::routing::parseRoutingYaml(input, "config.yaml", pilot::routing::ParseOptions(), &routing,
                                   &errors);
  pilot::routing::validateRouting(routing, &errors);
  checkErrors(errors, "config.yaml");
  if (!errors.empty()) return 0;

  if (!registry_ok) services.clear();
  // The server translates only what passes the size check against its services.
  pilot::routing::validateTranslationSize(routing, services, &errors);
  checkErrors(errors, "config.yaml");
  if (!errors.empty()) return 0;
  const auto snapshot = pilot::xds::buildSnapshot(services, routing, nullptr, 1);
  for (const auto& [name, bytes] :
       snapshot->resources[static_cast<size_t>(pilot::xds::ResourceType::kRoute)]) {
    envoy::config::route::v3::RouteConfiguration rc;
    if (!rc.ParseFromString(*bytes) || rc.name() != name) std::abort();
    for (const auto& vh : rc.virtual_hosts()) {
      for (const auto& r : vh.routes()) {
        if (r.route().has_weighted_clusters()) {
          uint64_t total = 0;
          for (const auto& c : r.route().weighted_clusters().clusters())
            total += c.weight().value();
          if (total == 0) std::abort();
        } else if (r.route().cluster().empty()) {
          std::abort();
        }
      }
    }
  }
  return 0;
}
