// String functions (expr/builtins_string.cc): sizes and indices count code points in CEL and
// bytes in CEXL; the receiver of matches() is the pattern in CEXL and the subject in CEL.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/expr/eval_fixture.h"

namespace expr {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

class StringBuiltinsTest : public testing::EvalFixture {};

TEST_F(StringBuiltinsTest, SizeCountsCodePointsInCelAndBytesInCexl) {
  // "héllo": five code points, six bytes (é is two).
  EXPECT_EQ(eval(R"(size("héllo"))"), "5");
  EXPECT_EQ(eval(R"("héllo".size())"), "5");
  EXPECT_EQ(eval(R"(size("héllo"))", Dialect::kCexl), "6");
  EXPECT_EQ(eval(R"(size(b"abc"))"), "3");
  EXPECT_EQ(eval("size([1, 2, 3])"), "3");
  EXPECT_EQ(eval(R"({"a": 1, "b": 2}.size())"), "2");
  EXPECT_EQ(call("size", false, {Value::makeInt(1)}), "error: no such overload: size(INT64)");
}

TEST_F(StringBuiltinsTest, PrefixSuffixAndContains) {
  EXPECT_EQ(eval(R"("foobar".startsWith("foo"))"), "true");
  EXPECT_EQ(eval(R"("foobar".startsWith("bar"))"), "false");
  EXPECT_EQ(eval(R"("foobar".endsWith("bar"))"), "true");
  EXPECT_EQ(eval(R"("foobar".contains("oba"))"), "true");
  EXPECT_EQ(eval(R"("foobar".contains("x"))"), "false");
  EXPECT_EQ(eval(R"("".startsWith(""))"), "true");
  EXPECT_EQ(eval(R"("foobar".startsWith("foo"))", Dialect::kCexl), "true");
  EXPECT_EQ(call("startsWith", true, {str("a"), Value::makeInt(1)}),
            "error: no such overload: startsWith(STRING, INT64)");
  // contains() is CEL only.
  EXPECT_EQ(call("contains", true, {str("ab"), str("a")}, Dialect::kCexl), "no builtin");
}

TEST_F(StringBuiltinsTest, MatchIsIstioGlob) {
  EXPECT_EQ(eval(R"(match("reviews.svc", "*.svc"))"), "true");
  EXPECT_EQ(eval(R"(match("abcdef", "abc*"))", Dialect::kCexl), "true");
  EXPECT_EQ(eval(R"(match("abc", "a*c"))", Dialect::kCexl), "false");  // '*' inside is literal
  EXPECT_EQ(eval(R"(match("a*c", "a*c"))", Dialect::kCexl), "true");
  EXPECT_EQ(call("match", false, {str("a"), Value::makeBool(true)}),
            "error: no such overload: match(STRING, BOOL)");
}

TEST_F(StringBuiltinsTest, MatchesIsAnUnanchoredRe2Search) {
  EXPECT_EQ(eval(R"("abc123".matches("[0-9]+"))"), "true");
  EXPECT_EQ(eval(R"("abc".matches("^b"))"), "false");
  EXPECT_EQ(eval(R"("[0-9]+".matches("abc123"))", Dialect::kCexl), "true");
  // A pattern known only at run time is compiled per call; a bad one is an error value.
  EXPECT_THAT(call("matches", true, {str("abc"), str("(")}),
              StartsWith("error: invalid regular expression '(': "));
  EXPECT_THAT(call("matches", true, {str("("), str("abc")}, Dialect::kCexl),
              StartsWith("error: invalid regular expression '(': "));
}

TEST_F(StringBuiltinsTest, CaseConversionIsAscii) {
  EXPECT_EQ(eval(R"(toLower("AbC-1"))", Dialect::kCexl), "abc-1");
  EXPECT_EQ(eval(R"(toLower("ÀB"))"), "Àb");
  EXPECT_EQ(eval(R"("HeLLo".lowerAscii())"), "hello");
  EXPECT_EQ(eval(R"("héllo".upperAscii())"), "HéLLO");
  EXPECT_EQ(call("upperAscii", true, {Value::makeInt(1)}),
            "error: no such overload: upperAscii(INT64)");
  EXPECT_EQ(call("lowerAscii", true, {Value::makeInt(1)}),
            "error: no such overload: lowerAscii(INT64)");
}

TEST_F(StringBuiltinsTest, CharAt) {
  EXPECT_EQ(eval(R"("héllo".charAt(1))"), "é");
  EXPECT_EQ(eval(R"("abc".charAt(3))"), "");  // the end is a valid index
  EXPECT_EQ(eval(R"("abc".charAt(4))"), "error: index out of range");
  EXPECT_EQ(eval(R"("abc".charAt(-1))"), "error: index out of range");
  EXPECT_EQ(call("charAt", true, {str("abc"), str("1")}),
            "error: no such overload: charAt(STRING, STRING)");
}

TEST_F(StringBuiltinsTest, IndexOfAndLastIndexOfCountCodePoints) {
  EXPECT_EQ(eval(R"("hello wello".indexOf("ello"))"), "1");
  EXPECT_EQ(eval(R"("hello wello".indexOf("ello", 2))"), "7");
  EXPECT_EQ(eval(R"("héllo".indexOf("l"))"), "2");
  EXPECT_EQ(eval(R"("abc".indexOf("z"))"), "-1");
  EXPECT_EQ(eval(R"("abc".indexOf("", 3))"), "3");
  EXPECT_EQ(eval(R"("abc".indexOf("a", 4))"), "error: index out of range");
  EXPECT_EQ(eval(R"("hello wello".lastIndexOf("ello"))"), "7");
  EXPECT_EQ(eval(R"("hello wello".lastIndexOf("ello", 6))"), "1");
  EXPECT_EQ(eval(R"("héllo".lastIndexOf("l"))"), "3");
  EXPECT_EQ(eval(R"("abc".lastIndexOf("z"))"), "-1");
  EXPECT_EQ(eval(R"("abc".lastIndexOf("a", -1))"), "error: index out of range");
  EXPECT_EQ(call("indexOf", true, {str("abc"), Value::makeInt(1)}),
            "error: no such overload: indexOf(STRING, INT64)");
}

TEST_F(StringBuiltinsTest, Substring) {
  EXPECT_EQ(eval(R"("tacocat".substring(4))"), "cat");
  EXPECT_EQ(eval(R"("tacocat".substring(0, 4))"), "taco");
  EXPECT_EQ(eval(R"("héllo".substring(1, 3))"), "él");
  EXPECT_EQ(eval(R"("abc".substring(3))"), "");
  EXPECT_EQ(eval(R"("abc".substring(2, 1))"), "error: index out of range");
  EXPECT_EQ(eval(R"("abc".substring(0, 4))"), "error: index out of range");
}

TEST_F(StringBuiltinsTest, TrimRemovesUnicodeWhiteSpace) {
  EXPECT_EQ(eval("\" \\t hi there \\n\".trim()"), "hi there");
  // U+00A0 (no-break space) and U+2003 (em space) are white space; U+200B (zero width) is not.
  EXPECT_EQ(eval("\"\xC2\xA0hi\xE2\x80\x83\".trim()"), "hi");
  EXPECT_EQ(eval("\"\xE2\x80\x8Bhi\".trim()"), "\xE2\x80\x8Bhi");
  EXPECT_EQ(eval(R"("   ".trim())"), "");
  EXPECT_EQ(call("trim", true, {Value::makeInt(1)}), "error: no such overload: trim(INT64)");
}

TEST_F(StringBuiltinsTest, Replace) {
  EXPECT_EQ(eval(R"("hello hello".replace("he", "we"))"), "wello wello");
  EXPECT_EQ(eval(R"("hello hello".replace("he", "we", 1))"), "wello hello");
  EXPECT_EQ(eval(R"("hello hello".replace("he", "we", 0))"), "hello hello");
  EXPECT_EQ(eval(R"("hello".replace("x", "y"))"), "hello");
  // An empty search string matches before every code point and at the end (Go's Replace).
  EXPECT_EQ(eval(R"("aé".replace("", "-"))"), "-a-é-");
  EXPECT_EQ(eval(R"("abc".replace("", "-", 2))"), "-a-bc");
  EXPECT_EQ(call("replace", true, {str("a"), str("b"), Value::makeInt(1)}),
            "error: no such overload: replace(STRING, STRING)");
}

TEST_F(StringBuiltinsTest, Split) {
  EXPECT_EQ(eval(R"("a,b,c".split(","))"), R"(["a", "b", "c"])");
  EXPECT_EQ(eval(R"("a,b,c".split(",", 2))"), R"(["a", "b,c"])");
  EXPECT_EQ(eval(R"("a,b,c".split(",", 0))"), "[]");
  EXPECT_EQ(eval(R"("a,b,c".split(",", -1))"), R"(["a", "b", "c"])");
  EXPECT_EQ(eval(R"("a,,b,".split(","))"), R"(["a", "", "b", ""])");
  EXPECT_EQ(eval(R"("héllo".split(""))"), R"(["h", "é", "l", "l", "o"])");
  EXPECT_EQ(eval(R"("héllo".split("", 2))"), R"(["h", "éllo"])");
  EXPECT_EQ(call("split", true, {str("a"), Value::makeInt(1)}),
            "error: no such overload: split(STRING, INT64)");
}

TEST_F(StringBuiltinsTest, JoinAndReverse) {
  EXPECT_EQ(eval(R"(["a", "b", "c"].join())"), "abc");
  EXPECT_EQ(eval(R"(["a", "b", "c"].join("-"))"), "a-b-c");
  EXPECT_EQ(eval(R"([].join(","))"), "");
  EXPECT_EQ(call("join", true, {list({str("a"), Value::makeInt(1)})}),
            "error: no such overload: join(INT64)");
  EXPECT_EQ(call("join", true, {str("ab")}), "error: no such overload: join(STRING)");
  EXPECT_EQ(eval(R"("héllo".reverse())"), "olléh");
  EXPECT_EQ(eval(R"("".reverse())"), "");
}

TEST_F(StringBuiltinsTest, EmptyStringMapHasNoKeys) {
  EXPECT_EQ(eval("size(emptyStringMap())"), "0");
  EXPECT_EQ(eval(R"(emptyStringMap()["k"])", Dialect::kCexl), "");
  EXPECT_THAT(eval(R"(emptyStringMap()["k"])"), HasSubstr("no such key: k"));
}

}  // namespace
}  // namespace expr
