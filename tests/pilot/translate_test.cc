#include "pilot/xds/translate.h"

#include <gtest/gtest.h>

#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/config/route/v3/route.pb.h"
#include "envoy/extensions/filters/http/fault/v3/fault.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"

namespace pilot::xds {
namespace {

namespace cluster_v3 = envoy::config::cluster::v3;
namespace route_v3 = envoy::config::route::v3;
using envoy::config::endpoint::v3::ClusterLoadAssignment;
using envoy::config::listener::v3::Listener;
using envoy::extensions::filters::http::fault::v3::HTTPFault;
using envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager;

constexpr char kHost[] = "echo.default.svc.cluster.local";

model::Service echoService() {
  model::Service s;
  s.hostname = kHost;
  s.ports = {{"grpc", 9080, model::Protocol::kGrpc}};
  auto add = [&](const char* addr, uint32_t port, const char* version, const char* zone,
                 model::Health health = model::Health::kHealthy) {
    model::ServiceInstance i;
    i.address = addr;
    i.port = port;
    i.service_port = 9080;
    i.labels = {{"version", version}};
    i.locality = {"r", zone, ""};
    i.health = health;
    s.instances.push_back(i);
  };
  add("10.0.0.1", 1001, "v1", "z1");
  add("10.0.0.2", 1002, "v1", "z2");
  add("10.0.0.2", 1002, "v1", "z2");  // a duplicate the translation must drop
  add("10.0.0.3", 1003, "v2", "z1", model::Health::kDraining);
  return s;
}

routing::RoutingConfig routing(const std::string& yaml) {
  routing::RoutingConfig c;
  std::vector<routing::ConfigError> errors;
  routing::parseRoutingYaml(yaml, "t.yaml", routing::ParseOptions(), &c, &errors);
  EXPECT_TRUE(errors.empty()) << model::formatErrors(errors);
  return c;
}

template <typename M>
M resource(const Snapshot& s, ResourceType t, const std::string& name) {
  M m;
  const ResourceBytes b = s.find(t, name);
  EXPECT_NE(b, nullptr) << name;
  if (b != nullptr) EXPECT_TRUE(m.ParseFromString(*b));
  return m;
}

constexpr char kSubsets[] = R"(apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: echo}
spec:
  host: echo
  subsets:
  - {name: v1, labels: {version: v1}}
  - name: v2
    labels: {version: v2}
    trafficPolicy:
      loadBalancer: {consistentHash: {httpHeaderName: x-user}}
)";

TEST(TranslateTest, NamesFollowIstio) {
  EXPECT_EQ(clusterName(9080, "v1", kHost), "outbound|9080|v1|echo.default.svc.cluster.local");
  EXPECT_EQ(clusterName(9080, "", kHost), "outbound|9080||echo.default.svc.cluster.local");
  EXPECT_EQ(routeConfigName(9080, kHost), "outbound|9080||echo.default.svc.cluster.local");
}

TEST(TranslateTest, ListenersForEveryNameAClientMayDial) {
  const auto s = buildSnapshot({echoService()}, {}, nullptr, 1);
  for (const char* name : {"echo.default.svc.cluster.local:9080", "echo.default.svc.cluster.local",
                           "echo:9080", "echo", "echo.default:9080", "echo.default.svc:9080"}) {
    const Listener l = resource<Listener>(*s, ResourceType::kListener, name);
    EXPECT_EQ(l.name(), name);
    HttpConnectionManager hcm;
    ASSERT_TRUE(l.api_listener().api_listener().UnpackTo(&hcm));
    EXPECT_EQ(hcm.rds().route_config_name(), "outbound|9080||echo.default.svc.cluster.local");
    EXPECT_TRUE(hcm.rds().config_source().has_ads());
    EXPECT_EQ(hcm.rds().config_source().resource_api_version(), envoy::config::core::v3::V3);
    ASSERT_EQ(hcm.http_filters_size(), 2);
    EXPECT_EQ(hcm.http_filters(0).typed_config().type_url(),
              "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault");
    // The router must come last or gRPC rejects the listener.
    EXPECT_EQ(hcm.http_filters(1).typed_config().type_url(),
              "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router");
  }
  // A wildcard LDS subscription gets one name per service port.
  EXPECT_EQ(s->wildcard_names[static_cast<size_t>(ResourceType::kListener)],
            std::vector<std::string>{"echo.default.svc.cluster.local:9080"});
}

TEST(TranslateTest, DefaultRouteWithoutVirtualService) {
  const auto s = buildSnapshot({echoService()}, {}, nullptr, 1);
  const auto rc = resource<route_v3::RouteConfiguration>(
      *s, ResourceType::kRoute, "outbound|9080||echo.default.svc.cluster.local");
  ASSERT_EQ(rc.virtual_hosts_size(), 1);
  EXPECT_EQ(rc.virtual_hosts(0).domains(0), "*");
  ASSERT_EQ(rc.virtual_hosts(0).routes_size(), 1);
  const auto& r = rc.virtual_hosts(0).routes(0);
  EXPECT_EQ(r.name(), "default");
  EXPECT_TRUE(r.match().has_prefix());
  EXPECT_EQ(r.route().cluster(), "outbound|9080||echo.default.svc.cluster.local");
}

TEST(TranslateTest, VirtualServiceRoutes) {
  const auto c = routing(std::string(kSubsets) + R"(---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: echo}
spec:
  hosts: [echo]
  http:
  - name: by-header
    match:
    - headers: {x-version: {exact: v2}}
    - uri: {regex: "/pkg[.]Echo/.*"}
      headers: {x-tier: {prefix: gold}}
    route: [{destination: {host: echo, subset: v2}}]
    fault:
      abort: {grpcStatus: ABORTED, percentage: {value: 12.5}}
      delay: {fixedDelay: 1.5s}
  - route:
    - {destination: {host: echo, subset: v1}, weight: 80}
    - {destination: {host: echo, subset: v2}, weight: 20}
    timeout: 2s
    retries: {attempts: 3, perTryTimeout: 500ms}
)");
  const auto s = buildSnapshot({echoService()}, c, nullptr, 1);
  const auto rc = resource<route_v3::RouteConfiguration>(
      *s, ResourceType::kRoute, "outbound|9080||echo.default.svc.cluster.local");
  const auto& routes = rc.virtual_hosts(0).routes();
  ASSERT_EQ(routes.size(), 3);  // one per match, then the weighted route

  EXPECT_EQ(routes[0].name(), "by-header");
  EXPECT_EQ(routes[0].match().prefix(), "");
  ASSERT_EQ(routes[0].match().headers_size(), 1);
  EXPECT_EQ(routes[0].match().headers(0).name(), "x-version");
  EXPECT_EQ(routes[0].match().headers(0).exact_match(), "v2");
  EXPECT_EQ(routes[0].route().cluster(), "outbound|9080|v2|echo.default.svc.cluster.local");
  // The v2 subset hashes on x-user (ring hash).
  ASSERT_EQ(routes[0].route().hash_policy_size(), 1);
  EXPECT_EQ(routes[0].route().hash_policy(0).header().header_name(), "x-user");
  HTTPFault fault;
  ASSERT_TRUE(routes[0].typed_per_filter_config().at(kFaultFilterName).UnpackTo(&fault));
  EXPECT_EQ(fault.abort().grpc_status(), 10u);
  EXPECT_EQ(fault.abort().percentage().numerator(), 125000u);
  EXPECT_EQ(fault.abort().percentage().denominator(), envoy::type::v3::FractionalPercent::MILLION);
  EXPECT_EQ(fault.delay().fixed_delay().seconds(), 1);
  EXPECT_EQ(fault.delay().fixed_delay().nanos(), 500000000);
  EXPECT_EQ(fault.delay().percentage().numerator(), 1000000u);

  EXPECT_EQ(routes[1].match().safe_regex().regex(), "/pkg[.]Echo/.*");
  EXPECT_EQ(routes[1].match().headers(0).prefix_match(), "gold");

  const auto& weighted = routes[2].route().weighted_clusters();
  ASSERT_EQ(weighted.clusters_size(), 2);
  EXPECT_EQ(weighted.clusters(0).name(), "outbound|9080|v1|echo.default.svc.cluster.local");
  EXPECT_EQ(weighted.clusters(0).weight().value(), 80u);
  EXPECT_EQ(weighted.clusters(1).weight().value(), 20u);
  // gRPC ignores RouteAction.timeout and uses max_stream_duration.
  EXPECT_EQ(routes[2].route().max_stream_duration().max_stream_duration().seconds(), 2);
  EXPECT_EQ(routes[2].route().timeout().seconds(), 2);
  EXPECT_EQ(routes[2].route().retry_policy().num_retries().value(), 3u);
  EXPECT_NE(routes[2].route().retry_policy().retry_on().find("unavailable"), std::string::npos);
  EXPECT_EQ(routes[2].route().retry_policy().per_try_timeout().nanos(), 500000000);
}

TEST(TranslateTest, ClustersAndEndpointsPerSubset) {
  const auto s = buildSnapshot({echoService()}, routing(kSubsets), nullptr, 1);
  const auto all = resource<cluster_v3::Cluster>(*s, ResourceType::kCluster,
                                                 "outbound|9080||echo.default.svc.cluster.local");
  EXPECT_EQ(all.type(), cluster_v3::Cluster::EDS);
  EXPECT_TRUE(all.eds_cluster_config().eds_config().has_ads());
  EXPECT_EQ(all.eds_cluster_config().service_name(), all.name());
  EXPECT_EQ(all.lb_policy(), cluster_v3::Cluster::ROUND_ROBIN);
  const auto v2 = resource<cluster_v3::Cluster>(*s, ResourceType::kCluster,
                                                "outbound|9080|v2|echo.default.svc.cluster.local");
  EXPECT_EQ(v2.lb_policy(), cluster_v3::Cluster::RING_HASH);

  const auto cla_all = resource<ClusterLoadAssignment>(
      *s, ResourceType::kEndpoint, "outbound|9080||echo.default.svc.cluster.local");
  EXPECT_EQ(cla_all.cluster_name(), "outbound|9080||echo.default.svc.cluster.local");
  ASSERT_EQ(cla_all.endpoints_size(), 2);  // localities r/z1 and r/z2
  EXPECT_EQ(cla_all.endpoints(0).locality().zone(), "z1");
  EXPECT_EQ(cla_all.endpoints(0).load_balancing_weight().value(), 2u);
  EXPECT_EQ(cla_all.endpoints(1).locality().zone(), "z2");
  ASSERT_EQ(cla_all.endpoints(1).lb_endpoints_size(), 1);  // the duplicate is gone
  EXPECT_EQ(cla_all.endpoints(1).lb_endpoints(0).endpoint().address().socket_address().port_value(),
            1002u);

  const auto cla_v1 = resource<ClusterLoadAssignment>(
      *s, ResourceType::kEndpoint, "outbound|9080|v1|echo.default.svc.cluster.local");
  int v1_endpoints = 0;
  for (const auto& l : cla_v1.endpoints()) v1_endpoints += l.lb_endpoints_size();
  EXPECT_EQ(v1_endpoints, 2);
  const auto cla_v2 = resource<ClusterLoadAssignment>(
      *s, ResourceType::kEndpoint, "outbound|9080|v2|echo.default.svc.cluster.local");
  ASSERT_EQ(cla_v2.endpoints_size(), 1);
  EXPECT_EQ(cla_v2.endpoints(0).lb_endpoints(0).health_status(), envoy::config::core::v3::DRAINING);
}

TEST(TranslateTest, DnsServiceEntryIsALogicalDnsCluster) {
  const auto c = routing(R"(apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: ext}
spec:
  hosts: [api.example.org]
  ports: [{number: 443, name: grpc}]
  resolution: DNS
)");
  const auto s = buildSnapshot({}, c, nullptr, 1);
  const auto cl =
      resource<cluster_v3::Cluster>(*s, ResourceType::kCluster, "outbound|443||api.example.org");
  EXPECT_EQ(cl.type(), cluster_v3::Cluster::LOGICAL_DNS);
  EXPECT_EQ(cl.load_assignment()
                .endpoints(0)
                .lb_endpoints(0)
                .endpoint()
                .address()
                .socket_address()
                .address(),
            "api.example.org");
  EXPECT_EQ(s->find(ResourceType::kEndpoint, "outbound|443||api.example.org"), nullptr);
  EXPECT_NE(s->find(ResourceType::kListener, "api.example.org:443"), nullptr);
  EXPECT_EQ(s->find(ResourceType::kListener, "api:443"), nullptr);  // no short forms
}

TEST(TranslateTest, UnchangedResourcesShareThePreviousBytes) {
  const auto c = routing(kSubsets);
  model::Service service = echoService();
  const auto first = buildSnapshot({service}, c, nullptr, 1);
  const auto same = buildSnapshot({service}, c, first.get(), 2);
  EXPECT_EQ(countChanges(*first, *same), (std::array<size_t, kResourceTypeCount>{0, 0, 0, 0}));
  for (ResourceType t : kAllResourceTypes) {
    for (const auto& [name, bytes] : first->resources[static_cast<size_t>(t)]) {
      EXPECT_EQ(same->find(t, name), bytes) << name;  // the same pointer
    }
  }
  // An endpoint-only change (a v2 instance leaves) changes EDS only: the all-instances and the
  // v2 assignments.
  service.instances.pop_back();
  const auto next = buildSnapshot({service}, c, same.get(), 3);
  EXPECT_EQ(countChanges(*same, *next), (std::array<size_t, kResourceTypeCount>{0, 2, 0, 0}));
  EXPECT_NE(next->find(ResourceType::kEndpoint, "outbound|9080|v2|echo.default.svc.cluster.local"),
            same->find(ResourceType::kEndpoint, "outbound|9080|v2|echo.default.svc.cluster.local"));
  EXPECT_EQ(next->find(ResourceType::kEndpoint, "outbound|9080|v1|echo.default.svc.cluster.local"),
            same->find(ResourceType::kEndpoint, "outbound|9080|v1|echo.default.svc.cluster.local"));
}

TEST(TranslateTest, AnEndpointOnlyBuildEqualsAFullBuildAndSharesTheRest) {
  const auto c = routing(kSubsets);
  const std::vector<model::Service> before = {echoService()};
  const auto first = buildSnapshot(before, c, nullptr, 1);
  std::vector<model::Service> after = before;
  after[0].instances[0].port = 7001;
  BuildHints hints;
  hints.previous_services = &before;
  hints.routing_unchanged = true;
  const auto incremental = buildSnapshot(after, c, first.get(), 2, hints);
  const auto full = buildSnapshot(after, c, nullptr, 2);
  for (ResourceType t : kAllResourceTypes) {
    const auto& inc = incremental->resources[static_cast<size_t>(t)];
    ASSERT_EQ(inc.size(), full->resources[static_cast<size_t>(t)].size());
    for (const auto& [name, bytes] : full->resources[static_cast<size_t>(t)]) {
      ASSERT_NE(incremental->find(t, name), nullptr) << name;
      EXPECT_EQ(*incremental->find(t, name), *bytes) << name;
      if (t != ResourceType::kEndpoint) EXPECT_EQ(incremental->find(t, name), first->find(t, name));
    }
  }
  EXPECT_EQ(countChanges(*first, *incremental),
            (std::array<size_t, kResourceTypeCount>{0, 2, 0, 0}));  // all-instances and v1
  // A port change is not endpoint-only: the hint does not apply and clusters change.
  after[0].ports[0].number = 9081;
  const auto moved = buildSnapshot(after, c, first.get(), 3, hints);
  EXPECT_NE(moved->find(ResourceType::kCluster, "outbound|9081||echo.default.svc.cluster.local"),
            nullptr);
}

TEST(TranslateTest, TypeUrls) {
  EXPECT_EQ(typeUrl(ResourceType::kListener),
            "type.googleapis.com/envoy.config.listener.v3.Listener");
  EXPECT_EQ(typeFromUrl("type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"),
            ResourceType::kEndpoint);
  EXPECT_FALSE(typeFromUrl("type.googleapis.com/envoy.api.v2.Listener"));
  // The messages' own full names agree with the type URLs (package names are upstream's).
  EXPECT_EQ(std::string("type.googleapis.com/") + Listener::descriptor()->full_name(),
            typeUrl(ResourceType::kListener));
  EXPECT_EQ(
      std::string("type.googleapis.com/") + route_v3::RouteConfiguration::descriptor()->full_name(),
      typeUrl(ResourceType::kRoute));
  EXPECT_EQ(std::string("type.googleapis.com/") + cluster_v3::Cluster::descriptor()->full_name(),
            typeUrl(ResourceType::kCluster));
  EXPECT_EQ(std::string("type.googleapis.com/") + ClusterLoadAssignment::descriptor()->full_name(),
            typeUrl(ResourceType::kEndpoint));
}

}  // namespace
}  // namespace pilot::xds
