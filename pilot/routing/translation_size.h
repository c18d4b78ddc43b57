// The bound on what the xDS translation produces from a routing config and the services it
// applies to, checked before a configuration is served. Thread-compatible.
#pragma once

#include <cstddef>
#include <vector>

#include "pilot/model/service.h"
#include "pilot/routing/routing_config.h"

namespace pilot::routing {

// Checks what translation will produce against the services it applies to (registry services
// and ServiceEntries): each VirtualService's routes are repeated for every port of every host
// it names, and each DestinationRule subset is a cluster per port. Errors at the resource's
// position when that exceeds the translation budget.
inline constexpr size_t kMaxTranslatedRouteEntries = 200000;
inline constexpr size_t kMaxTranslatedSubsetClusters = 100000;
void validateTranslationSize(const RoutingConfig& config,
                             const std::vector<model::Service>& services,
                             std::vector<ConfigError>* errors);

}  // namespace pilot::routing
