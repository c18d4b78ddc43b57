#include "expr/format.h"

#include "gtest/gtest.h"
#include "tests/expr/test_bag.h"

namespace expr {
namespace {

TEST(FormatTest, SuiteNotation) {
  EXPECT_EQ(formatValue(Value::makeTimestamp(1420211075, 0)), "2015-01-02T15:04:35Z");
  EXPECT_EQ(formatValue(Value::makeDuration(3600000000000LL + 120000000000LL)), "1h2m0s");
  EXPECT_EQ(formatValue(Value::makeIp(std::string_view("\x01\x02\x03\x04", 4))), "1.2.3.4");
  testing::TestStringMap m({{"b", "2"}, {"a", "1"}});
  EXPECT_EQ(formatValue(Value::makeStringMap(&m)), R"({"a": "1", "b": "2"})");
  EXPECT_EQ(formatValue(Value::makeDouble(23.46)), "23.46");
  EXPECT_EQ(formatValue(Value::makeError("boom")), "error: boom");
}

TEST(FormatTest, Json) {
  EXPECT_EQ(formatValueJson(Value::makeString("a\"b")), R"("a\"b")");
  EXPECT_EQ(formatValueJson(Value::makeInt(-3)), "-3");
  EXPECT_EQ(formatValueJson(Value::makeBytes("hi")), R"("aGk=")");
  EXPECT_EQ(formatValueJson(Value::makeNull()), "null");
  EXPECT_EQ(formatValueJson(Value::makeDuration(20000000)), R"("20ms")");
  EXPECT_EQ(formatValueJson(Value::makeError("x")), R"({"error": "x"})");
}

TEST(FormatTest, ReferencesAreNamedSortedAndDeduplicated) {
  AttributeManifest manifest;
  manifest.add("ar", 7, ValueType::kStringMap);
  manifest.add("as", 8, ValueType::kString);
  std::vector<Reference> refs = {
      {7, true, false, {}}, {7, false, true, "k"}, {8, false, false, {}}, {7, true, false, {}}};
  EXPECT_EQ(formatReferences(refs, manifest), (std::vector<std::string>{"-ar[k]", "-as", "ar"}));
}

}  // namespace
}  // namespace expr
