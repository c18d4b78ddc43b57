#include "expr/checker.h"

#include "expr/parser.h"
#include "gtest/gtest.h"

namespace expr {
namespace {

class CheckerTest : public ::testing::Test {
 protected:
  CheckerTest() {
    manifest_.add("request.size", 10, ValueType::kInt64);
    manifest_.add("request.headers", 11, ValueType::kStringMap);
    manifest_.add("source.ip", 12, ValueType::kIpAddress);
    manifest_.add("source.name", 13, ValueType::kString);
  }

  // The checked type, or "error: ..." for a check error.
  std::string typeOf(std::string_view src, Dialect d = Dialect::kCexl) {
    ParseOptions po;
    po.dialect = d;
    auto ast = parse(src, po);
    if (!ast.ok()) return "parse error";
    CheckOptions co;
    co.dialect = d;
    TypeCheckResult r;
    auto st = check(ast->get(), manifest_, co, &r);
    if (!st.ok()) return "error: " + std::string(st.message());
    last_ = std::move(r);
    return std::string(valueTypeName((*ast)->type));
  }

  AttributeManifest manifest_;
  TypeCheckResult last_;
};

TEST_F(CheckerTest, FlattensDottedNamesToAttributes) {
  EXPECT_EQ(typeOf("request.size"), "INT64");
  ASSERT_EQ(last_.attributes.size(), 1u);
  EXPECT_EQ(last_.attributes[0].id, 10u);
  EXPECT_EQ(typeOf(R"(request.headers["a"])"), "STRING");
}

TEST_F(CheckerTest, UnknownAttributeNamesTheAttributeAndPosition) {
  EXPECT_EQ(typeOf("1 == request.sizzle"), "error: 1:6: unknown attribute request.sizzle");
}

TEST_F(CheckerTest, CexlHasNoImplicitConversions) {
  EXPECT_EQ(typeOf("request.size == 2.0"),
            "error: 1:14: EQ($request.size, 2.0) arg 2 (2.0) typeError got DOUBLE, expected INT64");
  EXPECT_EQ(typeOf(R"(source.ip == "1.2.3.4")").substr(0, 6), "error:");
  EXPECT_EQ(typeOf(R"(source.ip == ip("1.2.3.4"))"), "BOOL");
}

TEST_F(CheckerTest, DefaultOperatorNeedsSameTypes) {
  EXPECT_EQ(typeOf(R"(source.name | "x")"), "STRING");
  EXPECT_EQ(typeOf("request.size | 200"), "INT64");
  EXPECT_EQ(typeOf(R"(request.size | "200")").substr(0, 6), "error:");
}

TEST_F(CheckerTest, DurationLookingStringLiteralsAreDurations) {
  EXPECT_EQ(typeOf(R"("10s")"), "DURATION");
  EXPECT_EQ(typeOf(R"("10 seconds")"), "STRING");
}

TEST_F(CheckerTest, UnsupportedCexlOperatorsAreUnknownFunctions) {
  EXPECT_EQ(typeOf("request.size / 2"), "error: 1:14: unknown function: QUO");
  EXPECT_EQ(typeOf("!true"), "error: 1:1: unknown function: NOT");
}

TEST_F(CheckerTest, InstanceMethodsNeedAnInstance) {
  EXPECT_EQ(typeOf(R"(matches("a"))"),
            "error: 1:1: invoking instance method without an instance: matches");
}

TEST_F(CheckerTest, CelResolvesLongestAttributePrefixAndLocals) {
  EXPECT_EQ(typeOf(R"(request.headers.host == "x")", Dialect::kCel), "BOOL");
  ASSERT_EQ(last_.attributes.size(), 1u);
  EXPECT_EQ(last_.attributes[0].name, "request.headers");
  EXPECT_EQ(typeOf("[1, 2].all(x, x > 0)", Dialect::kCel), "BOOL");
  EXPECT_EQ(last_.slot_count, 3);
}

}  // namespace
}  // namespace expr
