// pilot/routing/destination_rule: one DestinationRule spec read into its host, subsets and load
// balancers, with file:line errors.
#include "pilot/routing/destination_rule.h"

#include <gtest/gtest.h>

namespace pilot::routing {
namespace {

struct Parsed {
  std::optional<DestinationRule> dr;
  std::vector<model::ConfigError> errors;
  std::string errorText() const { return model::formatErrors(errors); }
};

// Parses the spec of `yaml` (a whole document of "c.yaml") as the DestinationRule "d" in "shop".
Parsed parse(const std::string& yaml) {
  Parsed p;
  model::YamlReader r("c.yaml", &p.errors);
  const std::vector<YAML::Node> docs = model::loadDocuments(yaml, &r);
  if (docs.size() != 1) {
    ADD_FAILURE() << "expected one document: " << p.errorText();
    return p;
  }
  p.dr = parseDestinationRule(docs[0]["spec"], Origin{"c.yaml", 1}, "d", "shop", r, ParseOptions());
  return p;
}

std::string spec(const std::string& body) {
  return "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: d}\n" + body;
}

TEST(DestinationRuleTest, LoadBalancersOfTheHostAndOfASubset) {
  const Parsed p = parse(spec(R"(spec:
  host: ratings.prod.svc.cluster.local
  trafficPolicy:
    loadBalancer: {simple: LEAST_REQUEST}
  subsets:
  - name: sticky
    labels: {version: v3}
    trafficPolicy:
      loadBalancer:
        consistentHash: {httpHeaderName: x-user, minimumRingSize: 1024}
  - name: plain
    labels: {version: v1}
)"));
  ASSERT_TRUE(p.errors.empty()) << p.errorText();
  ASSERT_TRUE(p.dr.has_value());
  const DestinationRule& dr = *p.dr;
  EXPECT_EQ(dr.name, "d");
  EXPECT_EQ(dr.namespace_, "shop");
  EXPECT_EQ(dr.origin.str(), "c.yaml:1");
  EXPECT_EQ(dr.host, "ratings.prod.svc.cluster.local");
  EXPECT_EQ(dr.load_balancer->kind, LoadBalancer::Kind::kLeastRequest);
  const Subset* s = dr.findSubset("sticky");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->labels.at("version"), "v3");
  EXPECT_EQ(s->load_balancer->kind, LoadBalancer::Kind::kRingHash);
  EXPECT_EQ(s->load_balancer->hash_header, "x-user");
  EXPECT_EQ(s->load_balancer->minimum_ring_size, 1024u);
  const Subset* plain = dr.findSubset("plain");
  ASSERT_NE(plain, nullptr);
  EXPECT_FALSE(plain->load_balancer.has_value());
  EXPECT_EQ(dr.findSubset("v9"), nullptr);
}

TEST(DestinationRuleTest, ShortHostIsExpandedInTheNamespace) {
  const Parsed p = parse(spec("spec:\n  host: ratings\n"));
  ASSERT_TRUE(p.dr.has_value()) << p.errorText();
  EXPECT_EQ(p.dr->host, "ratings.shop.svc.cluster.local");
  EXPECT_FALSE(p.dr->load_balancer.has_value());
  EXPECT_TRUE(p.dr->subsets.empty());
}

TEST(DestinationRuleTest, SimpleLoadBalancerNames) {
  const auto kindOf = [](const char* simple) {
    const Parsed p = parse(spec(std::string("spec:\n  host: a\n  trafficPolicy:\n    loadBalancer: "
                                            "{simple: ") +
                                simple + "}\n"));
    EXPECT_TRUE(p.errors.empty()) << p.errorText();
    return p.dr->load_balancer->kind;
  };
  EXPECT_EQ(kindOf("ROUND_ROBIN"), LoadBalancer::Kind::kRoundRobin);
  EXPECT_EQ(kindOf("UNSPECIFIED"), LoadBalancer::Kind::kRoundRobin);
  EXPECT_EQ(kindOf("LEAST_CONN"), LoadBalancer::Kind::kLeastRequest);
  EXPECT_EQ(kindOf("RANDOM"), LoadBalancer::Kind::kRandom);
}

TEST(DestinationRuleTest, Errors) {
  const Parsed p = parse(spec(R"(spec:
  host: a
  trafficPolicy:
    loadBalancer: {simple: PASSTHROUGH}
    outlierDetection: {}
  subsets:
  - {name: v1}
  - {name: v1}
)"));
  const std::string errors = p.errorText();
  EXPECT_FALSE(p.dr.has_value());
  EXPECT_NE(errors.find("c.yaml:7: unsupported load balancer 'PASSTHROUGH'"), std::string::npos)
      << errors;
  EXPECT_NE(errors.find("c.yaml:8: field 'outlierDetection' of a trafficPolicy is not supported"),
            std::string::npos)
      << errors;
  EXPECT_NE(errors.find("c.yaml:11: subset 'v1' is defined twice"), std::string::npos) << errors;
}

TEST(DestinationRuleTest, MoreErrors) {
  const Parsed lb = parse(
      spec("spec:\n  host: a\n  trafficPolicy:\n    loadBalancer: {simple: RANDOM, consistentHash: "
           "{}}\n"));
  EXPECT_NE(lb.errorText().find("c.yaml:7: loadBalancer needs exactly one of simple, "
                                "consistentHash"),
            std::string::npos)
      << lb.errorText();
  // The rule is kept; its load balancer is not.
  ASSERT_TRUE(lb.dr.has_value());
  EXPECT_FALSE(lb.dr->load_balancer.has_value());

  const Parsed hash =
      parse(spec("spec:\n  host: a\n  trafficPolicy:\n    loadBalancer:\n      consistentHash: "
                 "{useSourceIp: true}\n"));
  EXPECT_NE(hash.errorText().find("c.yaml:8: field 'useSourceIp' of consistentHash is not "
                                  "supported"),
            std::string::npos)
      << hash.errorText();

  const Parsed pipe = parse(spec("spec:\n  host: a\n  subsets: [{name: \"a|b\"}]\n"));
  EXPECT_FALSE(pipe.dr.has_value());
  EXPECT_NE(pipe.errorText().find("c.yaml:6: subset name 'a|b' is empty or contains '|'"),
            std::string::npos)
      << pipe.errorText();

  const Parsed host = parse(spec("spec:\n  host: \"a b\"\n"));
  EXPECT_FALSE(host.dr.has_value());
  EXPECT_NE(host.errorText().find("c.yaml:5: host 'a b' is not a DNS name"), std::string::npos)
      << host.errorText();

  const Parsed selector = parse(spec("spec:\n  host: a\n  workloadSelector: {}\n"));
  EXPECT_FALSE(selector.dr.has_value());
  EXPECT_NE(selector.errorText().find("c.yaml:6: field 'workloadSelector' of a DestinationRule is "
                                      "not supported"),
            std::string::npos)
      << selector.errorText();
}

}  // namespace
}  // namespace pilot::routing
