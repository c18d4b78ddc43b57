// pilot/routing/virtual_service: one VirtualService spec read into routes (matches, weighted
// destinations, timeouts, retries, faults) with file:line errors, and its route-entry count.
#include "pilot/routing/virtual_service.h"

#include <gtest/gtest.h>

namespace pilot::routing {
namespace {

struct Parsed {
  std::optional<VirtualService> vs;
  std::vector<model::ConfigError> errors;
  std::string errorText() const { return model::formatErrors(errors); }
};

// Reads `yaml` (a whole document, so that lines are those of the file "c.yaml") and parses its
// spec as the VirtualService "x" in namespace "shop".
Parsed parse(const std::string& yaml) {
  Parsed p;
  model::YamlReader r("c.yaml", &p.errors);
  const std::vector<YAML::Node> docs = model::loadDocuments(yaml, &r);
  if (docs.size() != 1) {
    ADD_FAILURE() << "expected one document: " << p.errorText();
    return p;
  }
  p.vs = parseVirtualService(docs[0]["spec"], Origin{"c.yaml", 1}, "x", "shop", r, ParseOptions());
  return p;
}

std::string spec(const std::string& body) {
  return "apiVersion: networking.istio.io/v1beta1\nkind: VirtualService\nmetadata: {name: x}\n" +
         body;
}

TEST(VirtualServiceTest, MatchesWeightsFaultTimeoutAndRetries) {
  const Parsed p = parse(spec(R"(spec:
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
)"));
  ASSERT_TRUE(p.errors.empty()) << p.errorText();
  ASSERT_TRUE(p.vs.has_value());
  const VirtualService& vs = *p.vs;
  EXPECT_EQ(vs.name, "x");
  EXPECT_EQ(vs.namespace_, "shop");
  EXPECT_EQ(vs.hosts, std::vector<std::string>{"reviews.shop.svc.cluster.local"});
  EXPECT_EQ(vs.origin.str(), "c.yaml:1");
  ASSERT_EQ(vs.http.size(), 1u);
  const HttpRoute& r = vs.http[0];
  EXPECT_EQ(r.name, "canary");
  EXPECT_EQ(r.line, 7);
  ASSERT_EQ(r.matches.size(), 2u);
  EXPECT_EQ(r.matches[0].uri->kind, StringMatch::Kind::kPrefix);
  EXPECT_EQ(r.matches[0].uri->value, "/reviews.Reviews/");
  ASSERT_EQ(r.matches[0].headers.size(), 2u);
  EXPECT_EQ(r.matches[0].headers[0].first, "x-group");  // lower-cased and sorted
  EXPECT_EQ(r.matches[0].headers[0].second.kind, StringMatch::Kind::kRegex);
  EXPECT_EQ(r.matches[0].headers[1].first, "x-user");
  EXPECT_EQ(r.matches[0].headers[1].second.value, "jason");
  EXPECT_FALSE(r.matches[0].ignore_uri_case);
  EXPECT_TRUE(r.matches[1].ignore_uri_case);
  ASSERT_EQ(r.route.size(), 2u);
  EXPECT_EQ(r.route[0].destination.host, "reviews.shop.svc.cluster.local");
  EXPECT_EQ(r.route[0].destination.subset, "v1");
  EXPECT_EQ(r.route[0].destination.port, 9080u);
  EXPECT_EQ(r.route[0].weight, 75u);
  EXPECT_EQ(r.route[1].destination.host, "reviews.other.svc.cluster.local");
  EXPECT_EQ(r.route[1].destination.port, 0u);
  EXPECT_EQ(r.timeout, std::chrono::milliseconds(1500));
  EXPECT_EQ(r.retries->attempts, 3u);
  EXPECT_EQ(r.retries->per_try_timeout, std::chrono::milliseconds(250));
  EXPECT_EQ(r.retries->retry_on, "unavailable");
  EXPECT_EQ(r.fault->delay->fixed_delay, std::chrono::milliseconds(2000));
  EXPECT_DOUBLE_EQ(r.fault->delay->percent, 12.5);
  EXPECT_EQ(r.fault->abort->grpc_status, 14u);
  EXPECT_EQ(r.fault->abort->http_status, 0u);
}

TEST(VirtualServiceTest, WeightsDefaultTo100AloneAnd0AmongSeveral) {
  const Parsed one =
      parse(spec("spec:\n  hosts: [a]\n  http:\n  - route: [{destination: {host: a}}]\n"));
  ASSERT_TRUE(one.vs.has_value()) << one.errorText();
  EXPECT_EQ(one.vs->http[0].route[0].weight, 100u);

  const Parsed two = parse(
      spec("spec:\n  hosts: [a]\n  http:\n  - route:\n    - {destination: {host: a}, weight: 100}\n"
           "    - {destination: {host: b}}\n"));
  ASSERT_TRUE(two.vs.has_value()) << two.errorText();
  EXPECT_EQ(two.vs->http[0].route[1].weight, 0u);

  const Parsed none =
      parse(spec("spec:\n  hosts: [a]\n  http:\n  - route:\n    - {destination: {host: a}}\n"
                 "    - {destination: {host: b}}\n"));
  EXPECT_FALSE(none.vs.has_value());
  EXPECT_NE(none.errorText().find("c.yaml:8: route weights must add up to 100, got 0"),
            std::string::npos)
      << none.errorText();
}

TEST(VirtualServiceTest, AbortsByHttpStatusOrGrpcCodeNumberAndLegacyPercent) {
  const Parsed http =
      parse(spec("spec:\n  hosts: [a]\n  http:\n  - route: [{destination: {host: a}}]\n"
                 "    fault: {abort: {httpStatus: 503, percent: 30}}\n"));
  ASSERT_TRUE(http.vs.has_value()) << http.errorText();
  const FaultInjection::Abort& a = *http.vs->http[0].fault->abort;
  EXPECT_EQ(a.http_status, 503u);
  EXPECT_FALSE(a.grpc_status.has_value());
  EXPECT_DOUBLE_EQ(a.percent, 30.0);
  EXPECT_FALSE(http.vs->http[0].fault->delay.has_value());

  const Parsed number =
      parse(spec("spec:\n  hosts: [a]\n  http:\n  - route: [{destination: {host: a}}]\n"
                 "    fault: {abort: {grpcStatus: \"8\"}}\n"));
  ASSERT_TRUE(number.vs.has_value()) << number.errorText();
  EXPECT_EQ(number.vs->http[0].fault->abort->grpc_status, 8u);
  EXPECT_DOUBLE_EQ(number.vs->http[0].fault->abort->percent, 100.0);

  // 0 is OK, which is not a fault.
  const Parsed ok =
      parse(spec("spec:\n  hosts: [a]\n  http:\n  - route: [{destination: {host: a}}]\n"
                 "    fault: {abort: {grpcStatus: \"0\"}}\n"));
  EXPECT_FALSE(ok.vs.has_value());
  EXPECT_NE(ok.errorText().find("grpcStatus must be a non-OK gRPC status name"), std::string::npos)
      << ok.errorText();
}

TEST(VirtualServiceTest, RouteEntriesCountMatchesHeadersAndDestinations) {
  VirtualService vs;
  HttpRoute matched;
  matched.route.resize(2);  // 1 + 2 destinations = 3 per match
  HttpMatch with_headers;
  with_headers.headers = {{"a", StringMatch{}}, {"b", StringMatch{}}};
  matched.matches = {with_headers, HttpMatch{}};  // (3 + 2) + (3 + 0)
  HttpRoute catch_all;
  catch_all.route.resize(1);  // no matches: 1 + 1
  vs.http = {matched, catch_all};
  EXPECT_EQ(routeEntries(vs), 10u);
  EXPECT_EQ(routeEntries(VirtualService{}), 0u);
}

TEST(VirtualServiceTest, RouteTablesAreBounded) {
  // 150 matches (one alias) in each of 150 routes: 150 * 150 * (1 + 1) = 45,000 route entries.
  std::string vs = spec("spec:\n  hosts: [a]\n  http:\n  - match: &m [");
  for (int i = 0; i < 150; ++i) vs += (i ? ", {}" : "{}");
  vs += "]\n    route: [{destination: {host: a}}]\n";
  for (int i = 1; i < 150; ++i) vs += "  - {match: *m, route: [{destination: {host: a}}]}\n";
  const Parsed p = parse(vs);
  EXPECT_FALSE(p.vs.has_value());
  EXPECT_NE(p.errorText().find("c.yaml:7: VirtualService has 45000 route entries"),
            std::string::npos)
      << p.errorText().substr(0, 300);
}

struct BadCase {
  const char* spec;   // appended to a VirtualService header (spec: at line 4)
  const char* error;  // expected in the errors
};

class VirtualServiceErrorTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(VirtualServiceErrorTest, ReportsFileAndLine) {
  const Parsed p = parse(spec(GetParam().spec));
  EXPECT_FALSE(p.vs.has_value());
  EXPECT_NE(p.errorText().find(GetParam().error), std::string::npos) << p.errorText();
}

INSTANTIATE_TEST_SUITE_P(
    Cases, VirtualServiceErrorTest,
    ::testing::Values(
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
                "    fault: {abort: {httpStatus: 503, grpcStatus: UNAVAILABLE}}\n",
                "c.yaml:8: fault abort needs exactly one of httpStatus, grpcStatus"},
        BadCase{"spec:\n  hosts: [a]\n  http:\n  - route: [{destination: {host: a}}]\n"
                "    rewrite: {uri: /b}\n",
                "c.yaml:8: field 'rewrite' of an http route is not supported"},
        BadCase{"spec:\n  hosts: [a]\n  http:\n  - match: [{headers: {\":authority\": {exact: "
                "x}}}]\n    route: [{destination: {host: a}}]\n",
                "c.yaml:7: header match needs an application header name"},
        BadCase{"spec:\n  hosts: [a]\n  http:\n  - route: [{destination: {host: a, subset: "
                "\"v|1\"}}]\n",
                "c.yaml:7: subset name 'v|1' contains '|'"},
        BadCase{"spec:\n  hosts: [a]\n  http:\n  - fault: {}\n",
                "c.yaml:7: http route needs a "
                "'route' list"},
        BadCase{"spec:\n  hosts: [a\xfe]\n", "c.yaml:5: field 'hosts' is not valid UTF-8"},
        BadCase{"spec:\n  hosts: [a/b]\n", "c.yaml:5: host 'a/b' is not a service host"},
        BadCase{"spec:\n  hosts: [a]\n  http:\n  - route: [{destination: {host: \"a b\"}}]\n",
                "c.yaml:7: destination host 'a b' is not a DNS name"},
        BadCase{"spec:\n  hosts: [a]\n  tcp: []\n",
                "c.yaml:6: field 'tcp' of a VirtualService is not supported"}));

// An unknown field is reported, but what the spec says is still read.
TEST(VirtualServiceTest, UnknownFieldsAreReported) {
  const Parsed p = parse(spec("spec:\n  hosts: [a]\n  htp: []\n"));
  ASSERT_TRUE(p.vs.has_value());
  EXPECT_EQ(p.vs->hosts, std::vector<std::string>{"a.shop.svc.cluster.local"});
  EXPECT_NE(p.errorText().find("c.yaml:6: unknown field 'htp'"), std::string::npos)
      << p.errorText();
}

}  // namespace
}  // namespace pilot::routing
