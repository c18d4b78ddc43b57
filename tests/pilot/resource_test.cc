// pilot/rules/resource: the three kinds and their names, Kubernetes object and namespace names,
// decoding a request body, the canonical YAML and the JSON of a document, its content version,
// and the field path of an error's position.
#include "pilot/rules/resource.h"

#include <gtest/gtest.h>

namespace pilot::rules {
namespace {

TEST(RulesResourceTest, KindsAndTheirNames) {
  ASSERT_EQ(kinds().size(), 3u);
  EXPECT_EQ(kinds()[0].kind, "VirtualService");
  EXPECT_EQ(kinds()[1].kind, "DestinationRule");
  EXPECT_EQ(kinds()[2].kind, "ServiceEntry");
  EXPECT_EQ(kindByPlural("serviceentries")->kind, "ServiceEntry");
  EXPECT_EQ(kindByPlural("ServiceEntries"), nullptr);  // paths are exact
  EXPECT_EQ(kindByKind("DestinationRule")->plural, "destinationrules");
  EXPECT_EQ(kindByKind("Gateway"), nullptr);
  EXPECT_EQ(kindByAlias("vs")->plural, "virtualservices");
  EXPECT_EQ(kindByAlias("SE")->plural, "serviceentries");
  EXPECT_EQ(kindByAlias("virtualservice")->kind, "VirtualService");
  EXPECT_EQ(kindByAlias("DestinationRule")->plural, "destinationrules");
  EXPECT_EQ(kindByAlias("serviceentries.networking.istio.io")->kind, "ServiceEntry");
  EXPECT_EQ(kindByAlias("serviceentries.config.istio.io"), nullptr);
  EXPECT_EQ(kindByAlias("gateway"), nullptr);
  EXPECT_TRUE(isVersion("v1alpha3"));
  EXPECT_TRUE(isVersion("v1beta1"));
  EXPECT_TRUE(isVersion("v1"));
  EXPECT_FALSE(isVersion("v2"));
}

TEST(RulesResourceTest, ObjectAndNamespaceNames) {
  EXPECT_TRUE(isObjectName("reviews.v1-canary"));
  EXPECT_TRUE(isObjectName("a"));
  EXPECT_FALSE(isObjectName(""));
  EXPECT_FALSE(isObjectName("Reviews"));
  EXPECT_FALSE(isObjectName("a..b"));
  EXPECT_FALSE(isObjectName("-a"));
  EXPECT_FALSE(isObjectName("a.-b"));
  EXPECT_FALSE(isObjectName("a_b"));
  EXPECT_TRUE(isObjectName(std::string(63, 'a') + "." + std::string(63, 'b')));
  EXPECT_FALSE(isObjectName(std::string(64, 'a')));  // a label of 64
  EXPECT_TRUE(isNamespaceName("shop-2"));
  EXPECT_FALSE(isNamespaceName("a.b"));
  EXPECT_FALSE(isNamespaceName(std::string(64, 'a')));
}

TEST(RulesResourceTest, DecodesOneMapFromYamlOrJson) {
  YAML::Node doc;
  std::string error;
  ASSERT_TRUE(
      decodeDocument(R"({"kind": "VirtualService", "spec": {"hosts": ["a"]}})", &doc, &error))
      << error;
  EXPECT_EQ(doc["spec"]["hosts"][0].as<std::string>(), "a");
  ASSERT_TRUE(decodeDocument("---\nkind: DestinationRule\n", &doc, &error)) << error;
  EXPECT_EQ(doc["kind"].as<std::string>(), "DestinationRule");

  EXPECT_FALSE(decodeDocument("a: 1\n---\nb: 2\n", &doc, &error));
  EXPECT_EQ(error, "the body must hold exactly one object, got 2 documents");
  EXPECT_FALSE(decodeDocument("", &doc, &error));
  EXPECT_EQ(error, "the body must hold exactly one object, got 0 documents");
  EXPECT_FALSE(decodeDocument("[1, 2]", &doc, &error));
  EXPECT_EQ(error, "the body must be an object (a map)");
  EXPECT_FALSE(decodeDocument("a: 1\nb: [\n", &doc, &error));
  EXPECT_EQ(error.rfind("line ", 0), 0u) << error;
  EXPECT_NE(error.find("YAML syntax error"), std::string::npos) << error;
  EXPECT_FALSE(decodeDocument(std::string(kMaxBodyBytes + 1, ' '), &doc, &error));
  EXPECT_EQ(error, "the body is larger than 1048576 bytes");
}

TEST(RulesResourceTest, JsonKeepsQuotedScalarsStrings) {
  // Quoted strings that read as numbers or booleans stay strings.
  const YAML::Node quoted =
      YAML::Load("{a: \"80\", b: 80, c: \"true\", d: yes, e: ~, f: [], g: {}}");
  EXPECT_EQ(emitJson(quoted), R"({"a":"80","b":80,"c":"true","d":"yes","e":null,"f":[],"g":{}})");
  EXPECT_EQ(emitJson(YAML::Load(emitYaml(quoted))), emitJson(quoted));
  EXPECT_EQ(emitJson(YAML::Load("{a: [1, x]}"), 2), "{\n  \"a\": [\n    1,\n    \"x\"\n  ]\n}");
  // Strings are escaped by base/json_string.h.
  EXPECT_EQ(emitJson(YAML::Node(std::string("a\"b\\c\n"))), R"("a\"b\\c\n")");
}

TEST(RulesResourceTest, CanonicalYamlIsBlockStyleOneKeyPerLine) {
  EXPECT_EQ(emitYaml(YAML::Load("{spec: {hosts: [a], port: \"80\"}}")),
            "spec:\n  hosts:\n    - a\n  port: \"80\"\n");
  // The same content written two ways has one version; other content another.
  const std::string v = contentVersion(YAML::Load("{spec: {hosts: [a]}}"));
  EXPECT_EQ(v.size(), 16u);
  EXPECT_EQ(v.find_first_not_of("0123456789abcdef"), std::string::npos) << v;
  EXPECT_EQ(contentVersion(YAML::Load("spec:\n  hosts:\n  - a\n")), v);
  EXPECT_NE(contentVersion(YAML::Load("{spec: {hosts: [b]}}")), v);
}

TEST(RulesResourceTest, FieldPaths) {
  const auto pathOf = [](const std::string& text, int line, int column,
                         const std::string& message) {
    const YAML::Node doc = YAML::Load(text);
    return fieldPath(doc, model::ConfigError{{"request", line, column}, message});
  };
  const std::string text = emitYaml(
      YAML::Load("{spec: {hosts: [a], http: [{route: [{destination: {host: a}, weight: 5}]}]}}"));
  // spec:/hosts:/- a/http:/- route:/- destination:/host: a/weight: 5
  EXPECT_EQ(pathOf(text, 3, 7, "host 'a' is not a DNS name"), "spec.hosts[0]");
  EXPECT_EQ(pathOf(text, 8, 19, "field 'weight' must be in"), "spec.http[0].route[0].weight");
  EXPECT_EQ(pathOf(text, 8, 11, "unknown field 'weight'"), "spec.http[0].route[0].weight");
  EXPECT_EQ(pathOf(text, 7, 0, "missing required field 'subset'"),
            "spec.http[0].route[0].destination.subset");
  EXPECT_EQ(pathOf("metadata:\n  labels:\n    app.kubernetes.io/name: x\n", 3, 29, "bad"),
            "metadata.labels[app.kubernetes.io/name]");
}

}  // namespace
}  // namespace pilot::rules
