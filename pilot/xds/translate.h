// Translation of the service model and Istio routing config into xDS v3 resources for proxyless
// gRPC clients (and Envoy), following Istio's naming:
//   Listener "<host>:<port>" for each name a client may dial (FQDN, and the short forms
//   "reviews", "reviews.ns", "reviews.ns.svc", each with the port; without the port too when the
//   service has one port), an api_listener whose HttpConnectionManager takes RDS
//   "outbound|<port>||<fqdn>" over ADS and runs the filters [fault, router];
//   RouteConfiguration "outbound|<port>||<fqdn>" from the host's VirtualService (or one default
//   route); Cluster "outbound|<port>|<subset>|<fqdn>" (EDS over ADS, EDS name = cluster name) for
//   the service and each DestinationRule subset; ClusterLoadAssignment per cluster with the
//   instances whose labels match the subset, grouped by locality.
// Stateless functions; thread-safe.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "pilot/model/service.h"
#include "pilot/routing/routing_config.h"
#include "pilot/xds/snapshot.h"

namespace pilot::xds {

inline constexpr char kFaultFilterName[] = "envoy.filters.http.fault";
inline constexpr char kRouterFilterName[] = "envoy.filters.http.router";

std::string clusterName(uint32_t port, std::string_view subset, std::string_view host);
std::string routeConfigName(uint32_t port, std::string_view host);

// What the caller knows about the change since `previous`, to translate less.
struct BuildHints {
  // The services `previous` was built from; with routing_unchanged, a change that only moves
  // instances (every service the same shape) rebuilds only the endpoints of services whose
  // instances differ, and shares every other resource with `previous`.
  const std::vector<model::Service>* previous_services = nullptr;
  bool routing_unchanged = false;
};

// Builds snapshot `version`. Resources whose bytes equal those in `previous` share its pointers,
// so a connection can tell what changed by comparing pointers. Registry services win over
// ServiceEntries with the same hostname.
std::shared_ptr<Snapshot> buildSnapshot(const std::vector<model::Service>& services,
                                        const routing::RoutingConfig& routing,
                                        const Snapshot* previous, uint64_t version,
                                        const BuildHints& hints = {});

// How many resources differ (added, removed or changed) between two snapshots, per type.
std::array<size_t, kResourceTypeCount> countChanges(const Snapshot& a, const Snapshot& b);

}  // namespace pilot::xds
