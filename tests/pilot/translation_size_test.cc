// pilot/routing/translation_size: the bound on route entries and subset clusters that a routing
// config would translate into across the ports of the services it applies to.
#include "pilot/routing/translation_size.h"

#include <gtest/gtest.h>

namespace pilot::routing {
namespace {

model::Service serviceWithPorts(const std::string& host, uint32_t ports) {
  model::Service s;
  s.hostname = host;
  for (uint32_t p = 1; p <= ports; ++p) s.ports.push_back({"", p, model::Protocol::kGrpc});
  return s;
}

TEST(TranslationSizeTest, RouteEntriesAreCountedOverTheServicesPorts) {
  // 1,002 route entries (501 matches, one destination) on a host with 100 ports, twice: 200,400.
  std::string vs = R"(apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: NAME}
spec:
  hosts: [HOST]
  http:
  - match: [)";
  for (int i = 0; i < 501; ++i) vs += (i ? ", {}" : "{}");
  vs += "]\n    route: [{destination: {host: HOST}}]\n";
  std::string yaml;
  for (const char* h : {"a", "b"}) {
    std::string one = vs;
    one.replace(one.find("NAME"), 4, h);
    while (one.find("HOST") != std::string::npos) one.replace(one.find("HOST"), 4, h);
    yaml += (yaml.empty() ? "" : "---\n") + one;
  }
  RoutingConfig config;
  std::vector<ConfigError> errors;
  parseRoutingYaml(yaml, "c.yaml", ParseOptions(), &config, &errors);
  ASSERT_TRUE(errors.empty()) << model::formatErrors(errors);
  const std::vector<model::Service> services = {
      serviceWithPorts("a.default.svc.cluster.local", 100),
      serviceWithPorts("b.default.svc.cluster.local", 100)};
  validateTranslationSize(config, {services[0]}, &errors);
  EXPECT_TRUE(errors.empty()) << model::formatErrors(errors);  // 100,200 entries
  validateTranslationSize(config, services, &errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(model::formatError(errors[0]),
            "c.yaml:10: VirtualService b brings the route entries across all "
            "service ports to more than 200000");
}

TEST(TranslationSizeTest, TheRouteEntryBoundIsInclusive) {
  RoutingConfig config;
  VirtualService& vs = config.virtual_services.emplace_back();
  vs.name = "edge";
  vs.hosts = {"h.example.com"};
  vs.origin = Origin{"v.yaml", 5};
  HttpRoute& route = vs.http.emplace_back();
  route.route.resize(1);
  route.matches.resize(1000);  // 1,000 x (1 + 1 destination) = 2,000 entries per port
  std::vector<ConfigError> errors;
  validateTranslationSize(config, {serviceWithPorts("h.example.com", 100)}, &errors);
  EXPECT_TRUE(errors.empty()) << model::formatErrors(errors);  // exactly 200,000
  route.matches.resize(1001);                                  // 200,200
  validateTranslationSize(config, {serviceWithPorts("h.example.com", 100)}, &errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(model::formatError(errors[0]),
            "v.yaml:5: VirtualService edge brings the route entries across all service ports to "
            "more than 200000");
}

TEST(TranslationSizeTest, SubsetClustersAreCountedOverTheServicesPorts) {
  RoutingConfig config;
  DestinationRule& dr = config.destination_rules.emplace_back();
  dr.name = "many";
  dr.host = "h.example.com";
  dr.origin = Origin{"d.yaml", 3};
  dr.subsets.resize(1000);
  std::vector<ConfigError> errors;
  // 1,000 subsets x 100 ports: exactly the bound.
  validateTranslationSize(config, {serviceWithPorts("h.example.com", 100)}, &errors);
  EXPECT_TRUE(errors.empty()) << model::formatErrors(errors);
  // A host nobody serves translates into nothing.
  validateTranslationSize(config, {serviceWithPorts("other.example.com", 101)}, &errors);
  EXPECT_TRUE(errors.empty()) << model::formatErrors(errors);
  // 1,000 x 101: over it.
  validateTranslationSize(config, {serviceWithPorts("h.example.com", 101)}, &errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(model::formatError(errors[0]),
            "d.yaml:3: DestinationRule many brings the subset clusters across all service ports "
            "to more than 100000");
}

TEST(TranslationSizeTest, ServiceEntriesCountUnlessARegistryServiceHasTheHost) {
  RoutingConfig config;
  config.service_entries.push_back(serviceWithPorts("h.example.com", 101));
  DestinationRule& dr = config.destination_rules.emplace_back();
  dr.name = "many";
  dr.host = "h.example.com";
  dr.origin = Origin{"d.yaml", 3};
  dr.subsets.resize(1000);
  std::vector<ConfigError> errors;
  // The ServiceEntry's 101 ports: 101,000 clusters.
  validateTranslationSize(config, {}, &errors);
  EXPECT_EQ(errors.size(), 1u) << model::formatErrors(errors);
  // A registry service of the same host (one port) is what counts.
  errors.clear();
  validateTranslationSize(config, {serviceWithPorts("h.example.com", 1)}, &errors);
  EXPECT_TRUE(errors.empty()) << model::formatErrors(errors);
}

}  // namespace
}  // namespace pilot::routing
