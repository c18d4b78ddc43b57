#include "pilot/xds/translate.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/config/route/v3/route.pb.h"
#include "envoy/extensions/filters/http/fault/v3/fault.pb.h"
#include "envoy/extensions/filters/http/router/v3/router.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"

namespace pilot::xds {
namespace {

namespace cluster_v3 = envoy::config::cluster::v3;
namespace core_v3 = envoy::config::core::v3;
namespace endpoint_v3 = envoy::config::endpoint::v3;
namespace listener_v3 = envoy::config::listener::v3;
namespace route_v3 = envoy::config::route::v3;
namespace hcm_v3 = envoy::extensions::filters::network::http_connection_manager::v3;
namespace fault_v3 = envoy::extensions::filters::http::fault::v3;

constexpr std::string_view kTypePrefix = "type.googleapis.com/";
// Istio's default retry conditions; gRPC clients keep the ones they know (unavailable, cancelled).
constexpr char kDefaultRetryOn[] =
    "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes";

std::string serialize(const google::protobuf::Message& m) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    m.SerializeToCodedStream(&coded);
  }
  return out;
}

template <typename M>
void packAny(const M& message, google::protobuf::Any* any) {
  any->set_type_url(std::string(kTypePrefix) + M::descriptor()->full_name());
  any->set_value(serialize(message));
}

void setDuration(std::chrono::milliseconds d, google::protobuf::Duration* out) {
  out->set_seconds(d.count() / 1000);
  out->set_nanos(static_cast<int32_t>((d.count() % 1000) * 1000000));
}

void setAdsSource(core_v3::ConfigSource* source) {
  source->mutable_ads();
  source->set_resource_api_version(core_v3::V3);
}

void setPercent(double percent, envoy::type::v3::FractionalPercent* out) {
  out->set_numerator(static_cast<uint32_t>(std::llround(percent * 10000)));
  out->set_denominator(envoy::type::v3::FractionalPercent::MILLION);
}

core_v3::HealthStatus healthStatus(model::Health h) {
  switch (h) {
    case model::Health::kHealthy:
      return core_v3::HEALTHY;
    case model::Health::kUnhealthy:
      return core_v3::UNHEALTHY;
    case model::Health::kDraining:
      return core_v3::DRAINING;
    case model::Health::kUnknown:
      return core_v3::UNKNOWN;
  }
  return core_v3::UNKNOWN;
}

// Builds the resources of one type, sharing pointers with the previous snapshot where the bytes
// are the same.
class ResourceSink {
 public:
  ResourceSink(Snapshot* snapshot, const Snapshot* previous)
      : snapshot_(snapshot), previous_(previous) {}

  void add(ResourceType type, const std::string& name, const google::protobuf::Message& m,
           bool wildcard = true) {
    std::string bytes = serialize(m);
    ResourceBytes shared;
    if (previous_ != nullptr) {
      ResourceBytes old = previous_->find(type, name);
      if (old != nullptr && *old == bytes) shared = std::move(old);
    }
    if (shared == nullptr) shared = std::make_shared<const std::string>(std::move(bytes));
    auto [it, inserted] = snapshot_->resources[static_cast<size_t>(type)].emplace(name, shared);
    if (inserted && wildcard) snapshot_->wildcard_names[static_cast<size_t>(type)].push_back(name);
  }

 private:
  Snapshot* snapshot_;
  const Snapshot* previous_;
};

struct ServiceIndex {
  std::map<std::string, const model::Service*> by_host;
};

// The port a destination refers to: its own, the destination service's only port, or the port
// the request arrived on.
uint32_t destinationPort(const routing::Destination& d, const ServiceIndex& index,
                         uint32_t incoming_port) {
  if (d.port != 0) return d.port;
  auto it = index.by_host.find(d.host);
  if (it != index.by_host.end() && it->second->ports.size() == 1) {
    return it->second->ports[0].number;
  }
  return incoming_port;
}

std::optional<routing::LoadBalancer> loadBalancerFor(const routing::DestinationRule* dr,
                                                     std::string_view subset) {
  if (dr == nullptr) return std::nullopt;
  if (!subset.empty()) {
    const routing::Subset* s = dr->findSubset(subset);
    if (s != nullptr && s->load_balancer) return s->load_balancer;
  }
  return dr->load_balancer;
}

void fillMatch(const routing::HttpMatch* match, route_v3::RouteMatch* out) {
  if (match == nullptr || !match->uri) {
    out->set_prefix("");
  } else {
    switch (match->uri->kind) {
      case routing::StringMatch::Kind::kExact:
        out->set_path(match->uri->value);
        break;
      case routing::StringMatch::Kind::kPrefix:
        out->set_prefix(match->uri->value);
        break;
      case routing::StringMatch::Kind::kRegex:
        out->mutable_safe_regex()->set_regex(match->uri->value);
        break;
    }
  }
  if (match == nullptr) return;
  if (match->ignore_uri_case) out->mutable_case_sensitive()->set_value(false);
  for (const auto& [name, sm] : match->headers) {
    route_v3::HeaderMatcher* h = out->add_headers();
    h->set_name(name);
    // The legacy matcher fields: gRPC 1.51 rejects a route whose header matcher is string_match.
    switch (sm.kind) {
      case routing::StringMatch::Kind::kExact:
        h->set_exact_match(sm.value);
        break;
      case routing::StringMatch::Kind::kPrefix:
        h->set_prefix_match(sm.value);
        break;
      case routing::StringMatch::Kind::kRegex:
        h->mutable_safe_regex_match()->set_regex(sm.value);
        break;
    }
  }
}

fault_v3::HTTPFault faultConfig(const routing::FaultInjection& fault) {
  fault_v3::HTTPFault out;
  if (fault.delay) {
    setDuration(fault.delay->fixed_delay, out.mutable_delay()->mutable_fixed_delay());
    setPercent(fault.delay->percent, out.mutable_delay()->mutable_percentage());
  }
  if (fault.abort) {
    if (fault.abort->grpc_status) {
      out.mutable_abort()->set_grpc_status(*fault.abort->grpc_status);
    } else {
      out.mutable_abort()->set_http_status(fault.abort->http_status);
    }
    setPercent(fault.abort->percent, out.mutable_abort()->mutable_percentage());
  }
  return out;
}

void fillAction(const routing::HttpRoute& http, const ServiceIndex& index,
                const routing::RoutingConfig& routing, uint32_t incoming_port,
                route_v3::RouteAction* action) {
  std::vector<std::pair<std::string, uint32_t>> clusters;
  std::optional<routing::LoadBalancer> lb;
  for (const routing::RouteDestination& rd : http.route) {
    if (rd.weight == 0 && http.route.size() > 1) continue;
    const uint32_t port = destinationPort(rd.destination, index, incoming_port);
    clusters.emplace_back(clusterName(port, rd.destination.subset, rd.destination.host), rd.weight);
    if (!lb) {
      lb = loadBalancerFor(routing.destinationRuleFor(rd.destination.host), rd.destination.subset);
    }
  }
  if (clusters.size() == 1) {
    action->set_cluster(clusters[0].first);
  } else {
    auto* wc = action->mutable_weighted_clusters();
    for (const auto& [name, weight] : clusters) {
      auto* c = wc->add_clusters();
      c->set_name(name);
      c->mutable_weight()->set_value(weight);
    }
  }
  if (http.timeout) {
    setDuration(*http.timeout, action->mutable_timeout());
    setDuration(*http.timeout,
                action->mutable_max_stream_duration()->mutable_max_stream_duration());
  }
  if (http.retries && http.retries->attempts > 0) {
    auto* retry = action->mutable_retry_policy();
    retry->set_retry_on(http.retries->retry_on.empty() ? kDefaultRetryOn : http.retries->retry_on);
    retry->mutable_num_retries()->set_value(http.retries->attempts);
    if (http.retries->per_try_timeout) {
      setDuration(*http.retries->per_try_timeout, retry->mutable_per_try_timeout());
    }
  }
  if (lb && lb->kind == routing::LoadBalancer::Kind::kRingHash) {
    auto* hp = action->add_hash_policy();
    if (lb->hash_header.empty()) {
      hp->mutable_filter_state()->set_key("io.grpc.channel_id");
    } else {
      hp->mutable_header()->set_header_name(lb->hash_header);
    }
  }
}

route_v3::RouteConfiguration routeConfig(const model::Service& service, uint32_t port,
                                         const ServiceIndex& index,
                                         const routing::RoutingConfig& routing) {
  route_v3::RouteConfiguration rc;
  rc.set_name(routeConfigName(port, service.hostname));
  auto* vh = rc.add_virtual_hosts();
  vh->set_name(service.hostname + ":" + std::to_string(port));
  // The route configuration belongs to one service port, so every authority a client dialled it
  // by (short or long name, with or without port) is this virtual host.
  vh->add_domains("*");
  const routing::VirtualService* vs = routing.virtualServiceFor(service.hostname);
  if (vs == nullptr) {
    auto* r = vh->add_routes();
    r->set_name("default");
    r->mutable_match()->set_prefix("");
    r->mutable_route()->set_cluster(clusterName(port, "", service.hostname));
    return rc;
  }
  for (size_t i = 0; i < vs->http.size(); ++i) {
    const routing::HttpRoute& http = vs->http[i];
    const size_t matches = std::max<size_t>(1, http.matches.size());
    for (size_t m = 0; m < matches; ++m) {
      auto* r = vh->add_routes();
      r->set_name(http.name.empty() ? "route-" + std::to_string(i) : http.name);
      fillMatch(http.matches.empty() ? nullptr : &http.matches[m], r->mutable_match());
      fillAction(http, index, routing, port, r->mutable_route());
      if (http.fault) {
        packAny(faultConfig(*http.fault),
                &(*r->mutable_typed_per_filter_config())[kFaultFilterName]);
      }
    }
  }
  return rc;
}

// The api_listener of a service port, shared by every name the port is dialled by.
google::protobuf::Any apiListener(const model::Service& service, uint32_t port) {
  hcm_v3::HttpConnectionManager hcm;
  hcm.set_stat_prefix(service.hostname + ":" + std::to_string(port));
  auto* rds = hcm.mutable_rds();
  setAdsSource(rds->mutable_config_source());
  rds->set_route_config_name(routeConfigName(port, service.hostname));
  auto* fault = hcm.add_http_filters();
  fault->set_name(kFaultFilterName);
  packAny(fault_v3::HTTPFault(), fault->mutable_typed_config());
  auto* router = hcm.add_http_filters();
  router->set_name(kRouterFilterName);
  packAny(envoy::extensions::filters::http::router::v3::Router(), router->mutable_typed_config());
  google::protobuf::Any any;
  packAny(hcm, &any);
  return any;
}

listener_v3::Listener listener(const std::string& name, const google::protobuf::Any& api) {
  listener_v3::Listener l;
  l.set_name(name);
  *l.mutable_api_listener()->mutable_api_listener() = api;
  return l;
}

void setLoadBalancer(const std::optional<routing::LoadBalancer>& lb, cluster_v3::Cluster* c) {
  // gRPC clients implement round robin and ring hash; LEAST_REQUEST and RANDOM are served as
  // round robin rather than as a policy the client would reject.
  if (lb && lb->kind == routing::LoadBalancer::Kind::kRingHash) {
    c->set_lb_policy(cluster_v3::Cluster::RING_HASH);
    auto* rh = c->mutable_ring_hash_lb_config();
    if (lb->minimum_ring_size > 0)
      rh->mutable_minimum_ring_size()->set_value(lb->minimum_ring_size);
  } else {
    c->set_lb_policy(cluster_v3::Cluster::ROUND_ROBIN);
  }
}

bool labelsMatch(const std::map<std::string, std::string>& want,
                 const std::map<std::string, std::string>& have) {
  for (const auto& [k, v] : want) {
    auto it = have.find(k);
    if (it == have.end() || it->second != v) return false;
  }
  return true;
}

endpoint_v3::ClusterLoadAssignment loadAssignment(
    const std::string& cluster, const model::Service& service, uint32_t port,
    const std::map<std::string, std::string>& subset_labels) {
  std::map<model::Locality, std::vector<const model::ServiceInstance*>> by_locality;
  std::set<std::pair<std::string, uint32_t>> seen;
  for (const model::ServiceInstance& inst : service.instances) {
    if (inst.service_port != port || !labelsMatch(subset_labels, inst.labels)) continue;
    // A duplicate address would make gRPC reject the whole assignment.
    if (!seen.emplace(inst.address, inst.port).second) continue;
    by_locality[inst.locality].push_back(&inst);
  }
  endpoint_v3::ClusterLoadAssignment cla;
  cla.set_cluster_name(cluster);
  for (const auto& [locality, instances] : by_locality) {
    auto* lle = cla.add_endpoints();
    lle->mutable_locality()->set_region(locality.region);
    lle->mutable_locality()->set_zone(locality.zone);
    lle->mutable_locality()->set_sub_zone(locality.sub_zone);
    // gRPC skips a locality without a weight; weighting by size keeps per-endpoint balance.
    lle->mutable_load_balancing_weight()->set_value(static_cast<uint32_t>(instances.size()));
    for (const model::ServiceInstance* inst : instances) {
      auto* lb = lle->add_lb_endpoints();
      auto* sa = lb->mutable_endpoint()->mutable_address()->mutable_socket_address();
      sa->set_address(inst->address);
      sa->set_port_value(inst->port);
      lb->set_health_status(healthStatus(inst->health));
    }
  }
  return cla;
}

cluster_v3::Cluster cluster(const std::string& name, const model::Service& service, uint32_t port,
                            const std::optional<routing::LoadBalancer>& lb) {
  cluster_v3::Cluster c;
  c.set_name(name);
  c.mutable_connect_timeout()->set_seconds(10);
  setLoadBalancer(lb, &c);
  if (service.resolution == model::Resolution::kDns) {
    c.set_type(cluster_v3::Cluster::LOGICAL_DNS);
    auto* cla = c.mutable_load_assignment();
    cla->set_cluster_name(name);
    for (const model::ServiceInstance& inst : service.instances) {
      if (inst.service_port != port) continue;
      auto* sa = cla->add_endpoints()
                     ->add_lb_endpoints()
                     ->mutable_endpoint()
                     ->mutable_address()
                     ->mutable_socket_address();
      sa->set_address(inst.address);
      sa->set_port_value(inst.port);
      break;  // a logical DNS cluster has exactly one endpoint
    }
    return c;
  }
  c.set_type(cluster_v3::Cluster::EDS);
  setAdsSource(c.mutable_eds_cluster_config()->mutable_eds_config());
  c.mutable_eds_cluster_config()->set_service_name(name);
  return c;
}

// The names a client may dial the service port by.
std::vector<std::string> listenerNames(const model::Service& s, uint32_t port) {
  std::vector<std::string> hosts = {s.hostname};
  // Short forms exist for cluster-local names only: "reviews", "reviews.ns", "reviews.ns.svc".
  if (s.hostname.find(".svc.") != std::string::npos) {
    size_t dot = std::string::npos;
    for (int labels = 0; labels < 3; ++labels) {
      dot = s.hostname.find('.', dot == std::string::npos ? 0 : dot + 1);
      if (dot == std::string::npos) break;
      hosts.push_back(s.hostname.substr(0, dot));
    }
  }
  std::vector<std::string> names;
  for (const std::string& h : hosts) {
    names.push_back(h + ":" + std::to_string(port));
    if (s.ports.size() == 1) names.push_back(h);
  }
  return names;
}

}  // namespace

std::string_view typeUrl(ResourceType type) {
  switch (type) {
    case ResourceType::kListener:
      return "type.googleapis.com/envoy.config.listener.v3.Listener";
    case ResourceType::kRoute:
      return "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
    case ResourceType::kCluster:
      return "type.googleapis.com/envoy.config.cluster.v3.Cluster";
    case ResourceType::kEndpoint:
      return "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";
  }
  return "";
}

std::optional<ResourceType> typeFromUrl(std::string_view type_url) {
  for (ResourceType t : kAllResourceTypes) {
    if (typeUrl(t) == type_url) return t;
  }
  return std::nullopt;
}

std::string_view typeShortName(ResourceType type) {
  switch (type) {
    case ResourceType::kListener:
      return "LDS";
    case ResourceType::kRoute:
      return "RDS";
    case ResourceType::kCluster:
      return "CDS";
    case ResourceType::kEndpoint:
      return "EDS";
  }
  return "";
}

std::string clusterName(uint32_t port, std::string_view subset, std::string_view host) {
  return "outbound|" + std::to_string(port) + "|" + std::string(subset) + "|" + std::string(host);
}

std::string routeConfigName(uint32_t port, std::string_view host) {
  return clusterName(port, "", host);
}

namespace {

bool endpointsOnlyChange(const std::vector<model::Service>& services, const Snapshot* previous,
                         const BuildHints& hints) {
  if (previous == nullptr || hints.previous_services == nullptr || !hints.routing_unchanged ||
      hints.previous_services->size() != services.size()) {
    return false;
  }
  for (size_t i = 0; i < services.size(); ++i) {
    if (!services[i].sameShape((*hints.previous_services)[i])) return false;
  }
  return true;
}

// The endpoint-only build: listeners, routes and clusters are the previous ones; endpoint sets
// are rebuilt for the services whose instances changed.
std::shared_ptr<Snapshot> buildEndpointsOnly(const std::vector<model::Service>& services,
                                             const routing::RoutingConfig& routing,
                                             const Snapshot& previous, uint64_t version,
                                             const std::vector<model::Service>& before) {
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->version = version;
  snapshot->created = std::chrono::steady_clock::now();
  snapshot->resources = previous.resources;
  snapshot->wildcard_names = previous.wildcard_names;
  snapshot->has_changes = true;
  snapshot->previous_version = previous.version;
  auto& endpoints = snapshot->resources[static_cast<size_t>(ResourceType::kEndpoint)];
  for (size_t i = 0; i < services.size(); ++i) {
    const model::Service& service = services[i];
    if (service.instances == before[i].instances ||
        service.resolution != model::Resolution::kStatic) {
      continue;
    }
    const routing::DestinationRule* dr = routing.destinationRuleFor(service.hostname);
    for (const model::ServicePort& port : service.ports) {
      auto rebuild = [&](const std::string& subset,
                         const std::map<std::string, std::string>& labels) {
        const std::string name = clusterName(port.number, subset, service.hostname);
        std::string bytes = serialize(loadAssignment(name, service, port.number, labels));
        ResourceBytes old = previous.find(ResourceType::kEndpoint, name);
        if (old != nullptr && *old == bytes) {
          endpoints[name] = old;
        } else {
          endpoints[name] = std::make_shared<const std::string>(std::move(bytes));
          snapshot->changed[static_cast<size_t>(ResourceType::kEndpoint)].push_back(name);
        }
      };
      rebuild("", {});
      if (dr == nullptr) continue;
      for (const routing::Subset& subset : dr->subsets) rebuild(subset.name, subset.labels);
    }
  }
  return snapshot;
}

}  // namespace

std::shared_ptr<Snapshot> buildSnapshot(const std::vector<model::Service>& services,
                                        const routing::RoutingConfig& routing,
                                        const Snapshot* previous, uint64_t version,
                                        const BuildHints& hints) {
  if (endpointsOnlyChange(services, previous, hints)) {
    return buildEndpointsOnly(services, routing, *previous, version, *hints.previous_services);
  }
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->version = version;
  snapshot->created = std::chrono::steady_clock::now();

  ServiceIndex index;
  for (const model::Service& s : services) index.by_host.emplace(s.hostname, &s);
  for (const model::Service& s : routing.service_entries) index.by_host.emplace(s.hostname, &s);

  ResourceSink sink(snapshot.get(), previous);
  std::set<std::string> taken_listener_names;
  for (const auto& [host, service] : index.by_host) {
    const routing::DestinationRule* dr = routing.destinationRuleFor(host);
    for (const model::ServicePort& port : service->ports) {
      std::vector<std::pair<std::string, std::map<std::string, std::string>>> clusters = {
          {clusterName(port.number, "", host), {}}};
      if (dr != nullptr) {
        for (const routing::Subset& subset : dr->subsets) {
          clusters.emplace_back(clusterName(port.number, subset.name, host), subset.labels);
        }
      }
      for (size_t i = 0; i < clusters.size(); ++i) {
        const auto& [name, labels] = clusters[i];
        const std::string subset = i == 0 ? "" : dr->subsets[i - 1].name;
        sink.add(ResourceType::kCluster, name,
                 cluster(name, *service, port.number, loadBalancerFor(dr, subset)));
        if (service->resolution == model::Resolution::kStatic) {
          sink.add(ResourceType::kEndpoint, name,
                   loadAssignment(name, *service, port.number, labels));
        }
      }
      sink.add(ResourceType::kRoute, routeConfigName(port.number, host),
               routeConfig(*service, port.number, index, routing));
      const std::vector<std::string> names = listenerNames(*service, port.number);
      const google::protobuf::Any api = apiListener(*service, port.number);
      for (size_t i = 0; i < names.size(); ++i) {
        // Short names shared by services of different namespaces go to the first in name order.
        if (!taken_listener_names.insert(names[i]).second) continue;
        sink.add(ResourceType::kListener, names[i], listener(names[i], api),
                 /*wildcard=*/i == 0);
      }
    }
  }
  if (previous != nullptr) {
    snapshot->has_changes = true;
    snapshot->previous_version = previous->version;
    for (size_t t = 0; t < kResourceTypeCount; ++t) {
      const auto& now = snapshot->resources[t];
      const auto& before = previous->resources[t];
      for (const auto& [name, bytes] : now) {
        auto it = before.find(name);
        if (it == before.end() || it->second != bytes) snapshot->changed[t].push_back(name);
      }
      for (const auto& [name, bytes] : before) {
        if (now.count(name) == 0) snapshot->changed[t].push_back(name);
      }
    }
  }
  return snapshot;
}

std::array<size_t, kResourceTypeCount> countChanges(const Snapshot& a, const Snapshot& b) {
  std::array<size_t, kResourceTypeCount> out{};
  for (size_t t = 0; t < kResourceTypeCount; ++t) {
    for (const auto& [name, bytes] : a.resources[t]) {
      auto it = b.resources[t].find(name);
      if (it == b.resources[t].end() || (it->second != bytes && *it->second != *bytes)) ++out[t];
    }
    for (const auto& [name, bytes] : b.resources[t]) {
      if (a.resources[t].count(name) == 0) ++out[t];
    }
  }
  return out;
}

}  // namespace pilot::xds
