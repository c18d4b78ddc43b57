// Text formats of the CEL strings extension (expr/builtins_format.cc): "fmt".format([args])
// and strings.quote().
#include "gtest/gtest.h"
#include "tests/expr/eval_fixture.h"

namespace expr {
namespace {

class FormatBuiltinsTest : public testing::EvalFixture {};

TEST_F(FormatBuiltinsTest, StringClauseRendersEveryKind) {
  EXPECT_EQ(eval(R"("%s and %s".format(["a", 1]))"), "a and 1");
  EXPECT_EQ(eval(R"("%s|%s|%s".format([2u, true, null]))"), "2|true|null");
  EXPECT_EQ(eval(R"("%s".format([1.5]))"), "1.5");
  EXPECT_EQ(eval(R"("%s".format([1.0 / 0.0]))"), "Infinity");
  EXPECT_EQ(eval(R"("%s".format([[1, "a", [true]]]))"), "[1, a, [true]]");
  // Map entries are sorted by their rendered key.
  EXPECT_EQ(eval(R"("%s".format([{"b": 2, "a": 1}]))"), "{a: 1, b: 2}");
  EXPECT_EQ(eval(R"("%s".format([duration("1.5s")]))"), "1.5s");
  EXPECT_EQ(eval(R"("%s".format([timestamp(0)]))"), "1970-01-01T00:00:00Z");
  EXPECT_EQ(eval(R"("%s".format([ip("::1")]))"), "::1");
  EXPECT_EQ(eval(R"("%s".format([b"hi"]))"), "hi");
  EXPECT_EQ(eval(R"("%s".format([type(1)]))"), "int");
  EXPECT_EQ(eval(R"("%s".format([cidr("10.0.0.0/8")]))"), "error: format: unsupported type for %s");
}

TEST_F(FormatBuiltinsTest, NumericClauses) {
  EXPECT_EQ(eval(R"("%d".format([-42]))"), "-42");
  EXPECT_EQ(eval(R"("%d".format([42u]))"), "42");
  EXPECT_EQ(eval(R"("%d".format([double("NaN")]))"), "NaN");
  EXPECT_EQ(eval(R"("%d".format([1.5]))"),
            "error: format: decimal clause can only be used on integers");
  EXPECT_EQ(eval(R"("%.2f".format([3.14159]))"), "3.14");
  EXPECT_EQ(eval(R"("%f".format([1]))"), "1.000000");
  EXPECT_EQ(eval(R"("%.1f".format([-1.0 / 0.0]))"), "-Infinity");
  EXPECT_EQ(eval(R"("%e".format([1234.5]))"), "1.234500e+03");
  EXPECT_EQ(eval(R"("%.2e".format([0.000123]))"), "1.23e-04");
  EXPECT_EQ(eval(R"("%f".format(["x"]))"),
            "error: format: fixed-point clause can only be used on numbers");
}

TEST_F(FormatBuiltinsTest, IntegerBaseClauses) {
  EXPECT_EQ(eval(R"("%x".format([255]))"), "ff");
  EXPECT_EQ(eval(R"("%X".format([255]))"), "FF");
  EXPECT_EQ(eval(R"("%x".format([-255]))"), "-ff");
  EXPECT_EQ(eval(R"("%x".format([0]))"), "0");
  EXPECT_EQ(eval(R"("%o".format([8]))"), "10");
  EXPECT_EQ(eval(R"("%b".format([5u]))"), "101");
  EXPECT_EQ(eval(R"("%b".format([true]))"), "1");
  EXPECT_EQ(eval(R"("%x".format(["hi"]))"), "6869");
  EXPECT_EQ(eval(R"("%X".format([b"\x0a\xff"]))"), "0AFF");
  EXPECT_EQ(eval(R"("%o".format(["hi"]))"), "error: format: unsupported type for integer clause");
  EXPECT_EQ(eval(R"("%x".format([1.5]))"), "error: format: unsupported type for integer clause");
}

TEST_F(FormatBuiltinsTest, ClauseErrors) {
  EXPECT_EQ(eval(R"("100%%".format([]))"), "100%");
  EXPECT_EQ(eval(R"("%s %s".format(["a"]))"), "error: format: index out of range");
  EXPECT_EQ(eval(R"("%z".format([1]))"), "error: format: unrecognized formatting clause '%z'");
  EXPECT_EQ(eval(R"("abc%".format([]))"), "error: format: unterminated formatting clause");
  EXPECT_EQ(eval(R"("%.2".format([1.0]))"), "error: format: unterminated formatting clause");
  EXPECT_EQ(call("format", true, {str("%s"), str("x")}),
            "error: no such overload: format(STRING, STRING)");
}

TEST_F(FormatBuiltinsTest, Quote) {
  EXPECT_EQ(eval(R"(strings.quote("plain"))"), R"("plain")");
  EXPECT_EQ(eval(R"(strings.quote("a\"b\\c\n\t"))"), R"("a\"b\\c\n\t")");
  EXPECT_EQ(eval(R"(strings.quote("\a\b\f\r\v"))"), R"("\a\b\f\r\v")");
  EXPECT_EQ(eval(R"(strings.quote("\x01\x7f"))"), R"("\x01\x7f")");
  EXPECT_EQ(eval(R"(strings.quote("é"))"), R"("é")");
  EXPECT_EQ(call("strings.quote", false, {str("\xff")}), "error: strings.quote: invalid UTF-8");
  EXPECT_EQ(call("strings.quote", false, {Value::makeInt(1)}),
            "error: no such overload: strings.quote(INT64)");
}

}  // namespace
}  // namespace expr
