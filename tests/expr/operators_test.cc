// The operators (expr/operators.cc): arithmetic with CEL's overflow, division and range errors
// (CEXL's + wraps like Go), ordering, indexing, `in`, has() and container access.
#include "expr/builtins.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <string>

#include "gtest/gtest.h"
#include "tests/expr/eval_fixture.h"

namespace expr {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr uint64_t kUMax = std::numeric_limits<uint64_t>::max();

class OperatorsTest : public testing::EvalFixture {
 protected:
  // Calls an operator in `dialect` and renders the result.
  template <typename Op>
  std::string op(Op fn, const Value& a, const Value& b, Dialect dialect = Dialect::kCel) {
    EvalContext ctx = context(dialect);
    return formatValue(fn(a, b, ctx));
  }
  static Value i(int64_t v) { return Value::makeInt(v); }
  static Value u(uint64_t v) { return Value::makeUint(v); }
  static Value d(double v) { return Value::makeDouble(v); }
};

TEST_F(OperatorsTest, IntegerArithmeticOverflowIsAnErrorInCel) {
  EXPECT_EQ(op(opAdd, i(2), i(3)), "5");
  EXPECT_EQ(op(opAdd, i(kMax), i(1)), "error: integer overflow");
  EXPECT_EQ(op(opAdd, i(kMin), i(-1)), "error: integer overflow");
  EXPECT_EQ(op(opSub, i(kMin), i(1)), "error: integer overflow");
  EXPECT_EQ(op(opSub, i(5), i(7)), "-2");
  EXPECT_EQ(op(opMul, i(kMax), i(2)), "error: integer overflow");
  EXPECT_EQ(op(opMul, i(-4), i(5)), "-20");
  EXPECT_EQ(op(opDiv, i(kMin), i(-1)), "error: integer overflow");
  EXPECT_EQ(op(opDiv, i(-7), i(2)), "-3");  // truncates toward zero
  EXPECT_EQ(op(opDiv, i(1), i(0)), "error: division by zero");
  EXPECT_EQ(op(opMod, i(-7), i(2)), "-1");  // the sign of the dividend
  EXPECT_EQ(op(opMod, i(1), i(0)), "error: modulus by zero");
  EXPECT_EQ(op(opMod, i(kMin), i(-1)), "error: integer overflow");
}

TEST_F(OperatorsTest, UnsignedArithmeticOverflowIsAnError) {
  EXPECT_EQ(op(opAdd, u(kUMax), u(1)), "error: unsigned integer overflow");
  EXPECT_EQ(op(opSub, u(0), u(1)), "error: unsigned integer overflow");
  EXPECT_EQ(op(opMul, u(kUMax), u(2)), "error: unsigned integer overflow");
  EXPECT_EQ(op(opMul, u(3), u(4)), "12");
  EXPECT_EQ(op(opDiv, u(7), u(2)), "3");
  EXPECT_EQ(op(opDiv, u(7), u(0)), "error: division by zero");
  EXPECT_EQ(op(opMod, u(7), u(0)), "error: modulus by zero");
  EXPECT_EQ(op(opMod, u(7), u(4)), "3");
}

TEST_F(OperatorsTest, CexlAdditionWrapsLikeGo) {
  EvalContext ctx = context(Dialect::kCexl);
  Value r = opAdd(i(kMax), i(1), ctx);
  ASSERT_EQ(r.type, ValueType::kInt64);
  EXPECT_EQ(r.int_value, kMin);
  EXPECT_EQ(eval("9223372036854775807 + 1", Dialect::kCexl), "-9223372036854775808");
}

TEST_F(OperatorsTest, DoubleArithmeticFollowsIeee) {
  EXPECT_EQ(op(opDiv, d(1), d(0)), "+Inf");
  EXPECT_EQ(op(opDiv, d(-1), d(0)), "-Inf");
  EXPECT_EQ(op(opAdd, d(0.5), d(0.25)), "0.75");
  EXPECT_EQ(op(opMul, d(1.5), d(-2)), "-3");
  EXPECT_EQ(op(opMod, d(5), d(2)), "error: no such overload: _%_(DOUBLE, DOUBLE)");
}

TEST_F(OperatorsTest, MixedNumericArithmeticHasNoOverload) {
  EXPECT_EQ(op(opAdd, i(1), u(1)), "error: no such overload: _+_(INT64, uint)");
  EXPECT_EQ(op(opSub, i(1), d(1)), "error: no such overload: _-_(INT64, DOUBLE)");
  EXPECT_EQ(op(opMul, str("a"), i(2)), "error: no such overload: _*_(STRING, INT64)");
  EXPECT_EQ(op(opDiv, u(1), i(1)), "error: no such overload: _/_(uint, INT64)");
}

TEST_F(OperatorsTest, Negation) {
  EvalContext ctx = context();
  EXPECT_EQ(formatValue(opNeg(i(5), ctx)), "-5");
  EXPECT_EQ(formatValue(opNeg(i(kMin), ctx)), "error: integer overflow");
  EXPECT_EQ(formatValue(opNeg(d(2.5), ctx)), "-2.5");
  EXPECT_EQ(formatValue(opNeg(Value::makeDuration(1000), ctx)), "-1\xC2\xB5s");
  EXPECT_EQ(formatValue(opNeg(Value::makeDuration(kMin), ctx)), "error: duration out of range");
  EXPECT_EQ(formatValue(opNeg(u(1), ctx)), "error: no such overload: -_(uint)");
  EXPECT_EQ(formatValue(opNot(Value::makeBool(true), ctx)), "false");
  EXPECT_EQ(formatValue(opNot(i(1), ctx)), "error: no such overload: !_(INT64)");
}

TEST_F(OperatorsTest, ConcatenationOfStringsBytesAndLists) {
  EXPECT_EQ(op(opAdd, str("ab"), str("cd")), "abcd");
  EXPECT_EQ(arena_.used(), 4u);  // the result lives in the arena
  EXPECT_EQ(op(opAdd, bytes("a"), bytes("b")), R"(b"ab")");
  EXPECT_EQ(eval("[1] + [2, 3]"), "[1, 2, 3]");
  EXPECT_EQ(eval("[] + []"), "[]");
  // Concatenating an empty string returns the other operand without copying.
  size_t before = arena_.used();
  EXPECT_EQ(op(opAdd, str(""), str("xyz")), "xyz");
  EXPECT_EQ(arena_.used(), before);
  EXPECT_EQ(op(opAdd, str("a"), bytes("b")), "error: no such overload: _+_(STRING, bytes)");
}

TEST_F(OperatorsTest, TimestampAndDurationArithmetic) {
  EXPECT_EQ(eval(R"(timestamp("2015-01-02T15:04:35Z") + duration("1h"))"), "2015-01-02T16:04:35Z");
  EXPECT_EQ(eval(R"(duration("1h") + timestamp("2015-01-02T15:04:35Z"))"), "2015-01-02T16:04:35Z");
  EXPECT_EQ(eval(R"(timestamp("2015-01-02T15:04:35Z") - duration("90m"))"), "2015-01-02T13:34:35Z");
  // Borrowing across the second boundary.
  EXPECT_EQ(eval(R"(timestamp("1970-01-01T00:00:00Z") - duration("1ns"))"),
            "1969-12-31T23:59:59.999999999Z");
  EXPECT_EQ(eval(R"(timestamp("1970-01-01T00:00:00.5Z") + duration("0.75s"))"),
            "1970-01-01T00:00:01.25Z");
  EXPECT_EQ(eval(R"(timestamp("2015-01-02T15:04:35Z") - timestamp("2015-01-02T13:04:35.5Z"))"),
            "1h59m59.5s");
  EXPECT_EQ(eval(R"(duration("1h") + duration("30m"))"), "1h30m0s");
  EXPECT_EQ(eval(R"(duration("1h") - duration("2h"))"), "-1h0m0s");
  EXPECT_EQ(eval(R"(timestamp("9999-12-31T23:59:59Z") + duration("1s"))"),
            "error: timestamp out of range");
  // The difference of the extreme timestamps does not fit in a duration.
  EXPECT_EQ(eval(R"(timestamp("9999-12-31T23:59:59Z") - timestamp("0001-01-01T00:00:00Z"))"),
            "error: duration out of range");
  EXPECT_EQ(op(opAdd, Value::makeDuration(kMax), Value::makeDuration(1)),
            "error: duration out of range");
  EXPECT_EQ(op(opSub, Value::makeDuration(kMin), Value::makeDuration(1)),
            "error: duration out of range");
  EXPECT_EQ(op(opSub, Value::makeTimestamp(0, 0), Value::makeDuration(kMin)),
            "error: duration out of range");
  EXPECT_EQ(op(opMul, Value::makeDuration(1), Value::makeDuration(2)),
            "error: no such overload: _*_(DURATION, DURATION)");
}

TEST_F(OperatorsTest, OrderingAcrossNumericKindsInCel) {
  EvalContext ctx = context();
  auto lt = [&](const Value& a, const Value& b) { return formatValue(opCompare(0, a, b, ctx)); };
  EXPECT_EQ(lt(i(1), d(2.5)), "true");
  EXPECT_EQ(lt(i(-1), u(0)), "true");
  EXPECT_EQ(lt(u(0), i(-1)), "false");
  EXPECT_EQ(lt(u(kUMax), i(kMax)), "false");
  EXPECT_EQ(lt(d(std::nan("")), i(1)), "false");
  EXPECT_EQ(formatValue(opCompare(3, d(std::nan("")), d(std::nan("")), ctx)), "false");
  EXPECT_EQ(formatValue(opCompare(1, i(2), u(2), ctx)), "true");    // <=
  EXPECT_EQ(formatValue(opCompare(2, d(2.5), i(2), ctx)), "true");  // >
  EXPECT_EQ(formatValue(opCompare(3, i(1), i(2), ctx)), "false");   // >=
}

TEST_F(OperatorsTest, OrderingOfOtherTypes) {
  EvalContext ctx = context();
  EXPECT_EQ(formatValue(opCompare(0, str("a"), str("b"), ctx)), "true");
  EXPECT_EQ(formatValue(opCompare(0, str("b"), str("ab"), ctx)), "false");
  EXPECT_EQ(formatValue(opCompare(0, bytes("a"), bytes("ab"), ctx)), "true");
  EXPECT_EQ(formatValue(opCompare(2, Value::makeBool(true), Value::makeBool(false), ctx)), "true");
  EXPECT_EQ(formatValue(opCompare(0, Value::makeDuration(-1), Value::makeDuration(0), ctx)),
            "true");
  EXPECT_EQ(formatValue(opCompare(0, Value::makeTimestamp(5, 1), Value::makeTimestamp(5, 2), ctx)),
            "true");
  EXPECT_EQ(formatValue(opCompare(2, Value::makeTimestamp(6, 0), Value::makeTimestamp(5, 9), ctx)),
            "true");
  EXPECT_EQ(formatValue(opCompare(0, list({}), list({}), ctx)),
            "error: no such overload: _<_(list, list)");
  EXPECT_EQ(formatValue(opCompare(3, str("a"), i(1), ctx)),
            "error: no such overload: _>=_(STRING, INT64)");
  // CEXL orders numbers of one kind only.
  EXPECT_EQ(op([](const Value& a, const Value& b, EvalContext& c) { return opCompare(0, a, b, c); },
               i(1), d(1.5), Dialect::kCexl),
            "error: no such overload: _<_(INT64, DOUBLE)");
}

TEST_F(OperatorsTest, ErrorsPropagateLeftFirst) {
  Value left = Value::makeError("left"), right = Value::makeError("right");
  EXPECT_EQ(op(opAdd, left, right), "error: left");
  EXPECT_EQ(op(opAdd, i(1), right), "error: right");
  EXPECT_EQ(op(opEq, left, right), "error: left");
  EXPECT_EQ(op(opNe, i(1), right), "error: right");
  EvalContext ctx = context();
  EXPECT_EQ(formatValue(opCompare(0, i(1), right, ctx)), "error: right");
  EXPECT_EQ(formatValue(opNeg(left, ctx)), "error: left");
  EXPECT_EQ(formatValue(opIn(i(1), right, ctx)), "error: right");
}

TEST_F(OperatorsTest, EqualityOperators) {
  EXPECT_EQ(op(opEq, i(1), d(1.0)), "true");
  EXPECT_EQ(op(opNe, i(1), d(1.0)), "false");
  EXPECT_EQ(op(opEq, i(1), d(1.0), Dialect::kCexl), "false");
  EXPECT_EQ(op(opNe, str("a"), i(1)), "true");
}

TEST_F(OperatorsTest, IndexingMapsAndLists) {
  EXPECT_EQ(eval(R"({"a": 1}["a"])"), "1");
  EXPECT_EQ(eval(R"({"a": 1}["b"])"), "error: no such key: b");
  EXPECT_EQ(eval(R"({1: "one"}[2])"), "error: no such key");
  EXPECT_EQ(eval(R"({1: "one"}[1u])"), "one");  // numeric keys compare by value
  EXPECT_EQ(eval(R"({1: "one"}[1.0])"), "one");
  EXPECT_EQ(eval(R"({true: "t"}[true])"), "t");
  EXPECT_EQ(eval("[10, 20, 30][1]"), "20");
  EXPECT_EQ(eval("[10, 20, 30][2u]"), "30");
  EXPECT_EQ(eval("[10, 20, 30][0.0]"), "10");
  EXPECT_EQ(eval("[10, 20, 30][3]"), "error: index out of bounds: 3");
  EXPECT_EQ(eval("[10, 20, 30][-1]"), "error: index out of bounds: -1");
  EXPECT_EQ(eval("[10, 20, 30][1.5]"), "error: no such overload: _[_](list, DOUBLE)");
  EXPECT_EQ(eval(R"("abc"[0])"), "error: no such overload: _[_](STRING, INT64)");

  bool found = true;
  EvalContext cexl = context(Dialect::kCexl);
  testing::TestStringMap headers(std::map<std::string, std::string>{{"a", "1"}});
  Value m = Value::makeStringMap(&headers);
  EXPECT_EQ(formatValue(opIndex(m, str("b"), cexl, &found)), "");  // CEXL: absent is ""
  EXPECT_FALSE(found);
  EXPECT_EQ(formatValue(opIndex(m, str("a"), cexl, &found)), "1");
  EXPECT_TRUE(found);
  EvalContext cel = context();
  EXPECT_EQ(formatValue(opIndex(m, i(1), cel, &found)), "error: no such key");
  EXPECT_FALSE(found);
}

TEST_F(OperatorsTest, InAndHas) {
  EXPECT_EQ(eval("2 in [1, 2]"), "true");
  EXPECT_EQ(eval("2.0 in [1, 2]"), "true");
  EXPECT_EQ(eval("3 in [1, 2]"), "false");
  EXPECT_EQ(eval(R"("a" in {"a": 1})"), "true");
  EXPECT_EQ(eval(R"(1 in {"a": 1})"), "false");
  EXPECT_EQ(eval(R"(1 in "abc")"), "error: no such overload: @in(INT64, STRING)");
  EXPECT_EQ(eval(R"(has({"a": 1}.a))"), "true");
  EXPECT_EQ(eval(R"(has({"a": 1}.b))"), "false");
  EvalContext ctx = context();
  EXPECT_EQ(formatValue(opHas(i(1), "a", ctx)), "error: invalid type for field selection: INT64");
}

TEST_F(OperatorsTest, ContainerSizeAndElements) {
  Value l = list({i(7), i(8)});
  EXPECT_EQ(containerSize(l), 2);
  EXPECT_EQ(formatValue(containerElement(l, 1)), "8");
  testing::TestStringMap headers(std::map<std::string, std::string>{{"k", "v"}});
  Value m = Value::makeStringMap(&headers);
  EXPECT_EQ(containerSize(m), 1);
  EXPECT_EQ(formatValue(containerElement(m, 0)), "k");  // the key, not the value
  EXPECT_EQ(containerSize(str("abc")), -1);
}

}  // namespace
}  // namespace expr
