// CEL type conversions (expr/builtins_conversion.cc): int, uint, double, string, bytes, bool,
// dyn and type, with range and syntax errors as error values.
#include "gtest/gtest.h"
#include "tests/expr/eval_fixture.h"

namespace expr {
namespace {

class ConversionBuiltinsTest : public testing::EvalFixture {};

TEST_F(ConversionBuiltinsTest, Int) {
  EXPECT_EQ(eval("int(42u)"), "42");
  EXPECT_EQ(evalType("int(42u)"), "INT64");
  EXPECT_EQ(eval("int(9223372036854775807u)"), "9223372036854775807");
  EXPECT_EQ(eval("int(9223372036854775808u)"), "error: int range error");
  EXPECT_EQ(eval("int(3.9)"), "3");  // truncates toward zero
  EXPECT_EQ(eval("int(-3.9)"), "-3");
  EXPECT_EQ(eval("int(1e19)"), "error: int range error");
  EXPECT_EQ(eval("int(double('NaN'))"), "error: int range error");
  EXPECT_EQ(eval(R"(int("-123"))"), "-123");
  EXPECT_EQ(eval(R"(int("12a"))"), "error: int conversion error");
  EXPECT_EQ(eval(R"(int("9223372036854775808"))"), "error: int conversion error");
  EXPECT_EQ(eval(R"(int(timestamp("1970-01-01T00:01:00Z")))"), "60");
  EXPECT_EQ(eval(R"(int(duration("1s")))"), "1000000000");
  EXPECT_EQ(call("int", false, {bytes("1")}), "error: no such overload: int(bytes)");
}

TEST_F(ConversionBuiltinsTest, Uint) {
  EXPECT_EQ(eval("uint(42)"), "42");
  EXPECT_EQ(evalType("uint(42)"), "uint");
  EXPECT_EQ(eval("uint(-1)"), "error: uint range error");
  EXPECT_EQ(eval("uint(3.7)"), "3");
  EXPECT_EQ(eval("uint(-0.5)"), "0");  // truncates to zero, in range
  EXPECT_EQ(eval("uint(-1.0)"), "error: uint range error");
  EXPECT_EQ(eval("uint(18446744073709551616.0)"), "error: uint range error");
  EXPECT_EQ(eval(R"(uint("42"))"), "42");
  EXPECT_EQ(eval(R"(uint("-1"))"), "error: uint conversion error");
  EXPECT_EQ(call("uint", false, {Value::makeNull()}), "error: no such overload: uint(null_type)");
}

TEST_F(ConversionBuiltinsTest, Double) {
  EXPECT_EQ(eval("double(1)"), "1");
  EXPECT_EQ(evalType("double(1)"), "DOUBLE");
  EXPECT_EQ(eval("double(2u)"), "2");
  EXPECT_EQ(eval(R"(double("1.5"))"), "1.5");
  EXPECT_EQ(eval(R"(double("-2.5e3") == -2500.0)"), "true");
  EXPECT_EQ(eval(R"(double("inf") > 1e308)"), "true");
  EXPECT_EQ(eval(R"(double("-Infinity") < -1e308)"), "true");
  EXPECT_EQ(eval(R"(double("NaN") == double("NaN"))"), "false");
  EXPECT_EQ(eval(R"(double("abc"))"), "error: double conversion error");
  EXPECT_EQ(eval(R"(double(""))"), "error: double conversion error");
  EXPECT_EQ(eval(R"(double("1.5x"))"), "error: double conversion error");
  EXPECT_EQ(call("double", false, {Value::makeBool(true)}),
            "error: no such overload: double(BOOL)");
}

TEST_F(ConversionBuiltinsTest, StringOfNumbers) {
  EXPECT_EQ(eval("string(-5)"), "-5");
  EXPECT_EQ(eval("string(5u)"), "5");
  EXPECT_EQ(eval("string(1.5)"), "1.5");
  EXPECT_EQ(eval("string(0.1)"), "0.1");
  EXPECT_EQ(eval("string(1000000.0)"), "1e+06");  // Go's 'g' form
  EXPECT_EQ(eval("string(1.0 / 0.0)"), "+Inf");
  EXPECT_EQ(eval("string(true)"), "true");
}

// Go's strconv.FormatFloat(d, 'g', -1, 64), which cel-go's string(double) uses, picks the
// exponent form from the decimal exponent alone (below -4 or at least 6), whatever the number of
// digits: 100000 -> "100000", 2500 -> "2500", 123456789 -> "1.23456789e+08", 0.0001 -> "0.0001",
// 0.00001 -> "1e-05".
TEST_F(ConversionBuiltinsTest, StringOfRoundDoublesIsPositionalBelowAMillion) {
  EXPECT_EQ(eval("string(100000.0)"), "100000");
  EXPECT_EQ(eval("string(2500.0)"), "2500");
  EXPECT_EQ(eval("string(123456789.0)"), "1.23456789e+08");
  EXPECT_EQ(eval("string(0.0001)"), "0.0001");
  EXPECT_EQ(eval("string(0.00001)"), "1e-05");
  EXPECT_EQ(eval("string(-2500.5)"), "-2500.5");
  EXPECT_EQ(eval("string(0.1 + 0.2)"), "0.30000000000000004");
}

TEST_F(ConversionBuiltinsTest, StringOfOtherTypes) {
  EXPECT_EQ(eval(R"(string(b"abc"))"), "abc");
  EXPECT_EQ(eval(R"(string(b"\xff"))"), "error: invalid UTF-8 in bytes");
  EXPECT_EQ(eval(R"(string(timestamp("2015-01-02T15:04:35.500Z")))"), "2015-01-02T15:04:35.5Z");
  // Durations print in the protobuf JSON form, not Go's.
  EXPECT_EQ(eval(R"(string(duration("1m30.25s")))"), "90.25s");
  EXPECT_EQ(eval(R"(string(duration("-1ms")))"), "-0.001s");
  EXPECT_EQ(eval(R"(string(duration("0s")))"), "0s");
  EXPECT_EQ(eval(R"(string(ip("::ffff:0:0:1")))"), "::ffff:0:0:1");
  EXPECT_EQ(eval(R"(string(dnsName("a.com")))"), "a.com");
  EXPECT_EQ(evalType(R"(string(dnsName("a.com")))"), "STRING");
  EXPECT_EQ(call("string", false, {list({})}), "error: no such overload: string(list)");
}

TEST_F(ConversionBuiltinsTest, BytesBoolAndDyn) {
  EXPECT_EQ(eval(R"(bytes("abc"))"), R"(b"abc")");
  EXPECT_EQ(eval(R"(bytes(b"abc"))"), R"(b"abc")");
  EXPECT_EQ(call("bytes", false, {Value::makeInt(1)}), "error: no such overload: bytes(INT64)");
  EXPECT_EQ(eval(R"(bool("true"))"), "true");
  EXPECT_EQ(eval(R"(bool("T"))"), "true");
  EXPECT_EQ(eval(R"(bool("1"))"), "true");
  EXPECT_EQ(eval(R"(bool("False"))"), "false");
  EXPECT_EQ(eval(R"(bool("0"))"), "false");
  EXPECT_EQ(eval(R"(bool("yes"))"), "error: bool conversion error");
  EXPECT_EQ(eval(R"(bool("tRUE"))"), "error: bool conversion error");
  EXPECT_EQ(call("bool", false, {Value::makeInt(1)}), "error: no such overload: bool(INT64)");
  EXPECT_EQ(eval("dyn(1) == 1"), "true");
  EXPECT_EQ(eval(R"(dyn("x"))"), "x");
}

TEST_F(ConversionBuiltinsTest, TypeNames) {
  EXPECT_EQ(eval("type(1)"), "int");
  EXPECT_EQ(eval("type(1u)"), "uint");
  EXPECT_EQ(eval("type(1.0)"), "double");
  EXPECT_EQ(eval("type(true)"), "bool");
  EXPECT_EQ(eval(R"(type(""))"), "string");
  EXPECT_EQ(eval(R"(type(b""))"), "bytes");
  EXPECT_EQ(eval("type(null)"), "null_type");
  EXPECT_EQ(eval("type([])"), "list");
  EXPECT_EQ(eval("type({})"), "map");
  EXPECT_EQ(eval("type(type(1))"), "type");
  EXPECT_EQ(eval("type(timestamp(0))"), "google.protobuf.Timestamp");
  EXPECT_EQ(eval(R"(type(duration("1s")))"), "google.protobuf.Duration");
  EXPECT_EQ(eval("type(1) == int"), "true");
  // Mixer types are named as Istio names them.
  EXPECT_EQ(eval(R"(type(dnsName("a.com")))"), "DNS_NAME");
}

TEST_F(ConversionBuiltinsTest, ConversionsAreCelOnly) {
  EXPECT_EQ(call("int", false, {str("1")}, Dialect::kCexl), "no builtin");
  EXPECT_EQ(call("string", false, {Value::makeInt(1)}, Dialect::kCexl), "no builtin");
}

}  // namespace
}  // namespace expr
