// pilot/model/service: protocol, health and locality names, host expansion, port lookup, the
// shape comparison the translation uses, and the file:line form of configuration errors.
#include "pilot/model/service.h"

#include <gtest/gtest.h>

namespace pilot::model {
namespace {

TEST(ProtocolTest, IstioNamesCaseInsensitively) {
  EXPECT_EQ(parseProtocol("GRPC"), Protocol::kGrpc);
  EXPECT_EQ(parseProtocol("grpc"), Protocol::kGrpc);
  EXPECT_EQ(parseProtocol("Http2"), Protocol::kHttp2);
  EXPECT_EQ(parseProtocol("http"), Protocol::kHttp);
  EXPECT_EQ(parseProtocol("TCP"), Protocol::kTcp);
  EXPECT_FALSE(parseProtocol("QUIC"));
  EXPECT_FALSE(parseProtocol(""));
  EXPECT_EQ(protocolName(Protocol::kGrpc), "GRPC");
  EXPECT_EQ(protocolName(Protocol::kHttp2), "HTTP2");
  EXPECT_EQ(protocolName(Protocol::kHttp), "HTTP");
  EXPECT_EQ(protocolName(Protocol::kTcp), "TCP");
}

TEST(HealthTest, NamesCaseInsensitively) {
  EXPECT_EQ(parseHealth("healthy"), Health::kHealthy);
  EXPECT_EQ(parseHealth("UNHEALTHY"), Health::kUnhealthy);
  EXPECT_EQ(parseHealth("Draining"), Health::kDraining);
  EXPECT_EQ(parseHealth("unknown"), Health::kUnknown);
  EXPECT_FALSE(parseHealth("sick"));
  EXPECT_EQ(healthName(Health::kHealthy), "HEALTHY");
  EXPECT_EQ(healthName(Health::kUnhealthy), "UNHEALTHY");
  EXPECT_EQ(healthName(Health::kDraining), "DRAINING");
  EXPECT_EQ(healthName(Health::kUnknown), "UNKNOWN");
}

TEST(LocalityTest, ParsesPartialForms) {
  EXPECT_EQ(parseLocality(""), (Locality{"", "", ""}));
  EXPECT_EQ(parseLocality("r"), (Locality{"r", "", ""}));
  EXPECT_EQ(parseLocality("r/z"), (Locality{"r", "z", ""}));
  EXPECT_EQ(parseLocality("r/z/s/x"), (Locality{"r", "z", "s/x"}));
}

TEST(ExpandHostTest, ShortHostsGetTheNamespaceAndDomain) {
  EXPECT_EQ(expandHost("reviews", "shop", "svc.cluster.local"), "reviews.shop.svc.cluster.local");
  EXPECT_EQ(expandHost("reviews.other", "shop", "svc.corp"), "reviews.other.svc.corp");
  EXPECT_EQ(expandHost("api.example.com", "shop", "svc.corp"), "api.example.com");
}

TEST(ServiceTest, FindPortByNumber) {
  Service s;
  s.ports = {{"grpc", 9080, Protocol::kGrpc}, {"http", 80, Protocol::kHttp}};
  ASSERT_NE(s.findPort(80), nullptr);
  EXPECT_EQ(s.findPort(80)->name, "http");
  EXPECT_EQ(s.findPort(9080), &s.ports[0]);
  EXPECT_EQ(s.findPort(81), nullptr);
}

TEST(ServiceTest, SameShapeIgnoresOnlyInstancesAndOrigin) {
  Service a;
  a.hostname = "a.default.svc.cluster.local";
  a.ports = {{"grpc", 9080, Protocol::kGrpc}};
  Service b = a;
  b.instances.push_back(ServiceInstance{"10.0.0.1", 1001, 9080, {}, {}, Health::kHealthy});
  b.origin = "r.yaml:3";
  EXPECT_TRUE(a.sameShape(b));
  Service c = a;
  c.address = "10.96.0.1";
  EXPECT_FALSE(a.sameShape(c));
  Service d = a;
  d.ports[0].protocol = Protocol::kHttp;
  EXPECT_FALSE(a.sameShape(d));
  Service e = a;
  e.service_accounts = {"spiffe://cluster.local/ns/default/sa/a"};
  EXPECT_FALSE(a.sameShape(e));
  Service f = a;
  f.resolution = Resolution::kDns;
  EXPECT_FALSE(a.sameShape(f));
}

TEST(ConfigErrorTest, FileLineMessage) {
  const ConfigError e{{"c.yaml", 12, 4}, "bad"};
  EXPECT_EQ(formatError(e), "c.yaml:12: bad");
  EXPECT_EQ(formatError(ConfigError{{"e.yaml", 0}, "whole file"}), "e.yaml:0: whole file");
  EXPECT_EQ(formatErrors({e, ConfigError{{"d.yaml", 1}, "worse"}}),
            "c.yaml:12: bad\nd.yaml:1: worse\n");
  EXPECT_EQ(formatErrors({}), "");
}

}  // namespace
}  // namespace pilot::model
