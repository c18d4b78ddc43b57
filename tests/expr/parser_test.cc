#include "expr/parser.h"

#include <string>

#include "gtest/gtest.h"

namespace expr {
namespace {

// Renders the tree in prefix form for compact assertions.
std::string dump(const Node& n) {
  switch (n.kind) {
    case Node::Kind::kLiteral:
      if (n.literal_type == ValueType::kString) return "\"" + n.text + "\"";
      if (n.literal_type == ValueType::kInt64) return std::to_string(n.int_value);
      if (n.literal_type == ValueType::kBool) return n.bool_value ? "true" : "false";
      return "lit";
    case Node::Kind::kIdent:
      return n.name;
    case Node::Kind::kSelect:
      return dump(*n.children[0]) + "." + n.name;
    default: {
      std::string s = n.kind == Node::Kind::kMacro ? "macro:" + n.name : n.name;
      s += "(";
      for (size_t i = 0; i < n.children.size(); ++i) {
        if (i) s += ", ";
        s += dump(*n.children[i]);
      }
      return s + ")";
    }
  }
}

std::string parsed(std::string_view src, Dialect d = Dialect::kCexl) {
  ParseOptions o;
  o.dialect = d;
  auto r = parse(src, o);
  if (!r.ok()) return "ERROR " + std::string(r.status().message());
  return dump(**r);
}

TEST(ParserTest, CexlPipeBindsLikePlusAndTighterThanComparison) {
  EXPECT_EQ(parsed(R"(a | "x" == "y")"), R"(_==_(_|_(a, "x"), "y"))");
  EXPECT_EQ(parsed(R"("p" + a | "d")"), R"(_|_(_+_("p", a), "d"))");
  EXPECT_EQ(parsed("a | b | c"), "_|_(_|_(a, b), c)");
}

TEST(ParserTest, PrecedenceOfLogicalOperators) {
  EXPECT_EQ(parsed("a || b && c == 1"), "_||_(a, _&&_(b, _==_(c, 1)))");
}

TEST(ParserTest, SelectorsIndexAndInstanceCalls) {
  EXPECT_EQ(parsed(R"(request.headers["x"])"), R"(_[_](request.headers, "x"))");
  EXPECT_EQ(parsed(R"("a.*".matches(source.name))"), R"(matches("a.*", source.name))");
}

TEST(ParserTest, CelTernaryInAndMacros) {
  EXPECT_EQ(parsed("a ? 1 : 2", Dialect::kCel), "_?_:_(a, 1, 2)");
  EXPECT_EQ(parsed("1 in [1]", Dialect::kCel), "@in(1, (1))");
  EXPECT_EQ(parsed("l.all(x, x > 0)", Dialect::kCel), "macro:x(l, _>_(x, 0))");
  EXPECT_EQ(parsed("has(m.f)", Dialect::kCel), "has(m.f)");
}

TEST(ParserTest, MostNegativeIntLiteral) {
  EXPECT_EQ(parsed("-9223372036854775808", Dialect::kCel), "-9223372036854775808");
  EXPECT_NE(parsed("9223372036854775808", Dialect::kCel).find("ERROR"), std::string::npos);
}

TEST(ParserTest, ErrorsCarryLineAndColumn) {
  EXPECT_EQ(parsed("a = 2"), "ERROR 1:3: expected '==', found '='");
  EXPECT_EQ(parsed("a ==\n (b"), "ERROR 2:4: expected ')', found end of expression");
  EXPECT_EQ(parsed("stringmap | "), "ERROR 1:13: expected operand, found end of expression");
}

TEST(ParserTest, DeepNestingIsAnErrorNotACrash) {
  std::string deep(10000, '(');
  deep += "1";
  deep += std::string(10000, ')');
  std::string r = parsed(deep);
  EXPECT_NE(r.find("nested too deeply"), std::string::npos) << r;
  std::string chain = "1";
  for (int i = 0; i < 5000; ++i) chain += " + 1";
  r = parsed(chain);
  EXPECT_NE(r.find("nested too deeply"), std::string::npos) << r;
  std::string nots(10000, '!');
  r = parsed(nots + "true", Dialect::kCel);
  EXPECT_NE(r.find("nested too deeply"), std::string::npos) << r;
}

TEST(ParserTest, LengthLimit) {
  ParseOptions o;
  o.max_expression_length = 10;
  auto r = parse("aaaaaaaaaaaaaaaa", o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("too long"), std::string::npos);
}

TEST(ParserTest, CelSupportsThirtyTwoTermsAndTwelveNestedCalls) {
  std::string ors = "false";
  for (int i = 0; i < 31; ++i) ors += " || false";
  EXPECT_EQ(parsed(ors, Dialect::kCel).find("ERROR"), std::string::npos);
  std::string calls = "x";
  for (int i = 0; i < 12; ++i) calls = "f(" + calls + ")";
  EXPECT_EQ(parsed(calls, Dialect::kCel).find("ERROR"), std::string::npos);
}

}  // namespace
}  // namespace expr

namespace expr {
namespace {

TEST(ParserTest, ErrorsCarryTheirPositionAsData) {
  // "a &&\n  == b": the unexpected '==' is on line 2, column 3 (byte offset 7).
  auto r = parse("a &&\n  == b", ParseOptions{});
  ASSERT_FALSE(r.ok());
  const std::optional<PositionedError> e = positionedErrorOf(r.status());
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->pos.line, 2);
  EXPECT_EQ(e->pos.column, 3);
  EXPECT_EQ(e->pos.offset, 7);
  EXPECT_EQ(std::string(r.status().message()), formatError(e->pos, e->message));
  EXPECT_EQ(e->message.find("2:3"), std::string::npos);
  // A status made elsewhere carries no position.
  EXPECT_FALSE(positionedErrorOf(absl::InvalidArgumentError("1:2: text")).has_value());
}

}  // namespace
}  // namespace expr
