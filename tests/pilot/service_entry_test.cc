// pilot/model/service_entry: a ServiceEntry spec read into services of the model (one per host,
// endpoints as instances), with its size bounds and file:line errors.
#include "pilot/model/service_entry.h"

#include <gtest/gtest.h>

namespace pilot::model {
namespace {

struct Parsed {
  std::vector<Service> services;
  std::vector<ConfigError> errors;
  std::string errorText() const { return formatErrors(errors); }
};

// Parses the spec of `yaml` (a whole document of "c.yaml") as a ServiceEntry in namespace "shop".
Parsed parse(const std::string& yaml) {
  Parsed p;
  YamlReader r("c.yaml", &p.errors);
  const std::vector<YAML::Node> docs = loadDocuments(yaml, &r);
  if (docs.size() != 1) {
    ADD_FAILURE() << "expected one document: " << p.errorText();
    return p;
  }
  p.services = parseServiceEntry(docs[0]["spec"], "c.yaml:1", "shop", "svc.cluster.local", r);
  return p;
}

std::string spec(const std::string& body) {
  return "apiVersion: networking.istio.io/v1beta1\nkind: ServiceEntry\nmetadata: {name: e}\n" +
         body;
}

TEST(ServiceEntryTest, StaticEndpointsBecomeInstancesPerPort) {
  const Parsed p = parse(spec(R"(spec:
  hosts: [payments.example.com]
  addresses: [240.0.0.1]
  ports: [{number: 443, name: grpc, protocol: GRPC, targetPort: 8443}]
  resolution: STATIC
  endpoints:
  - {address: 10.9.0.1, labels: {version: v1}, locality: eu/z1}
  - {address: 10.9.0.2, ports: {grpc: 9443}}
)"));
  ASSERT_TRUE(p.errors.empty()) << p.errorText();
  ASSERT_EQ(p.services.size(), 1u);
  const Service& s = p.services[0];
  EXPECT_EQ(s.hostname, "payments.example.com");
  EXPECT_EQ(s.address, "240.0.0.1");
  EXPECT_EQ(s.origin, "c.yaml:1");
  EXPECT_EQ(s.resolution, Resolution::kStatic);
  ASSERT_EQ(s.ports.size(), 1u);
  EXPECT_EQ(s.ports[0], (ServicePort{"grpc", 443, Protocol::kGrpc}));
  ASSERT_EQ(s.instances.size(), 2u);
  EXPECT_EQ(s.instances[0].address, "10.9.0.1");
  EXPECT_EQ(s.instances[0].port, 8443u);  // the targetPort
  EXPECT_EQ(s.instances[0].service_port, 443u);
  EXPECT_EQ(s.instances[0].labels.at("version"), "v1");
  EXPECT_EQ(s.instances[0].locality, (Locality{"eu", "z1", ""}));
  EXPECT_EQ(s.instances[1].port, 9443u);  // the endpoint's own port for "grpc"
}

TEST(ServiceEntryTest, DnsWithoutEndpointsResolvesEachHostItself) {
  const Parsed p = parse(spec(R"(spec:
  hosts: [api.example.org, api2]
  ports: [{number: 80, name: http, protocol: HTTP}, {number: 81, targetPort: 8081}]
  resolution: DNS
)"));
  ASSERT_TRUE(p.errors.empty()) << p.errorText();
  ASSERT_EQ(p.services.size(), 2u);
  EXPECT_EQ(p.services[0].hostname, "api.example.org");
  EXPECT_EQ(p.services[1].hostname, "api2.shop.svc.cluster.local");  // short host expanded
  for (const Service& s : p.services) {
    EXPECT_EQ(s.resolution, Resolution::kDns);
    ASSERT_EQ(s.instances.size(), 2u);
    EXPECT_EQ(s.instances[0].address, s.hostname);
    EXPECT_EQ(s.instances[0].port, 80u);
    EXPECT_EQ(s.instances[0].service_port, 80u);
    EXPECT_EQ(s.instances[1].port, 8081u);
    EXPECT_EQ(s.instances[1].service_port, 81u);
  }
  EXPECT_EQ(p.services[0].ports[0].protocol, Protocol::kHttp);
  EXPECT_EQ(p.services[0].ports[1].protocol, Protocol::kGrpc);  // the default
}

TEST(ServiceEntryTest, HostTimesPortCombinationsAreBounded) {
  // 200 hosts x 60 ports = 12,000 > 10,000.
  std::string se = spec("spec:\n  hosts: [");
  for (int i = 0; i < 200; ++i) se += (i ? ", h" : "h") + std::to_string(i) + ".example.com";
  se += "]\n  ports: [";
  for (int i = 0; i < 60; ++i) {
    se += (i ? ", {number: " : "{number: ") + std::to_string(i + 1) + "}";
  }
  se += "]\n  resolution: DNS\n";
  const Parsed p = parse(se);
  EXPECT_TRUE(p.services.empty());
  EXPECT_NE(p.errorText().find("c.yaml:6: ServiceEntry has 12000 host x port combinations, more "
                               "than 10000"),
            std::string::npos)
      << p.errorText();
}

TEST(ServiceEntryTest, PortsPerEntryAreBounded) {
  std::string se = spec("spec:\n  hosts: [h.example.com]\n  resolution: DNS\n  ports: [");
  for (int i = 0; i < 101; ++i) {
    se += (i ? ", {number: " : "{number: ") + std::to_string(i + 1) + "}";
  }
  se += "]\n";
  const Parsed p = parse(se);
  EXPECT_TRUE(p.services.empty());
  EXPECT_NE(p.errorText().find("c.yaml:7: ServiceEntry has 101 ports, more than 100"),
            std::string::npos)
      << p.errorText();
}

struct BadCase {
  const char* spec;   // appended to a ServiceEntry header (spec: at line 4)
  const char* error;  // expected in the errors
};

class ServiceEntryErrorTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(ServiceEntryErrorTest, ReportsFileAndLineAndYieldsNoService) {
  const Parsed p = parse(spec(GetParam().spec));
  EXPECT_TRUE(p.services.empty());
  EXPECT_NE(p.errorText().find(GetParam().error), std::string::npos) << p.errorText();
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ServiceEntryErrorTest,
    ::testing::Values(
        BadCase{"spec:\n  hosts: [a.example.com]\n  resolution: NONE\n  ports: [{number: 1}]\n",
                "c.yaml:6: resolution must be STATIC or DNS for proxyless clients, got 'NONE'"},
        BadCase{"spec:\n  hosts: [a.example.com]\n  resolution: DNS\n",
                "c.yaml:5: ServiceEntry needs ports"},
        BadCase{"spec:\n  hosts: [a.example.com]\n  resolution: DNS\n  ports:\n"
                "  - {number: 80}\n  - {number: 80}\n",
                "c.yaml:9: port 80 is declared twice"},
        BadCase{"spec:\n  hosts: [a.example.com]\n  resolution: DNS\n"
                "  ports: [{number: 80, protocol: QUIC}]\n",
                "c.yaml:7: unknown protocol 'QUIC'"},
        BadCase{"spec:\n  hosts: [a.example.com]\n  resolution: STATIC\n  ports: [{number: 80}]\n"
                "  endpoints: [{address: db.internal}]\n",
                "c.yaml:8: STATIC endpoint address must be an IP, got 'db.internal'"},
        BadCase{"spec:\n  hosts: [a.example.com]\n  resolution: STATIC\n"
                "  ports: [{number: 80, name: web}]\n"
                "  endpoints: [{address: 10.0.0.1, ports: {web: \"70000\"}}]\n",
                "c.yaml:8: endpoint port '70000' is not a port number"},
        BadCase{"spec:\n  hosts: [a.example.com]\n  resolution: STATIC\n  ports: [{number: 80}]\n"
                "  endpoints: [{address: \"10.0.0.1/8\"}]\n",
                "c.yaml:8: endpoint address '10.0.0.1/8' is neither an IP nor a DNS name"},
        BadCase{"spec:\n  hosts: [\"a b\"]\n  resolution: DNS\n  ports: [{number: 80}]\n",
                "c.yaml:5: host 'a b' is not a DNS name"},
        BadCase{"spec:\n  hosts: [a.example.com]\n  workloadSelector: {}\n",
                "c.yaml:6: field 'workloadSelector' of a ServiceEntry is not supported"}));

}  // namespace
}  // namespace pilot::model
