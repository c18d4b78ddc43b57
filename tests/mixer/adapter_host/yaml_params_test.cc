#include "mixer/adapter_host/yaml_params.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace mixer::adapter_host {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(YamlParamsTest, TypesScalarsLikeYamlCoreSchema) {
  const YAML::Node node = YAML::Load(R"(
status:
  code: 7
  message: Not allowed
valid_duration: 5s
ratio: 0.25
enabled: true
quoted: "7"
nothing: ~
hex: 0x1f
list: [a, 2, false]
)");
  std::vector<ParamError> errors;
  const AbiValue v = valueFromYaml(node, "params", &errors);
  EXPECT_THAT(errors, IsEmpty());
  ASSERT_EQ(v.type(), MIXER_VALUE_MAP);
  EXPECT_EQ(v.find("status")->find("code")->type(), MIXER_VALUE_INT64);
  EXPECT_EQ(v.find("status")->find("code")->int64Value(), 7);
  EXPECT_EQ(v.find("status")->find("message")->stringValue(), "Not allowed");
  EXPECT_EQ(v.find("valid_duration")->type(), MIXER_VALUE_STRING);
  EXPECT_EQ(v.find("ratio")->doubleValue(), 0.25);
  EXPECT_TRUE(v.find("enabled")->boolValue());
  EXPECT_EQ(v.find("quoted")->type(), MIXER_VALUE_STRING);
  EXPECT_EQ(v.find("quoted")->stringValue(), "7");
  EXPECT_TRUE(v.find("nothing")->isNull());
  EXPECT_EQ(v.find("hex")->int64Value(), 31);
  const auto& list = v.find("list")->listValue();
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0].stringValue(), "a");
  EXPECT_EQ(list[1].int64Value(), 2);
  EXPECT_EQ(list[2].type(), MIXER_VALUE_BOOL);
  // Keys keep the file's order.
  EXPECT_EQ(v.mapValue()[0].first, "status");
  EXPECT_EQ(v.mapValue()[1].first, "valid_duration");
}

TEST(YamlParamsTest, ReportsBadKeysWithPathAndPosition) {
  const YAML::Node node = YAML::Load("a: 1\nnested:\n  ? [x, y]\n  : 2\n");
  std::vector<ParamError> errors;
  valueFromYaml(node, "params", &errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "params.nested");
  EXPECT_EQ(errors[0].message, "map keys must be scalars");
  EXPECT_EQ(errors[0].line, 3);
  EXPECT_EQ(errors[0].toString(), "3:5: params.nested: map keys must be scalars");
}

TEST(YamlParamsTest, ListPathsUseIndexes) {
  const YAML::Node node = YAML::Load("quotas:\n- name: a\n- {? [k] : v}\n");
  std::vector<ParamError> errors;
  valueFromYaml(node, "params", &errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "params.quotas[1]");
}

TEST(YamlParamsTest, EmptyDocumentIsNull) {
  std::vector<ParamError> errors;
  EXPECT_TRUE(valueFromYaml(YAML::Load(""), "params", &errors).isNull());
  EXPECT_THAT(errors, IsEmpty());
}

TEST(YamlParamsTest, LocatesErrorsReportedByPath) {
  const YAML::Node doc = YAML::Load(
      "kind: denier\n"
      "spec:\n"
      "  status:\n"
      "    code: 17\n"
      "  quotas:\n"
      "  - name: a\n"
      "  - name: b\n"
      "    max_amount: -1\n");
  std::vector<ParamError> errors = {
      {"params.status.code", "bad code"},         {"params.quotas[1].max_amount", "negative"},
      {"params.quotas[7].name", "no such entry"}, {"params.colour", "unknown"},
      {"other.path", "not below params"},         {"params.status", "already placed", 99, 1}};
  locateErrors(doc["spec"], "params", &errors);
  EXPECT_EQ(errors[0].toString(), "4:11: params.status.code: bad code");
  EXPECT_EQ(errors[1].toString(), "8:17: params.quotas[1].max_amount: negative");
  EXPECT_EQ(errors[2].line, 6);  // the deepest node that resolves: the quotas list
  EXPECT_EQ(errors[3].line, 3);  // the params map itself
  EXPECT_EQ(errors[4].line, 0);
  EXPECT_EQ(errors[5].line, 99);
  // The walk does not modify the document.
  EXPECT_EQ(YAML::Dump(doc), YAML::Dump(YAML::Load(YAML::Dump(doc))));
  EXPECT_FALSE(doc["spec"]["colour"].IsDefined());
}

}  // namespace
}  // namespace mixer::adapter_host
