// The interpreter (expr/evaluator.cc), through Program::evaluate: short-circuit and presence
// jumps, comprehension slots, run-time lists and maps, references, and EvalState reuse.
#include <string>

#include "gtest/gtest.h"
#include "tests/expr/program_fixture.h"

namespace expr {
namespace {

class EvaluatorTest : public testing::ProgramFixture {};

TEST_F(EvaluatorTest, ConditionalEvaluatesOnlyTheTakenBranch) {
  bag_.setBool(4, true);
  bag_.setString(1, "a");
  EXPECT_EQ(eval("conditional(ab, as, bs)"), "a");
  EXPECT_EQ(refs(), "ab as");  // bs is absent but never read
  bag_.setBool(4, false);
  EXPECT_EQ(eval("conditional(ab, as, bs)"), "error: lookup failed: 'bs'");
  EXPECT_EQ(refs(), "-bs ab");
  bag_.setInt(3, 5);
  EXPECT_EQ(eval("ab ? 1 / 0 : ai", Dialect::kCel), "5");  // ab is false
  EXPECT_EQ(eval("!ab ? 1 / 0 : ai", Dialect::kCel), "error: division by zero");
}

TEST_F(EvaluatorTest, CelConditionalOnAnErrorIsTheError) {
  bag_.setInt(3, 0);
  EXPECT_EQ(eval("(1 / ai == 1) ? 1 : 2", Dialect::kCel), "error: division by zero");
}

TEST_F(EvaluatorTest, CelLogicAbsorbsErrorsFromEitherSide) {
  bag_.setInt(3, 0);
  EXPECT_EQ(eval("1 / ai == 1 && false", Dialect::kCel), "false");
  EXPECT_EQ(eval("false && 1 / ai == 1", Dialect::kCel), "false");
  EXPECT_EQ(eval("1 / ai == 1 && true", Dialect::kCel), "error: division by zero");
  EXPECT_EQ(eval("1 / ai == 1 || true", Dialect::kCel), "true");
  EXPECT_EQ(eval("1 / ai == 1 || false", Dialect::kCel), "error: division by zero");
  // CEXL: an error on the left is the result.
  bag_.setBool(5, false);
  EXPECT_EQ(eval("ab || bb"), "error: lookup failed: 'ab'");
}

TEST_F(EvaluatorTest, DefaultOperatorTriesAlternativesLeftToRight) {
  EXPECT_EQ(eval(R"(ar["k"] | as | "d")"), "d");
  EXPECT_EQ(refs(), "-ar -as");
  bag_.setStringMap(6, {{"x", "1"}});
  EXPECT_EQ(eval(R"(ar["k"] | as | "d")"), "d");
  EXPECT_EQ(refs(), "-ar[k] -as ar");
  bag_.setString(1, "");  // present, even if empty
  EXPECT_EQ(eval(R"(ar["k"] | as | "d")"), "");
  bag_.setStringMap(6, {{"k", "v"}});
  EXPECT_EQ(eval(R"(ar["k"] | as | "d")"), "v");
  EXPECT_EQ(refs(), "ar ar[k]");
}

TEST_F(EvaluatorTest, NestedComprehensionsUseSeparateSlots) {
  EXPECT_EQ(eval("[1, 2].map(x, [3, 4].map(y, x * y))", Dialect::kCel), "[[3, 4], [6, 8]]");
  bag_.setInt(3, 2);
  EXPECT_EQ(eval("[1, 2, 3].map(x, x > 1, x * 10)", Dialect::kCel), "[20, 30]");
  EXPECT_EQ(eval("[1, 2, 3].exists_one(x, x >= ai)", Dialect::kCel), "false");
  EXPECT_EQ(eval("[].all(x, x > ai)", Dialect::kCel), "true");
  EXPECT_EQ(eval("[].exists(x, x > ai)", Dialect::kCel), "false");
}

// A comprehension whose range is another comprehension reuses that one's slots: its own
// accumulator must start empty after the range has run (it once leaked the range's result:
// [2, 3, 4, 6] instead of [4, 6]).
TEST_F(EvaluatorTest, ChainedComprehensionsStartFromAnEmptyAccumulator) {
  bag_.setInt(3, 2);
  EXPECT_EQ(eval("[1, 2, 3].filter(x, x >= ai).map(x, x * ai)", Dialect::kCel), "[4, 6]");
  EXPECT_EQ(eval("[1, 2].map(x, x * ai).all(y, y > 0)", Dialect::kCel), "true");
  EXPECT_EQ(eval("[1, 2].map(x, x).exists_one(y, y == 2)", Dialect::kCel), "true");
}

TEST_F(EvaluatorTest, ComprehensionOverAStringMapAttributeReadsKeys) {
  bag_.setStringMap(6, {{"a", "1"}, {"b", ""}});
  EXPECT_EQ(eval(R"(ar.filter(k, ar[k] != ""))", Dialect::kCel), R"(["a"])");
  EXPECT_EQ(eval(R"(ar.all(k, size(k) == 1))", Dialect::kCel), "true");
}

TEST_F(EvaluatorTest, ListsAndMapsAreBuiltAtRunTime) {
  bag_.setInt(3, 1);
  bag_.setString(8, "k");
  EXPECT_EQ(eval("[ai, ai + 1]", Dialect::kCel), "[1, 2]");
  EXPECT_EQ(eval(R"({cs: ai}[cs])", Dialect::kCel), "1");
  EXPECT_EQ(eval(R"({cs: ai}.k)", Dialect::kCel), "1");
  EXPECT_EQ(eval(R"(has({cs: ai}.k))", Dialect::kCel), "true");
}

TEST_F(EvaluatorTest, LongOperatorChainsEvaluate) {
  bag_.setInt(3, 3);
  std::string src = "ai";
  for (int i = 0; i < 99; ++i) src += " + ai";
  EXPECT_EQ(eval(src, Dialect::kCel), "300");
  std::string nested = "ai";
  for (int i = 0; i < 50; ++i) nested = "(" + nested + " + 1)";
  EXPECT_EQ(eval(nested, Dialect::kCel), "53");
}

TEST_F(EvaluatorTest, EvalStateIsReusedAcrossProgramsAndEvaluations) {
  bag_.setString(1, "x");
  bag_.setInt(3, 7);
  EXPECT_EQ(eval(R"(as + "y")"), "xy");
  EXPECT_EQ(refs(), "as");
  // A new evaluation starts with a fresh stack and reference list.
  EXPECT_EQ(eval("ai"), "7");
  EXPECT_EQ(refs(), "ai");
  EXPECT_EQ(eval("[ai].map(x, x + 1)", Dialect::kCel), "[8]");
  EXPECT_EQ(eval(R"(as + "z")"), "xz");
  EXPECT_EQ(refs(), "as");
}

TEST_F(EvaluatorTest, FusedComparisonsRecordTheirReads) {
  bag_.setString(1, "x");
  bag_.setStringMap(6, {{"k", "v"}});
  EXPECT_EQ(eval(R"(as == "x" && ar["k"] == "v")"), "true");
  EXPECT_EQ(refs(), "ar ar[k] as");
  EXPECT_EQ(eval(R"(as != "x" || match(bs, "a*"))"), "error: lookup failed: 'bs'");
  EXPECT_EQ(refs(), "-bs as");
}

}  // namespace
}  // namespace expr
