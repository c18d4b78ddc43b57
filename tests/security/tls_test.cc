// SPIFFE IDs, the caller policy and what a caller's identity does to a request's attributes.
#include <gtest/gtest.h>

#include "mixer/attribute/attribute_bag.h"
#include "security/tls/caller_gate.h"
#include "security/tls/caller_policy.h"
#include "security/tls/spiffe.h"

namespace security::tls {
namespace {

TEST(SpiffeId, ParsesTheTrustDomainAndPath) {
  auto id = parseSpiffeId("spiffe://cluster.local/ns/default/sa/bookinfo-productpage");
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(id->trust_domain, "cluster.local");
  EXPECT_EQ(id->path, "/ns/default/sa/bookinfo-productpage");
  EXPECT_EQ(id->istioNamespace(), "default");
  EXPECT_EQ(id->istioServiceAccount(), "bookinfo-productpage");
  EXPECT_EQ(id->uri(), "spiffe://cluster.local/ns/default/sa/bookinfo-productpage");

  auto domain = parseSpiffeId("spiffe://example.org");
  ASSERT_TRUE(domain.ok());
  EXPECT_EQ(domain->path, "");
  auto other = parseSpiffeId("spiffe://example.org/workload/web");
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->istioNamespace(), "");  // not Istio's form
}

TEST(SpiffeId, RefusesWhatTheSpecificationForbidsWithTheReason) {
  const std::pair<const char*, const char*> cases[] = {
      {"http://cluster.local/ns/a/sa/b", "must start with"},
      {"SPIFFE://cluster.local/x", "must start with"},
      {"spiffe://", "empty trust domain"},
      {"spiffe:///ns/a", "empty trust domain"},
      {"spiffe://Cluster.local/x", "trust domain has a character"},
      {"spiffe://cluster.local:8443/x", "must not carry a port"},
      {"spiffe://user@cluster.local/x", "must not carry user info"},
      {"spiffe://cluster.local/ns//sa", "empty segment"},
      {"spiffe://cluster.local/ns/a/", "must not end with '/'"},
      {"spiffe://cluster.local/ns/../sa", "'.' or '..'"},
      {"spiffe://cluster.local/./x", "'.' or '..'"},
      {"spiffe://cluster.local/ns/a?x=1", "query or fragment"},
      {"spiffe://cluster.local/ns/a#f", "query or fragment"},
      {"spiffe://cluster.local/ns/a b", "path has a character"},
      {"spiffe://cluster.local/ns/%41", "path has a character"},
  };
  for (const auto& [uri, reason] : cases) {
    auto id = parseSpiffeId(uri);
    ASSERT_FALSE(id.ok()) << uri;
    EXPECT_NE(id.status().message().find(reason), std::string_view::npos)
        << uri << ": " << id.status();
  }
  EXPECT_FALSE(parseSpiffeId("spiffe://a/" + std::string(2048, 'x')).ok());
}

TEST(CallerPolicy, PatternsAreExactPrefixSuffixOrAny) {
  EXPECT_TRUE(principalMatches("spiffe://td/ns/a/sa/b", "spiffe://td/ns/a/sa/b"));
  EXPECT_FALSE(principalMatches("spiffe://td/ns/a/sa/b", "spiffe://td/ns/a/sa/bc"));
  EXPECT_TRUE(principalMatches("spiffe://td/ns/a/*", "spiffe://td/ns/a/sa/b"));
  EXPECT_FALSE(principalMatches("spiffe://td/ns/a/*", "spiffe://td/ns/ab/sa/b"));
  EXPECT_TRUE(principalMatches("*/sa/proxy", "spiffe://td/ns/x/sa/proxy"));
  EXPECT_TRUE(principalMatches("*", "proxy.example.com"));
  EXPECT_FALSE(principalMatches("*", ""));  // no verified identity matches nothing
}

TEST(CallerPolicy, DecidesPerApiAndSaysWhomToTrust) {
  auto policy = CallerPolicy::parse(R"(callers:
- principals: ["spiffe://td/ns/default/*"]
  apis: [check, ext_authz]
- principals: ["spiffe://td/ns/system/sa/proxy"]
  apis: ["*"]
  trusted: true
)",
                                    "callers.yaml");
  ASSERT_TRUE(policy.ok()) << policy.status();
  auto d = policy->decide("spiffe://td/ns/default/sa/web", Api::kCheck);
  EXPECT_TRUE(d.allowed);
  EXPECT_FALSE(d.trusted);
  EXPECT_FALSE(policy->decide("spiffe://td/ns/default/sa/web", Api::kReport).allowed);
  EXPECT_FALSE(policy->decide("spiffe://td/ns/other/sa/web", Api::kCheck).allowed);
  EXPECT_FALSE(policy->decide("", Api::kCheck).allowed);
  d = policy->decide("spiffe://td/ns/system/sa/proxy", Api::kXds);
  EXPECT_TRUE(d.allowed);
  EXPECT_TRUE(d.trusted);
}

TEST(CallerPolicy, ErrorsNameTheFileAndLine) {
  const std::pair<const char*, const char*> cases[] = {
      {"callers:\n- principals: [a]\n  apis: [chek]\n", "p.yaml:3: unknown API \"chek\""},
      {"callers:\n- principals: [a]\n", "p.yaml:2: a caller entry needs"},
      {"callers:\n- principals: [a]\n  apis: [check]\n  trusted: yes\n",
       "p.yaml:4: \"trusted\" must be true or false"},
      {"callers:\n- principals: a\n  apis: [check]\n", "p.yaml:2: \"principals\" must be"},
      {"callers:\n- principals: [a]\n  apis: [check]\n  color: red\n",
       "p.yaml:4: unknown field \"color\""},
      {"callers: [\n", "p.yaml:"},
      {"others: []\n", "p.yaml:1: expected a map with \"callers\""},
  };
  for (const auto& [text, want] : cases) {
    auto p = CallerPolicy::parse(text, "p.yaml");
    ASSERT_FALSE(p.ok()) << text;
    EXPECT_NE(p.status().message().find(want), std::string_view::npos) << p.status();
  }
}

TEST(CallerGate, WithoutAPolicyEveryVerifiedCallerIsAllowedButNotBelieved) {
  CallerGate gate(std::nullopt, nullptr, "denied_total");
  Caller c;
  EXPECT_TRUE(gate.decide(true, "spiffe://td/ns/a/sa/b", Api::kReport, &c));
  EXPECT_TRUE(c.authenticated);
  EXPECT_FALSE(c.trusted);
  EXPECT_EQ(c.principal, "spiffe://td/ns/a/sa/b");
  // No certificate: nothing to hold the claims against.
  EXPECT_TRUE(gate.decide(false, "", Api::kReport, &c));
  EXPECT_TRUE(c.trusted);
}

TEST(ApplyCaller, AnUntrustedCallersClaimsAreReplacedByItsCertificate) {
  auto vocabulary = mixer::attribute::Vocabulary::builtin();
  mixer::attribute::AttributeBag bag(vocabulary);
  bag.set("source.principal",
          mixer::attribute::AttributeValue::string("spiffe://td/ns/a/sa/admin"));
  bag.set("connection.mtls", mixer::attribute::AttributeValue::boolean(false));
  bag.set("context.reporter.principal", mixer::attribute::AttributeValue::string("forged"));
  Caller caller{true, false, "spiffe://td/ns/a/sa/web"};
  applyCaller(caller, &bag);
  EXPECT_EQ(bag.find("source.principal")->stringValue(), "spiffe://td/ns/a/sa/web");
  EXPECT_EQ(bag.find("source.user")->stringValue(), "spiffe://td/ns/a/sa/web");
  EXPECT_TRUE(bag.find("connection.mtls")->boolValue());
  EXPECT_EQ(bag.find("context.reporter.principal")->stringValue(), "spiffe://td/ns/a/sa/web");
}

TEST(ApplyCaller, ATrustedCallersClaimsStandAndItsOwnIdentityIsRecorded) {
  auto vocabulary = mixer::attribute::Vocabulary::builtin();
  mixer::attribute::AttributeBag bag(vocabulary);
  bag.set("source.principal",
          mixer::attribute::AttributeValue::string("spiffe://td/ns/a/sa/admin"));
  bag.set("connection.mtls", mixer::attribute::AttributeValue::boolean(false));
  Caller caller{true, true, "spiffe://td/ns/system/sa/proxy"};
  applyCaller(caller, &bag);
  EXPECT_EQ(bag.find("source.principal")->stringValue(), "spiffe://td/ns/a/sa/admin");
  EXPECT_FALSE(bag.find("connection.mtls")->boolValue());
  EXPECT_EQ(bag.find("context.reporter.principal")->stringValue(),
            "spiffe://td/ns/system/sa/proxy");

  // Without a verified certificate nothing changes.
  mixer::attribute::AttributeBag plain(vocabulary);
  plain.set("source.principal", mixer::attribute::AttributeValue::string("claimed"));
  applyCaller(Caller{}, &plain);
  EXPECT_EQ(plain.find("source.principal")->stringValue(), "claimed");
  EXPECT_EQ(plain.find("context.reporter.principal"), nullptr);
}

}  // namespace
}  // namespace security::tls
