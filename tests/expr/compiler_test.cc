// The compiler (expr/compiler.cc): constant folding, which instructions each shape becomes,
// precompiled regular expressions, and what a Program records about its source.
#include <string>

#include "gtest/gtest.h"
#include "tests/expr/program_fixture.h"

namespace expr {
namespace {

class CompilerTest : public testing::ProgramFixture {};

TEST_F(CompilerTest, ConstantArithmeticAndCallsFoldToOneConstant) {
  EXPECT_EQ(eval("1 + 2 * 3", Dialect::kCel), "7");
  EXPECT_TRUE(program_->isConstant()) << program_->disassemble();
  EXPECT_EQ(eval(R"(size("abc") + 1)", Dialect::kCel), "4");
  EXPECT_TRUE(program_->isConstant()) << program_->disassemble();
  // Comprehensions use slots: they are never folded, even over constants.
  EXPECT_EQ(eval(R"([1, 2].map(x, x * 10))", Dialect::kCel), "[10, 20]");
  EXPECT_FALSE(program_->isConstant()) << program_->disassemble();
  EXPECT_EQ(eval(R"(toLower("AB") == "ab")"), "true");
  EXPECT_TRUE(program_->isConstant()) << program_->disassemble();
}

TEST_F(CompilerTest, FoldedValuesLiveInTheProgram) {
  // The folded string is owned by the Program, not by an EvalState.
  ASSERT_EQ(compileOnly(R"("a" + "b" + "c")"), "");
  std::string_view result;
  {
    EvalState state;
    result = program_->evaluate(bag_, &state).stringView();
  }
  EXPECT_EQ(result, "abc");
}

TEST_F(CompilerTest, ErrorsAndReadsAreNotFolded) {
  EXPECT_EQ(eval("1 / 0", Dialect::kCel), "error: division by zero");
  EXPECT_FALSE(program_->isConstant());
  EXPECT_EQ(listing("ai + 1"),
            "0: load a=0 b=0 n=0 depth=0 (ai)\n"
            "1: const a=0 b=0 n=0 depth=0\n"
            "2: add a=0 b=0 n=0 depth=0\n");
  // Only the constant operand folds.
  std::string l = listing("ai + (2 + 3)");
  EXPECT_TRUE(contains(l, "load")) << l;
  EXPECT_EQ(l.find("add"), l.rfind("add")) << "one add left: " << l;
}

TEST_F(CompilerTest, GlobPatternsAreClassifiedAtCompileTime) {
  // n: 0 exact, 1 prefix, 2 suffix.
  EXPECT_EQ(listing(R"(match(as, "svc*"))"), "0: glob_attr a=0 b=0 n=1 depth=0 (as)\n");
  EXPECT_EQ(listing(R"(match(as, "svc"))"), "0: glob_attr a=0 b=0 n=0 depth=0 (as)\n");
  std::string l = listing(R"(match(toLower(as), "*.local"))");
  EXPECT_TRUE(contains(l, "glob a=")) << l;
  EXPECT_TRUE(contains(l, "n=2")) << l;
  // A pattern known only at run time stays a call.
  l = listing(R"(match(as, bs))");
  EXPECT_TRUE(contains(l, "call")) << l;
  EXPECT_TRUE(contains(l, "(match)")) << l;
}

TEST_F(CompilerTest, ConstantRegexIsPrecompiledAndARunTimeOneIsACall) {
  std::string l = listing(R"(bs.matches("^a+$"))", Dialect::kCel);
  EXPECT_TRUE(contains(l, "match_regex")) << l;
  EXPECT_FALSE(contains(l, "call")) << l;
  l = listing(R"(bs.matches(cs))", Dialect::kCel);
  EXPECT_TRUE(contains(l, "(matches)")) << l;
  EXPECT_FALSE(contains(l, "match_regex")) << l;
  bag_.setString(2, "aaa");
  EXPECT_EQ(eval(R"(bs.matches("^a+$"))", Dialect::kCel), "true");
  bag_.setString(8, "(");
  EXPECT_EQ(eval(R"(bs.matches(cs))", Dialect::kCel).substr(0, 34),
            "error: invalid regular expression ");
}

TEST_F(CompilerTest, ShortCircuitOperatorsCompileToJumps) {
  std::string l = listing("ab && bb");
  EXPECT_TRUE(contains(l, "and a=")) << l;
  l = listing("ab || bb", Dialect::kCel);
  EXPECT_TRUE(contains(l, "or_cel")) << l;
  EXPECT_TRUE(contains(l, "or_merge")) << l;
  l = listing("ab ? ai : bi", Dialect::kCel);
  EXPECT_TRUE(contains(l, "cond_jump")) << l;
  EXPECT_TRUE(contains(l, "jump a=")) << l;
  l = listing(R"(as | "d")");
  EXPECT_TRUE(contains(l, "try_load")) << l;
}

TEST_F(CompilerTest, ProgramRecordsSourceDialectTypeAndAttributes) {
  ASSERT_EQ(compileOnly(R"(ai > 1 || as == "x")"), "");
  EXPECT_EQ(program_->source(), R"(ai > 1 || as == "x")");
  EXPECT_EQ(program_->dialect(), Dialect::kCexl);
  EXPECT_EQ(program_->resultType(), ValueType::kBool);
  ASSERT_EQ(program_->attributes().size(), 2u);
  EXPECT_EQ(program_->attributes()[0].name, "ai");
  EXPECT_EQ(program_->attributes()[1].name, "as");
  ASSERT_EQ(compileOnly("ai + 1", Dialect::kCel), "");
  EXPECT_EQ(program_->resultType(), ValueType::kInt64);
  EXPECT_EQ(program_->dialect(), Dialect::kCel);
}

TEST_F(CompilerTest, CompileErrorsCarryAPosition) {
  EXPECT_EQ(compileOnly(R"(as == 1)"),
            R"(1:4: EQ($as, 1) arg 2 (1) typeError got INT64, expected STRING)");
  EXPECT_EQ(compileOnly("ai == zz"), "1:7: unknown attribute zz");
  EXPECT_EQ(compileOnly("ai = 1"), "1:4: expected '==', found '='");
  // A constant pattern is compiled with the program, so a bad one fails the compile.
  EXPECT_EQ(compileOnly(R"("(".matches(as))").substr(0, 4), "1:1:");
}

}  // namespace
}  // namespace expr
