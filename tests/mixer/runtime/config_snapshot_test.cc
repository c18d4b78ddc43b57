// ConfigSnapshot and compileSnapshot: what a compiled configuration holds (generation, declared
// attributes, handlers, actions filed by variety, rules by namespace and by index term), when no
// snapshot is produced, validate-only compilation, and templateVariety(). Models are built here
// as data, compiled against the real in-tree adapters (denier, stdio) of this build. How requests
// are decided over a snapshot is runtime_test.cc's.
#include "mixer/runtime/config_snapshot.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "mixer/adapter_host/adapter_host.h"
#include "tests/mixer/runtime/model_builders.h"

namespace mixer::runtime {
namespace {

using testing::at;
using testing::handler;
using testing::instance;
using testing::rule;

std::vector<std::string> names(const std::vector<const CompiledRule*>& rules) {
  std::vector<std::string> out;
  for (const auto* r : rules) {
    out.push_back(r->name);
  }
  return out;
}

class ConfigSnapshotTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { host_ = new adapter_host::AdapterHost({}); }
  static void TearDownTestSuite() {
    delete host_;
    host_ = nullptr;
  }

  ConfigSnapshotConstSharedPtr compile(const config::ConfigModel& model, uint64_t generation = 7,
                                       bool validate_only = false) {
    return compileSnapshot(model, host_->registry(), attribute::Vocabulary::builtin(), generation,
                           &errors_, validate_only);
  }
  std::string errorsText() const {
    std::string out;
    for (const auto& e : errors_) {
      out += e.str() + "\n";
    }
    return out;
  }

  // A denier handler, a check instance and a quota instance (both served by the denier), and a
  // stdio handler with a report instance; `test.key` declared as a STRING attribute.
  static config::ConfigModel base() {
    config::ConfigModel m;
    m.attributes.push_back({"test.key", attribute::ValueType::kString, at(1)});
    m.attributes.push_back({"test.count", attribute::ValueType::kInt64, at(1)});
    m.handlers.push_back(handler("deny.denier.istio-system", "denier", "status: {code: 7}"));
    m.handlers.push_back(handler("log.stdio.istio-system", "stdio", "{}"));
    m.instances.push_back(instance("nothing.checknothing.istio-system", "checknothing", "{}"));
    m.instances.push_back(instance("requestcount.quota.istio-system", "quota", "dimensions: {}"));
    m.instances.push_back(instance("access.logentry.istio-system", "logentry",
                                   "severity: '\"Info\"'\nvariables: {key: test.key | \"-\"}\n"));
    return m;
  }
  static config::Rule checkRule(std::string name, std::string match = "") {
    return rule(std::move(name), std::move(match), "deny.denier.istio-system",
                {"nothing.checknothing.istio-system"});
  }

  static adapter_host::AdapterHost* host_;
  std::vector<config::ConfigError> errors_;
};

adapter_host::AdapterHost* ConfigSnapshotTest::host_ = nullptr;

TEST_F(ConfigSnapshotTest, AnEmptySnapshotHasNoRulesAndTheGivenVocabulary) {
  const auto vocabulary = attribute::Vocabulary::builtin();
  const auto s = ConfigSnapshot::empty(vocabulary, 3);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->generation(), 3u);
  EXPECT_EQ(s->vocabulary(), vocabulary);
  EXPECT_EQ(s->defaultNamespace(), "istio-system");
  EXPECT_EQ(s->ruleCount(), 0u);
  EXPECT_EQ(s->handlerCount(), 0u);
  EXPECT_EQ(s->instanceCount(), 0u);
  EXPECT_TRUE(s->handlers().empty());
  EXPECT_FALSE(s->validateOnly());
  EXPECT_FALSE(s->hasGenerators());
  EXPECT_EQ(s->rulesFor("istio-system").size, 0u);
  EXPECT_EQ(s->rulesFor("bookinfo").size, 0u);
  EXPECT_EQ(ConfigSnapshot::empty(vocabulary)->generation(), 0u);
}

TEST_F(ConfigSnapshotTest, ActionsAreFiledByTheVarietyOfTheirInstances) {
  config::ConfigModel m = base();
  m.rules.push_back(rule("r.rule.istio-system", "", "deny.denier.istio-system",
                         {"nothing.checknothing.istio-system", "requestcount.quota.istio-system"}));
  m.rules.push_back(rule("log.rule.istio-system", "", "log.stdio.istio-system",
                         {"access.logentry.istio-system"}));
  const auto s = compile(m);
  ASSERT_NE(s, nullptr) << errorsText();
  EXPECT_EQ(s->generation(), 7u);
  EXPECT_EQ(s->ruleCount(), 2u);
  EXPECT_EQ(s->handlerCount(), 2u);
  EXPECT_EQ(s->handlers().size(), 2u);
  EXPECT_EQ(s->instanceCount(), 3u);
  EXPECT_TRUE(s->vocabulary()->find("test.key").has_value());  // declared by the model

  const CompiledRule& r = *s->rules()[0];
  EXPECT_EQ(r.name, "r.rule.istio-system");
  EXPECT_EQ(r.ns, "istio-system");
  EXPECT_EQ(r.order, 0u);
  EXPECT_EQ(r.match, nullptr);  // always
  ASSERT_EQ(r.check_actions.size(), 1u);
  EXPECT_EQ(r.check_actions[0].handler_name, "deny.denier.istio-system");
  ASSERT_NE(r.check_actions[0].handler, nullptr);
  EXPECT_EQ(r.check_actions[0].handler->name(), "deny.denier.istio-system");
  ASSERT_EQ(r.check_actions[0].instances.size(), 1u);
  EXPECT_EQ(r.check_actions[0].instances[0]->name, "nothing.checknothing.istio-system");
  EXPECT_EQ(r.check_actions[0].instances[0]->variety, Variety::Check);
  ASSERT_EQ(r.quota_actions.size(), 1u);
  ASSERT_EQ(r.quota_actions[0].instances.size(), 1u);
  EXPECT_EQ(r.quota_actions[0].instances[0]->short_name, "requestcount");
  EXPECT_EQ(r.quota_actions[0].instances[0]->variety, Variety::Quota);
  EXPECT_TRUE(r.report_actions.empty());

  const CompiledRule& log = *s->rules()[1];
  EXPECT_EQ(log.order, 1u);
  EXPECT_TRUE(log.check_actions.empty());
  EXPECT_TRUE(log.quota_actions.empty());
  ASSERT_EQ(log.report_actions.size(), 1u);
  EXPECT_EQ(log.report_actions[0].handler_name, "log.stdio.istio-system");
  ASSERT_EQ(log.report_actions[0].instances.size(), 1u);
  EXPECT_EQ(log.report_actions[0].instances[0]->template_name, "logentry");
  EXPECT_EQ(log.report_actions[0].instances[0]->variety, Variety::Report);
  EXPECT_FALSE(s->hasGenerators());
}

TEST_F(ConfigSnapshotTest, ANamespaceGetsTheDefaultNamespacesRulesAndItsOwn) {
  config::ConfigModel m = base();
  m.rules.push_back(checkRule("a.rule.istio-system"));
  m.rules.push_back(checkRule("b.rule.bookinfo"));
  m.rules.push_back(checkRule("c.rule.other"));
  m.rules.push_back(checkRule("d.rule.istio-system"));
  m.rules.push_back(checkRule("e.rule.bookinfo"));
  const auto s = compile(m);
  ASSERT_NE(s, nullptr) << errorsText();
  const RuleSet& bookinfo = s->rulesFor("bookinfo");
  EXPECT_EQ(bookinfo.size, 4u);
  EXPECT_EQ(names(bookinfo.unindexed),
            (std::vector<std::string>{"a.rule.istio-system", "d.rule.istio-system",
                                      "b.rule.bookinfo", "e.rule.bookinfo"}));
  EXPECT_EQ(
      names(s->rulesFor("other").unindexed),
      (std::vector<std::string>{"a.rule.istio-system", "d.rule.istio-system", "c.rule.other"}));
  // The default namespace, and a namespace without rules of its own: the default's rules only.
  for (const char* ns : {"istio-system", "nowhere", ""}) {
    EXPECT_EQ(names(s->rulesFor(ns).unindexed),
              (std::vector<std::string>{"a.rule.istio-system", "d.rule.istio-system"}))
        << ns;
  }
}

TEST_F(ConfigSnapshotTest, TheDefaultNamespaceIsTheModels) {
  config::ConfigModel m = base();
  m.default_namespace = "mesh";
  m.rules.push_back(checkRule("a.rule.mesh"));
  m.rules.push_back(checkRule("b.rule.istio-system"));
  const auto s = compile(m);
  ASSERT_NE(s, nullptr) << errorsText();
  EXPECT_EQ(s->defaultNamespace(), "mesh");
  EXPECT_EQ(names(s->rulesFor("bookinfo").unindexed), (std::vector<std::string>{"a.rule.mesh"}));
  EXPECT_EQ(names(s->rulesFor("istio-system").unindexed),
            (std::vector<std::string>{"a.rule.mesh", "b.rule.istio-system"}));
}

TEST_F(ConfigSnapshotTest, AStringEqualityTermIndexesARule) {
  config::ConfigModel m = base();
  m.rules.push_back(checkRule("a.rule.istio-system", R"(test.key == "x")"));
  m.rules.push_back(checkRule("b.rule.istio-system", R"(test.count > 2 && "y" == test.key)"));
  m.rules.push_back(checkRule("c.rule.istio-system", R"(test.key == "x" && test.count == 1)"));
  // Not indexable: a disjunction, a non-string comparison, no match at all.
  m.rules.push_back(checkRule("d.rule.istio-system", R"(test.key == "x" || test.count == 1)"));
  m.rules.push_back(checkRule("e.rule.istio-system", "test.count == 3"));
  m.rules.push_back(checkRule("f.rule.istio-system"));
  const auto s = compile(m);
  ASSERT_NE(s, nullptr) << errorsText();
  const auto key = s->vocabulary()->find("test.key");
  ASSERT_TRUE(key.has_value());
  EXPECT_EQ(s->rules()[0]->index_attribute, *key);
  EXPECT_EQ(s->rules()[0]->index_value, "x");
  EXPECT_EQ(s->rules()[1]->index_value, "y");
  EXPECT_EQ(s->rules()[0]->match_text, R"(test.key == "x")");
  EXPECT_NE(s->rules()[0]->match, nullptr);
  for (size_t i = 3; i < 6; ++i) {
    EXPECT_EQ(s->rules()[i]->index_attribute, attribute::kNoAttribute) << s->rules()[i]->name;
  }
  const RuleSet& set = s->rulesFor("istio-system");
  EXPECT_EQ(set.size, 6u);
  EXPECT_EQ(names(set.unindexed),
            (std::vector<std::string>{"d.rule.istio-system", "e.rule.istio-system",
                                      "f.rule.istio-system"}));
  ASSERT_EQ(set.indexes.size(), 1u);
  EXPECT_EQ(set.indexes[0].attribute, *key);
  EXPECT_EQ(set.indexes[0].name, "test.key");
  ASSERT_EQ(set.indexes[0].by_value.size(), 2u);
  EXPECT_EQ(names(set.indexes[0].by_value.at("x")),
            (std::vector<std::string>{"a.rule.istio-system", "c.rule.istio-system"}));
  EXPECT_EQ(names(set.indexes[0].by_value.at("y")),
            (std::vector<std::string>{"b.rule.istio-system"}));
}

TEST_F(ConfigSnapshotTest, ErrorsGiveNoSnapshotAndNameTheirPlace) {
  config::ConfigModel m = base();
  m.rules.push_back(rule("bad.rule.istio-system", "test.nosuch == \"x\"",
                         "deny.denier.istio-system", {"nothing.checknothing.istio-system"}, 21));
  EXPECT_EQ(compile(m), nullptr);
  ASSERT_FALSE(errors_.empty());
  EXPECT_EQ(errors_[0].pos.file, "test.yaml");
  EXPECT_EQ(errors_[0].pos.line, 21);
  EXPECT_NE(errors_[0].message.find("test.nosuch"), std::string::npos) << errorsText();
}

TEST_F(ConfigSnapshotTest, ErrorsAlreadyFoundGiveNoSnapshotButTheRestIsStillReported) {
  const config::ConfigError loader_error{at(99), "a loader error"};
  errors_.push_back(loader_error);
  config::ConfigModel good = base();
  good.rules.push_back(checkRule("a.rule.istio-system"));
  EXPECT_EQ(compile(good), nullptr);
  EXPECT_EQ(errors_.size(), 1u);

  config::ConfigModel bad = base();
  bad.rules.push_back(checkRule("b.rule.istio-system", "test.nosuch == \"x\""));
  EXPECT_EQ(compile(bad), nullptr);
  ASSERT_EQ(errors_.size(), 2u) << errorsText();
  EXPECT_EQ(errors_[0].message, "a loader error");
  EXPECT_NE(errors_[1].message.find("test.nosuch"), std::string::npos) << errorsText();
}

TEST_F(ConfigSnapshotTest, ValidateOnlyChecksHandlersButCreatesNone) {
  config::ConfigModel m = base();
  m.rules.push_back(checkRule("a.rule.istio-system"));
  const auto s = compile(m, 1, /*validate_only=*/true);
  ASSERT_NE(s, nullptr) << errorsText();
  EXPECT_TRUE(s->validateOnly());
  EXPECT_EQ(s->handlerCount(), 2u);
  EXPECT_TRUE(s->handlers().empty());

  // Handler params are still validated.
  config::ConfigModel bad = base();
  bad.handlers[0] = handler("deny.denier.istio-system", "denier", "status: {code: 99}");
  EXPECT_EQ(compile(bad, 1, /*validate_only=*/true), nullptr);
  EXPECT_NE(errorsText().find("deny.denier.istio-system"), std::string::npos) << errorsText();
}

TEST(TemplateVarietyTest, TemplatesMapToTheirCallKind) {
  Variety v = Variety::Report;
  ASSERT_TRUE(templateVariety("checknothing", &v));
  EXPECT_EQ(v, Variety::Check);
  ASSERT_TRUE(templateVariety("listentry", &v));
  EXPECT_EQ(v, Variety::Check);
  ASSERT_TRUE(templateVariety("quota", &v));
  EXPECT_EQ(v, Variety::Quota);
  ASSERT_TRUE(templateVariety("metric", &v));
  EXPECT_EQ(v, Variety::Report);
  v = Variety::Check;
  ASSERT_TRUE(templateVariety("logentry", &v));
  EXPECT_EQ(v, Variety::Report);
  EXPECT_FALSE(templateVariety("nosuchtemplate", &v));
}

}  // namespace
}  // namespace mixer::runtime
