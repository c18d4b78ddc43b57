// pilot/routing/routing_config (and parse_options.h): files of routing documents dispatched by
// kind into one RoutingConfig, the document envelope's errors, the checks across resources, and
// loading a directory.
#include "pilot/routing/routing_config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace pilot::routing {
namespace {

RoutingConfig parseOk(const std::string& yaml, const ParseOptions& options = ParseOptions()) {
  RoutingConfig config;
  std::vector<ConfigError> errors;
  parseRoutingYaml(yaml, "c.yaml", options, &config, &errors);
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

constexpr char kThreeKinds[] = R"(apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: reviews, namespace: shop}
spec:
  hosts: [reviews]
  http:
  - route:
    - {destination: {host: reviews, subset: v1}, weight: 75}
    - {destination: {host: reviews.other, subset: v2}, weight: 25}
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: reviews, namespace: shop}
spec:
  host: reviews
  subsets: [{name: v1, labels: {version: v1}}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: other}
spec:
  host: reviews.other
  subsets: [{name: v2, labels: {version: v2}}]
---
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata: {name: dns}
spec:
  hosts: [api]
  ports: [{number: 80, name: http}]
  resolution: DNS
)";

TEST(RoutingConfigTest, DocumentsOfEachKindGoToTheirList) {
  const RoutingConfig c = parseOk(kThreeKinds);
  ASSERT_EQ(c.virtual_services.size(), 1u);
  EXPECT_EQ(c.virtual_services[0].name, "reviews");
  EXPECT_EQ(c.virtual_services[0].namespace_, "shop");
  EXPECT_EQ(c.virtual_services[0].origin.str(), "c.yaml:1");
  ASSERT_EQ(c.destination_rules.size(), 2u);
  EXPECT_EQ(c.destination_rules[0].origin.str(), "c.yaml:11");
  EXPECT_EQ(c.destination_rules[1].namespace_, "default");  // no namespace: the default
  EXPECT_EQ(c.destination_rules[1].origin.str(), "c.yaml:18");
  ASSERT_EQ(c.service_entries.size(), 1u);
  EXPECT_EQ(c.service_entries[0].hostname, "api.default.svc.cluster.local");
  EXPECT_EQ(c.service_entries[0].origin, "c.yaml:25");

  EXPECT_EQ(c.virtualServiceFor("reviews.shop.svc.cluster.local"), &c.virtual_services[0]);
  EXPECT_EQ(c.virtualServiceFor("reviews.other.svc.cluster.local"), nullptr);
  EXPECT_EQ(c.destinationRuleFor("reviews.other.svc.cluster.local"), &c.destination_rules[1]);
  EXPECT_EQ(c.destinationRuleFor("reviews"), nullptr);  // lookups are by FQDN
}

TEST(RoutingConfigTest, ParseOptionsNameTheDefaultNamespaceAndDomain) {
  ParseOptions options;
  options.default_namespace = "prod";
  options.domain_suffix = "svc.corp";
  const RoutingConfig c = parseOk(
      "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: d}\n"
      "spec: {host: ratings}\n",
      options);
  ASSERT_EQ(c.destination_rules.size(), 1u);
  EXPECT_EQ(c.destination_rules[0].namespace_, "prod");
  EXPECT_EQ(c.destination_rules[0].host, "ratings.prod.svc.corp");
}

TEST(RoutingConfigTest, HostExpansion) {
  ParseOptions o;
  EXPECT_EQ(expandHost("reviews", "shop", o), "reviews.shop.svc.cluster.local");
  EXPECT_EQ(expandHost("reviews.other", "shop", o), "reviews.other.svc.cluster.local");
  EXPECT_EQ(expandHost("reviews.other.svc.cluster.local", "shop", o),
            "reviews.other.svc.cluster.local");
  o.domain_suffix = "svc.corp";
  EXPECT_EQ(expandHost("a", "b", o), "a.b.svc.corp");
}

TEST(RoutingConfigTest, DocumentLevelErrors) {
  EXPECT_NE(parseErrors("apiVersion: networking.istio.io/v1beta1\nkind: Gateway\nmetadata: "
                        "{name: g}\nspec: {}\n")
                .find("c.yaml:2: unsupported kind 'Gateway'"),
            std::string::npos);
  EXPECT_NE(parseErrors("apiVersion: config.istio.io/v1alpha2\nkind: VirtualService\n")
                .find("c.yaml:1: apiVersion must be networking.istio.io"),
            std::string::npos);
  EXPECT_NE(parseErrors("apiVersion: networking.istio.io/v2\nkind: VirtualService\n")
                .find("c.yaml:1: apiVersion must be networking.istio.io/v1alpha3, v1beta1 or v1, "
                      "got 'networking.istio.io/v2'"),
            std::string::npos);
  EXPECT_NE(parseErrors("apiVersion: networking.istio.io/v1beta1\nkind: VirtualService\n")
                .find("c.yaml:1: missing required field 'metadata'"),
            std::string::npos);
  EXPECT_NE(parseErrors("apiVersion: networking.istio.io/v1beta1\nkind: VirtualService\n"
                        "metadata: {name: x}\n")
                .find("c.yaml:1: missing required field 'spec'"),
            std::string::npos);
  EXPECT_NE(parseErrors("apiVersion: networking.istio.io/v1beta1\nkind: VirtualService\n"
                        "metadata: {name: x, namespace: a.b}\nspec: {hosts: [a]}\n")
                .find("c.yaml:3: namespace 'a.b' is not a DNS label"),
            std::string::npos);
  EXPECT_NE(parseErrors("apiVersion: networking.istio.io/v1beta1\nkind: VirtualService\n"
                        "metadata: {name: x}\nspec: {hosts: [a]}\nextra: 1\n")
                .find("c.yaml:5: unknown field 'extra' in resource"),
            std::string::npos);
  EXPECT_NE(parseErrors("kind: [\n").find("YAML syntax error"), std::string::npos);
}

TEST(RoutingConfigTest, DocumentsAreSplitAtMarkersWithFilePositions) {
  // YAML::LoadAll produces documents without end for this input; documents are split first.
  EXPECT_NE(parseErrors("[ b]\n,").find("c.yaml:"), std::string::npos);
  const std::string errors = parseErrors(
      "--- \napiVersion: networking.istio.io/v1beta1\nkind: Gateway\nmetadata: {name: g}\n"
      "spec: {}\n...\n---\nkind: Sidecar\n");
  EXPECT_NE(errors.find("c.yaml:3: unsupported kind 'Gateway'"), std::string::npos) << errors;
  EXPECT_NE(errors.find("c.yaml:8: missing required field 'apiVersion'"), std::string::npos)
      << errors;
}

TEST(RoutingConfigTest, OneVirtualServiceAndOneDestinationRulePerHost) {
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

  const std::string dr =
      "apiVersion: networking.istio.io/v1beta1\nkind: DestinationRule\n"
      "metadata: {name: NAME}\nspec: {host: a.default.svc.cluster.local}\n";
  std::string rules = dr + "---\n" + dr;
  rules.replace(rules.find("NAME"), 4, "one");
  rules.replace(rules.find("NAME"), 4, "two");
  EXPECT_NE(parseErrors(rules).find("c.yaml:6: host a.default.svc.cluster.local already has "
                                    "DestinationRule one at c.yaml:1"),
            std::string::npos)
      << parseErrors(rules);
}

TEST(RoutingConfigTest, DestinationSubsetsMustBeDefinedByADestinationRule) {
  const std::string vs = R"(apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: x}
spec:
  hosts: [a]
  http:
  - route: [{destination: {host: a, subset: v9}}]
)";
  EXPECT_NE(parseErrors(vs).find("c.yaml:7: subset 'v9' of a.default.svc.cluster.local is not "
                                 "defined by any DestinationRule"),
            std::string::npos)
      << parseErrors(vs);
  const std::string dr =
      "---\napiVersion: networking.istio.io/v1beta1\nkind: DestinationRule\n"
      "metadata: {name: a}\nspec: {host: a, subsets: [{name: v9}]}\n";
  EXPECT_EQ(parseErrors(vs + dr), "");
}

class LoadRoutingDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("routing_config_test_" + std::to_string(getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
  }
  std::filesystem::path dir_;
};

TEST_F(LoadRoutingDirTest, ReadsYamlFilesInNameOrderThenValidates) {
  write("b.yml",
        "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: b}\n"
        "spec: {host: b}\n");
  write("a.yaml",
        "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: a}\n"
        "spec: {host: a}\n");
  write("notes.txt", "not yaml: [\n");
  RoutingConfig config;
  std::vector<ConfigError> errors;
  ASSERT_TRUE(loadRoutingDir(dir_.string(), ParseOptions(), &config, &errors))
      << model::formatErrors(errors);
  ASSERT_EQ(config.destination_rules.size(), 2u);
  EXPECT_EQ(config.destination_rules[0].name, "a");
  EXPECT_EQ(config.destination_rules[0].origin.str(), (dir_ / "a.yaml").string() + ":1");
  EXPECT_EQ(config.destination_rules[1].name, "b");
}

TEST_F(LoadRoutingDirTest, AnErrorLeavesTheConfigAsItWas) {
  write("a.yaml",
        "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: a}\n"
        "spec: {host: a}\n");
  write("b.yaml",
        "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: b}\n"
        "spec: {host: a}\n");  // the same host again
  RoutingConfig config;
  config.virtual_services.emplace_back().name = "kept";
  std::vector<ConfigError> errors;
  EXPECT_FALSE(loadRoutingDir(dir_.string(), ParseOptions(), &config, &errors));
  ASSERT_EQ(errors.size(), 1u) << model::formatErrors(errors);
  EXPECT_EQ(model::formatError(errors[0]), (dir_ / "b.yaml").string() +
                                               ":1: host a.default.svc.cluster.local already has "
                                               "DestinationRule a at " +
                                               (dir_ / "a.yaml").string() + ":1");
  ASSERT_EQ(config.virtual_services.size(), 1u);
  EXPECT_EQ(config.virtual_services[0].name, "kept");
  EXPECT_TRUE(config.destination_rules.empty());

  errors.clear();
  EXPECT_FALSE(loadRoutingDir((dir_ / "missing").string(), ParseOptions(), &config, &errors));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].pos.file, (dir_ / "missing").string());
}

}  // namespace
}  // namespace pilot::routing
