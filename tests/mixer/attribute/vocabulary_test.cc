#include "mixer/attribute/vocabulary.h"

#include <gtest/gtest.h>

namespace mixer::attribute {
namespace {

TEST(VocabularyTest, BuiltinHasIstioProxyAndKubernetesAttributes) {
  const auto v = Vocabulary::builtin();
  EXPECT_EQ(v->type(*v->find("request.headers")), ValueType::kStringMap);
  EXPECT_EQ(v->type(*v->find("response.code")), ValueType::kInt64);
  EXPECT_EQ(v->type(*v->find("response.duration")), ValueType::kDuration);
  EXPECT_EQ(v->type(*v->find("source.ip")), ValueType::kIpAddress);
  EXPECT_EQ(v->type(*v->find("destination.labels")), ValueType::kStringMap);
  EXPECT_EQ(v->type(*v->find("connection.mtls")), ValueType::kBool);
  EXPECT_FALSE(v->find("request.headerz").has_value());
}

TEST(VocabularyTest, MapsGlobalWordsToIdsBothWays) {
  const auto v = Vocabulary::builtin();
  const AttributeId id = v->idForGlobalWord(152);
  ASSERT_NE(id, kNoAttribute);
  EXPECT_EQ(v->name(id), "destination.service");
  EXPECT_EQ(v->globalWordOf(id), 152);
  EXPECT_EQ(v->idForGlobalWord(/* "GET" */ *api::globalWordIndex("GET")), kNoAttribute);
  EXPECT_EQ(v->idForGlobalWord(5000), kNoAttribute);
}

TEST(VocabularyTest, RejectsConflictingDeclarations) {
  auto v = Vocabulary::create({{"a", ValueType::kString}, {"a", ValueType::kString}});
  ASSERT_TRUE(v.ok());
  EXPECT_EQ((*v)->size(), 1u);
  auto bad = Vocabulary::create({{"a", ValueType::kString}, {"a", ValueType::kInt64}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(std::string(bad.status().message()).find("'a' is declared both as STRING and as INT64"),
            std::string::npos);
}

TEST(ManifestTest, ParsesIstioAttributeManifests) {
  const auto decls = parseAttributeManifests(R"(
apiVersion: config.istio.io/v1alpha2
kind: attributemanifest
metadata: {name: mine}
spec:
  attributes:
    my.size: {valueType: INT64}
    my.name:
      valueType: STRING
---
kind: rule
spec: {match: "true"}
)",
                                             "m.yaml");
  ASSERT_TRUE(decls.ok()) << decls.status();
  ASSERT_EQ(decls->size(), 2u);
  EXPECT_EQ((*decls)[0].name, "my.size");
  EXPECT_EQ((*decls)[0].type, ValueType::kInt64);
}

TEST(ManifestTest, ErrorsCarryFileLineAndColumn) {
  const auto decls = parseAttributeManifests(R"(kind: attributemanifest
spec:
  attributes:
    my.size: {valueType: INTEGER}
)",
                                             "m.yaml");
  ASSERT_FALSE(decls.ok());
  EXPECT_NE(std::string(decls.status().message())
                .find("m.yaml:4:26: attribute 'my.size' has unknown valueType 'INTEGER'"),
            std::string::npos)
      << decls.status();
  const auto broken = parseAttributeManifests("kind: [unclosed", "b.yaml");
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(std::string(broken.status().message()).rfind("b.yaml:", 0), 0u) << broken.status();
}

// The Istio 0.1/0.2 vocabulary: target.* and the documented aliases are added to the built-in
// one by allBuiltin(); a name both declare has one type.
TEST(VocabularyTest, TheIstio01VocabularyExtendsTheBuiltinOneWithoutConflicts) {
  const auto base = Vocabulary::builtin();
  EXPECT_FALSE(base->find("target.service"));
  for (const auto& decl : aspectModelDecls()) {
    if (const auto id = base->find(decl.name)) {
      EXPECT_EQ(base->type(*id), decl.type) << decl.name;
    }
  }
  const auto all = Vocabulary::allBuiltin();
  for (const auto& [name, type] :
       std::vector<std::pair<std::string, ValueType>>{{"target.service", ValueType::kString},
                                                      {"target.ip", ValueType::kIpAddress},
                                                      {"target.labels", ValueType::kStringMap},
                                                      {"origin.ip", ValueType::kIpAddress},
                                                      {"response.latency", ValueType::kDuration},
                                                      {"api.name", ValueType::kString}}) {
    const auto id = all->find(name);
    ASSERT_TRUE(id) << name;
    EXPECT_EQ(all->type(*id), type) << name;
  }
  EXPECT_EQ(all->size(), base->size() + (all->size() - base->size()));
  EXPECT_GT(all->size(), base->size());
  // target.service is word 9 of the global dictionary: it decodes without a per-message word.
  EXPECT_EQ(all->globalWordOf(*all->find("target.service")), 9);
}

}  // namespace
}  // namespace mixer::attribute
