#include "pilot/config/routing.h"
#include "pilot/model/yaml_reader.h"

#include <gtest/gtest.h>

namespace pilot::config {
namespace {

RoutingConfig parseOk(const std::string& yaml) {
  RoutingConfig config;
  std::vector<ConfigError> errors;
  parseRoutingYaml(yaml, "c.yaml", ParseOptions(), &config, &errors);
  validateRouting(config, &errors);
  EXPECT_TRUE(errors.empty()) << model::formatErrors(errors);
  return config;
}

std::string parseErrors(const std::string& yaml) {
  RoutingConfig config;
  std::vector<ConfigError> errors;
  parseRoutingYaml(yaml, "c.yaml", ParseOptions(), &config, &errors);
  validateRouting(config, &errors);
  return model::formatErrors(errors);
}

TEST(RoutingTest, VirtualServiceWithMatchesWeightsFaultTimeoutAndRetries) {
  const RoutingConfig c = parseOk(R"(apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: reviews, namespace: shop}
spec:
  hosts: [reviews]
  http:
  - name: canary
    match:
    - uri: {prefix: /reviews.Reviews/}
      headers:
        X-User: {exact: jason}
        x-group: {regex: "beta-.*"}
    - uri: {exact: /reviews.Reviews/Get}
      ignoreUriCase: true
    route:
    - {destination: {host: reviews, subset: v1, port: {number: 9080}}, weight: 75}
    - {destination: {host: reviews.other, subset: v2}, weight: 25}
    timeout: 1.5s
    retries: {attempts: 3, perTryTimeout: 250ms, retryOn: unavailable}
    fault:
      delay: {fixedDelay: 2s, percentage: {value: 12.5}}
      abort: {grpcStatus: UNAVAILABLE, percentage: {value: 100}}
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: reviews, namespace: shop}
spec:
  host: reviews
  subsets: [{name: v1, labels: {version: v1}}]
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: other, namespace: shop}
spec:
  host: reviews.other
  subsets: [{name: v2, labels: {version: v2}}]
)");
  ASSERT_EQ(c.virtual_services.size(), 1u);
  const VirtualService& vs = c.virtual_services[0];
  EXPECT_EQ(vs.hosts, std::vector<std::string>{"reviews.shop.svc.cluster.local"});
  EXPECT_EQ(vs.origin.str(), "c.yaml:1");
  ASSERT_EQ(vs.http.size(), 1u);
  const HttpRoute& r = vs.http[0];
  EXPECT_EQ(r.name, "canary");
  EXPECT_EQ(r.line, 7);
  ASSERT_EQ(r.matches.size(), 2u);
  EXPECT_EQ(r.matches[0].uri->kind, StringMatch::Kind::kPrefix);
  ASSERT_EQ(r.matches[0].headers.size(), 2u);
  EXPECT_EQ(r.matches[0].headers[0].first, "x-group");  // lower-cased and sorted
  EXPECT_EQ(r.matches[0].headers[0].second.kind, StringMatch::Kind::kRegex);
  EXPECT_EQ(r.matches[0].headers[1].first, "x-user");
  EXPECT_TRUE(r.matches[1].ignore_uri_case);
  ASSERT_EQ(r.route.size(), 2u);
  EXPECT_EQ(r.route[0].destination.host, "reviews.shop.svc.cluster.local");
  EXPECT_EQ(r.route[0].destination.port, 9080u);
  EXPECT_EQ(r.route[0].weight, 75u);
  EXPECT_EQ(r.route[1].destination.host, "reviews.other.svc.cluster.local");
  EXPECT_EQ(r.timeout, std::chrono::milliseconds(1500));
  EXPECT_EQ(r.retries->attempts, 3u);
  EXPECT_EQ(r.retries->per_try_timeout, std::chrono::milliseconds(250));
  EXPECT_EQ(r.fault->delay->fixed_delay, std::chrono::milliseconds(2000));
  EXPECT_DOUBLE_EQ(r.fault->delay->percent, 12.5);
  EXPECT_EQ(r.fault->abort->grpc_status, 14u);
  ASSERT_EQ(c.destination_rules.size(), 2u);
  EXPECT_NE(c.virtualServiceFor("reviews.shop.svc.cluster.local"), nullptr);
  EXPECT_NE(c.destinationRuleFor("reviews.other.svc.cluster.local"), nullptr);
}

TEST(RoutingTest, DestinationRuleLoadBalancers) {
  const RoutingConfig c = parseOk(R"(apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: r}
spec:
  host: ratings.prod.svc.cluster.local
  trafficPolicy:
    loadBalancer: {simple: LEAST_REQUEST}
  subsets:
  - name: sticky
    labels: {version: v3}
    trafficPolicy:
      loadBalancer:
        consistentHash: {httpHeaderName: x-user, minimumRingSize: 1024}
)");
  const DestinationRule& dr = c.destination_rules[0];
  EXPECT_EQ(dr.host, "ratings.prod.svc.cluster.local");
  EXPECT_EQ(dr.load_balancer->kind, LoadBalancer::Kind::kLeastRequest);
  const Subset* s = dr.findSubset("sticky");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->labels.at("version"), "v3");
  EXPECT_EQ(s->load_balancer->kind, LoadBalancer::Kind::kRingHash);
  EXPECT_EQ(s->load_balancer->hash_header, "x-user");
  EXPECT_EQ(s->load_balancer->minimum_ring_size, 1024u);
}

TEST(RoutingTest, ServiceEntriesBecomeServices) {
  const RoutingConfig c = parseOk(R"(apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: ext, namespace: default}
spec:
  hosts: [payments.example.com]
  ports: [{number: 443, name: grpc, protocol: GRPC, targetPort: 8443}]
  resolution: STATIC
  endpoints:
  - {address: 10.9.0.1, labels: {version: v1}, locality: eu/z1}
  - {address: 10.9.0.2, ports: {grpc: 9443}}
---
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: dns}
spec:
  hosts: [api.example.org]
  ports: [{number: 80, name: http}]
  resolution: DNS
)");
  ASSERT_EQ(c.service_entries.size(), 2u);
  const model::Service& s = c.service_entries[0];
  EXPECT_EQ(s.hostname, "payments.example.com");
  ASSERT_EQ(s.instances.size(), 2u);
  EXPECT_EQ(s.instances[0].port, 8443u);
  EXPECT_EQ(s.instances[0].service_port, 443u);
  EXPECT_EQ(s.instances[0].locality.region, "eu");
  EXPECT_EQ(s.instances[1].port, 9443u);
  const model::Service& d = c.service_entries[1];
  EXPECT_EQ(d.resolution, model::Resolution::kDns);
  ASSERT_EQ(d.instances.size(), 1u);
  EXPECT_EQ(d.instances[0].address, "api.example.org");
}

TEST(RoutingTest, HostExpansion) {
  ParseOptions o;
  EXPECT_EQ(expandHost("reviews", "shop", o), "reviews.shop.svc.cluster.local");
  EXPECT_EQ(expandHost("reviews.other", "shop", o), "reviews.other.svc.cluster.local");
  EXPECT_EQ(expandHost("reviews.other.svc.cluster.local", "shop", o),
            "reviews.other.svc.cluster.local");
  o.domain_suffix = "svc.corp";
  EXPECT_EQ(expandHost("a", "b", o), "a.b.svc.corp");
}

struct BadCase {
  const char* spec;   // appended to a VirtualService header (spec: at line 4)
  const char* error;  // expected in the errors
};

class VirtualServiceErrorTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(VirtualServiceErrorTest, ReportsFileAndLine) {
  const std::string yaml = std::string(
                               "apiVersion: networking.istio.io/v1beta1\n"
                               "kind: VirtualService\n"
                               "metadata: {name: x}\n") +
                           GetParam().spec;
  const std::string errors = parseErrors(yaml);
  EXPECT_NE(errors.find(GetParam().error), std::string::npos) << errors;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, VirtualServiceErrorTest,
    ::testing::Values(
        BadCase{"spec:\n  hosts: [a]\n  htp: []\n", "c.yaml:6: unknown field 'htp'"},
        BadCase{"spec:\n  http: []\n", "c.yaml:5: missing required field 'hosts'"},
        BadCase{"spec:\n  hosts: [a]\n  http:\n  - match: [{uri: {exact: /a, prefix: /b}}]\n"
                "    route: [{destination: {host: a}}]\n",
                "c.yaml:7: uri match needs exactly one of exact, prefix, regex"},
        BadCase{"spec:\n  hosts: [a]\n  http:\n  - match: [{uri: {regex: \"(\"}}]\n"
                "    route: [{destination: {host: a}}]\n",
                "c.yaml:7: invalid regex '('"},
        BadCase{"spec:\n  hosts: [a]\n  http:\n  - route:\n    - {destination: {host: a}, weight: "
                "60}\n    - {destination: {host: a}, weight: 30}\n",
                "c.yaml:8: route weights must add up to 100, got 90"},
        BadCase{"spec:\n  hosts: [a]\n  http:\n  - route: [{destination: {host: a}}]\n"
                "    timeout: 1 second\n",
                "c.yaml:8: field 'timeout' must be a duration"},
        BadCase{"spec:\n  hosts: [a]\n  http:\n  - route: [{destination: {host: a}}]\n"
                "    fault: {abort: {grpcStatus: NOPE}}\n",
                "c.yaml:8: grpcStatus must be a non-OK gRPC status name"},
        BadCase{"spec:\n  hosts: [a]\n  http:\n  - route: [{destination: {host: a}}]\n"
                "    fault: {abort: {httpStatus: 503, percentage: {value: 101}}}\n",
                "c.yaml:8: field 'value' must be in [0"},
        BadCase{"spec:\n  hosts: [a]\n  http:\n  - route: [{destination: {host: a}}]\n"
                "    rewrite: {uri: /b}\n",
                "c.yaml:8: field 'rewrite' of an http route is not supported"},
        BadCase{"spec:\n  hosts: [a]\n  http:\n  - match: [{headers: {\":authority\": {exact: "
                "x}}}]\n    route: [{destination: {host: a}}]\n",
                "c.yaml:7: header match needs an application header name"},
        BadCase{"spec:\n  hosts: [a]\n  http:\n  - route: [{destination: {host: a, subset: v9}}]\n",
                "c.yaml:7: subset 'v9' of a.default.svc.cluster.local is not defined"},
        BadCase{"spec:\n  hosts: [a]\n  http:\n  - fault: {}\n",
                "c.yaml:7: http route needs a "
                "'route' list"},
        BadCase{"spec:\n  hosts: [a\xfe]\n", "c.yaml:5: field 'hosts' is not valid UTF-8"},
        BadCase{"spec:\n  hosts: [a/b]\n", "c.yaml:5: host 'a/b' is not a service host"},
        BadCase{"spec:\n  hosts: [a]\n  http:\n  - route: [{destination: {host: \"a b\"}}]\n",
                "c.yaml:7: destination host 'a b' is not a DNS name"},
        BadCase{"spec:\n  hosts: [a]\n  tcp: []\n",
                "c.yaml:6: field 'tcp' of a VirtualService is not supported"}));

TEST(RoutingTest, DocumentLevelErrors) {
  EXPECT_NE(parseErrors("apiVersion: networking.istio.io/v1beta1\nkind: Gateway\nmetadata: "
                        "{name: g}\nspec: {}\n")
                .find("c.yaml:2: unsupported kind 'Gateway'"),
            std::string::npos);
  EXPECT_NE(parseErrors("apiVersion: config.istio.io/v1alpha2\nkind: VirtualService\n")
                .find("c.yaml:1: apiVersion must be networking.istio.io"),
            std::string::npos);
  EXPECT_NE(parseErrors("apiVersion: networking.istio.io/v1beta1\nkind: VirtualService\n")
                .find("c.yaml:1: missing required field 'metadata'"),
            std::string::npos);
  EXPECT_NE(parseErrors("kind: [\n").find("YAML syntax error"), std::string::npos);
}

TEST(RoutingTest, OneVirtualServiceAndOneDestinationRulePerHost) {
  const std::string vs = R"(apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: NAME}
spec:
  hosts: [a]
  http: [{route: [{destination: {host: a}}]}]
)";
  std::string two = vs + "---\n" + vs;
  two.replace(two.find("NAME"), 4, "first");
  two.replace(two.find("NAME"), 4, "second");
  EXPECT_NE(parseErrors(two).find("c.yaml:8: host a.default.svc.cluster.local already has "
                                  "VirtualService first at c.yaml:1"),
            std::string::npos)
      << parseErrors(two);
}

TEST(RoutingTest, DestinationRuleErrors) {
  const std::string errors = parseErrors(R"(apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: d}
spec:
  host: a
  trafficPolicy:
    loadBalancer: {simple: PASSTHROUGH}
    outlierDetection: {}
  subsets:
  - {name: v1}
  - {name: v1}
)");
  EXPECT_NE(errors.find("c.yaml:7: unsupported load balancer 'PASSTHROUGH'"), std::string::npos)
      << errors;
  EXPECT_NE(errors.find("c.yaml:8: field 'outlierDetection' of a trafficPolicy is not supported"),
            std::string::npos)
      << errors;
  EXPECT_NE(errors.find("c.yaml:11: subset 'v1' is defined twice"), std::string::npos) << errors;
}

TEST(RoutingTest, AliasExpansionAndServiceEntrySizeAreBounded) {
  // Nine levels of ten aliases each: a billion nodes from a few hundred bytes.
  std::string yaml = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 9; ++i) {
    yaml += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int j = 0; j < 10; ++j) yaml += (j ? ", *a" : "*a") + std::to_string(i - 1);
    yaml += "]\n";
  }
  EXPECT_NE(parseErrors(yaml).find("c.yaml:1: document is larger than 50000 nodes"),
            std::string::npos)
      << parseErrors(yaml);

  std::string se = R"(apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: big}
spec:
  hosts: [)";
  for (int i = 0; i < 200; ++i) se += (i ? ", h" : "h") + std::to_string(i) + ".example.com";
  se += "]\n  ports: [";
  for (int i = 0; i < 60; ++i)
    se += (i ? ", {number: " : "{number: ") + std::to_string(i + 1) + "}";
  se += "]\n  resolution: DNS\n";
  EXPECT_NE(parseErrors(se).find("c.yaml:6: ServiceEntry has 12000 host x port combinations"),
            std::string::npos)
      << parseErrors(se);
}

TEST(RoutingTest, RouteTablesAndPortsAreBounded) {
  // 150 matches (one alias) in each of 150 routes: 45,000 route entries from 22,500 nodes.
  std::string vs = R"(apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: big}
spec:
  hosts: [a]
  http:
  - match: &m [)";
  for (int i = 0; i < 150; ++i) vs += (i ? ", {}" : "{}");
  vs += "]\n    route: [{destination: {host: a}}]\n";
  for (int i = 1; i < 150; ++i) vs += "  - {match: *m, route: [{destination: {host: a}}]}\n";
  EXPECT_NE(parseErrors(vs).find("c.yaml:7: VirtualService has 45000 route entries"),
            std::string::npos)
      << parseErrors(vs).substr(0, 300);

  std::string se = R"(apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: many-ports}
spec:
  hosts: [h.example.com]
  resolution: DNS
  ports: [)";
  for (int i = 0; i < 101; ++i)
    se += (i ? ", {number: " : "{number: ") + std::to_string(i + 1) + "}";
  se += "]\n";
  EXPECT_NE(parseErrors(se).find("c.yaml:7: ServiceEntry has 101 ports, more than 100"),
            std::string::npos)
      << parseErrors(se);
}

TEST(RoutingTest, TranslationSizeIsCheckedAgainstTheServicesPorts) {
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
  std::vector<model::Service> services(2);
  services[0].hostname = "a.default.svc.cluster.local";
  services[1].hostname = "b.default.svc.cluster.local";
  for (auto& s : services) {
    for (uint32_t p = 1; p <= 100; ++p) s.ports.push_back({"", p, model::Protocol::kGrpc});
  }
  validateTranslationSize(config, {services[0]}, &errors);
  EXPECT_TRUE(errors.empty()) << model::formatErrors(errors);  // 100,200 entries
  validateTranslationSize(config, services, &errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].str(),
            "c.yaml:10: VirtualService b brings the route entries across all "
            "service ports to more than 200000");
}

TEST(RoutingTest, DocumentsAreSplitAtMarkersWithFilePositions) {
  // YAML::LoadAll produces documents without end for this input; documents are split first.
  EXPECT_NE(parseErrors("[ b]\n,").find("c.yaml:"), std::string::npos);
  const std::string errors = parseErrors(
      "--- \napiVersion: networking.istio.io/v1beta1\nkind: Gateway\nmetadata: {name: g}\n"
      "spec: {}\n...\n---\nkind: Sidecar\n");
  EXPECT_NE(errors.find("c.yaml:3: unsupported kind 'Gateway'"), std::string::npos) << errors;
  EXPECT_NE(errors.find("c.yaml:8: missing required field 'apiVersion'"), std::string::npos)
      << errors;
}

TEST(DurationTest, IstioForms) {
  EXPECT_EQ(model::parseDuration("1s"), std::chrono::milliseconds(1000));
  EXPECT_EQ(model::parseDuration("250ms"), std::chrono::milliseconds(250));
  EXPECT_EQ(model::parseDuration("1.5s"), std::chrono::milliseconds(1500));
  EXPECT_EQ(model::parseDuration("2m"), std::chrono::milliseconds(120000));
  EXPECT_EQ(model::parseDuration("1h"), std::chrono::milliseconds(3600000));
  EXPECT_FALSE(model::parseDuration("s"));
  EXPECT_FALSE(model::parseDuration("-1s"));
  EXPECT_FALSE(model::parseDuration("10"));
  EXPECT_FALSE(model::parseDuration("1e300h"));
}

}  // namespace
}  // namespace pilot::config
