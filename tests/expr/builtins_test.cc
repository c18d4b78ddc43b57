#include "expr/builtins.h"

#include <cmath>

#include "expr/go_duration.h"
#include "expr/ip_address.h"
#include "expr/rfc3339.h"

#include "gtest/gtest.h"

namespace expr {
namespace {

class BuiltinsTest : public ::testing::Test {
 protected:
  EvalContext cel() { return EvalContext{&arena_, Dialect::kCel, nullptr}; }
  Arena arena_;
};

TEST_F(BuiltinsTest, HeterogeneousNumericEqualityInCelOnly) {
  EXPECT_TRUE(valuesEqual(Value::makeInt(1), Value::makeUint(1), Dialect::kCel));
  EXPECT_TRUE(valuesEqual(Value::makeInt(1), Value::makeDouble(1.0), Dialect::kCel));
  EXPECT_FALSE(valuesEqual(Value::makeInt(1), Value::makeDouble(1.0), Dialect::kCexl));
  EXPECT_FALSE(valuesEqual(Value::makeDouble(NAN), Value::makeDouble(NAN), Dialect::kCel));
}

TEST_F(BuiltinsTest, CompareIntWithUintAcrossSignBoundary) {
  auto ctx = cel();
  Value r = opCompare(0, Value::makeInt(-1), Value::makeUint(0), ctx);
  ASSERT_EQ(r.type, ValueType::kBool);
  EXPECT_TRUE(r.bool_value);
}

TEST_F(BuiltinsTest, IntegerOverflowAndDivisionErrors) {
  auto ctx = cel();
  EXPECT_TRUE(opMul(Value::makeInt(INT64_MAX), Value::makeInt(2), ctx).isError());
  EXPECT_TRUE(opDiv(Value::makeInt(INT64_MIN), Value::makeInt(-1), ctx).isError());
  EXPECT_TRUE(opMod(Value::makeInt(1), Value::makeInt(0), ctx).isError());
  EXPECT_TRUE(opNeg(Value::makeInt(INT64_MIN), ctx).isError());
  EXPECT_TRUE(opSub(Value::makeUint(0), Value::makeUint(1), ctx).isError());
  EXPECT_EQ(opAdd(Value::makeInt(2), Value::makeInt(3), ctx).int_value, 5);
}

TEST_F(BuiltinsTest, CexlIntegerAdditionWrapsLikeGo) {
  EvalContext ctx{&arena_, Dialect::kCexl, nullptr};
  Value r = opAdd(Value::makeInt(INT64_MAX), Value::makeInt(1), ctx);
  ASSERT_EQ(r.type, ValueType::kInt64);
  EXPECT_EQ(r.int_value, INT64_MIN);
}

TEST_F(BuiltinsTest, StringConcatenationUsesTheArena) {
  auto ctx = cel();
  Value r = opAdd(Value::makeString("ab"), Value::makeString("cd"), ctx);
  EXPECT_EQ(r.stringView(), "abcd");
  EXPECT_EQ(arena_.used(), 4u);
}

TEST_F(BuiltinsTest, IpParsingAndFormatting) {
  std::string b;
  ASSERT_TRUE(parseIp("10.1.2.3", &b));
  EXPECT_EQ(b.size(), 16u);
  EXPECT_EQ(formatIp(b), "10.1.2.3");
  EXPECT_EQ(formatIp(std::string("\x0a\x01\x02\x03", 4)), "10.1.2.3");
  ASSERT_TRUE(parseIp("2001:db8::1", &b));
  EXPECT_EQ(formatIp(b), "2001:db8::1");
  EXPECT_FALSE(parseIp("10.1.12", &b));
}

TEST_F(BuiltinsTest, TimestampRoundTrip) {
  Timestamp ts;
  ASSERT_TRUE(parseRfc3339("2015-01-02T15:04:35.5+01:00", &ts));
  EXPECT_EQ(formatRfc3339(ts), "2015-01-02T14:04:35.5Z");
  EXPECT_FALSE(parseRfc3339("242233", &ts));
}

TEST_F(BuiltinsTest, GoDurationFormatting) {
  EXPECT_EQ(formatGoDuration(20000000), "20ms");
  EXPECT_EQ(formatGoDuration(3723000000000), "1h2m3s");
  EXPECT_EQ(formatGoDuration(0), "0s");  // as Go prints it
  EXPECT_EQ(formatGoDuration(1500), "1.5\xC2\xB5s");
}

TEST_F(BuiltinsTest, FindBuiltinRespectsDialectAndArity) {
  EXPECT_GE(findBuiltin("toLower", false, 1, Dialect::kCexl), 0);
  EXPECT_LT(findBuiltin("toLower", false, 2, Dialect::kCexl), 0);
  EXPECT_LT(findBuiltin("contains", true, 2, Dialect::kCexl), 0);
  EXPECT_GE(findBuiltin("contains", true, 2, Dialect::kCel), 0);
}

}  // namespace
}  // namespace expr
