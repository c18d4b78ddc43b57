// The registration table (expr/builtins.cc): which builtin a call resolves to, by name, call
// style, arity and dialect.
#include "expr/builtins.h"

#include "gtest/gtest.h"
#include "tests/expr/eval_fixture.h"

namespace expr {
namespace {

class BuiltinsTest : public testing::EvalFixture {};

TEST_F(BuiltinsTest, FindBuiltinRespectsDialectAndArity) {
  EXPECT_GE(findBuiltin("toLower", false, 1, Dialect::kCexl), 0);
  EXPECT_GE(findBuiltin("toLower", false, 1, Dialect::kCel), 0);
  EXPECT_LT(findBuiltin("toLower", false, 2, Dialect::kCexl), 0);
  EXPECT_LT(findBuiltin("toLower", true, 1, Dialect::kCexl), 0);  // not a member function
  EXPECT_LT(findBuiltin("contains", true, 2, Dialect::kCexl), 0);
  EXPECT_GE(findBuiltin("contains", true, 2, Dialect::kCel), 0);
  EXPECT_LT(findBuiltin("noSuchFunction", false, 1, Dialect::kCel), 0);
}

TEST_F(BuiltinsTest, OptionalArgumentsWidenTheArity) {
  // indexOf(sub[, start]) and getHours([zone]): the target counts as an argument.
  EXPECT_LT(findBuiltin("indexOf", true, 1, Dialect::kCel), 0);
  EXPECT_GE(findBuiltin("indexOf", true, 2, Dialect::kCel), 0);
  EXPECT_GE(findBuiltin("indexOf", true, 3, Dialect::kCel), 0);
  EXPECT_LT(findBuiltin("indexOf", true, 4, Dialect::kCel), 0);
  EXPECT_GE(findBuiltin("getHours", true, 1, Dialect::kCel), 0);
  EXPECT_GE(findBuiltin("getHours", true, 2, Dialect::kCel), 0);
}

TEST_F(BuiltinsTest, OneNameCanResolveToDifferentFunctions) {
  // size() counts bytes in CEXL and code points in CEL; matches() swaps its receiver.
  int cexl_size = findBuiltin("size", false, 1, Dialect::kCexl);
  int cel_size = findBuiltin("size", false, 1, Dialect::kCel);
  ASSERT_GE(cexl_size, 0);
  ASSERT_GE(cel_size, 0);
  EXPECT_NE(builtinAt(cexl_size).fn, builtinAt(cel_size).fn);
  int cexl_matches = findBuiltin("matches", true, 2, Dialect::kCexl);
  int cel_matches = findBuiltin("matches", true, 2, Dialect::kCel);
  EXPECT_NE(builtinAt(cexl_matches).fn, builtinAt(cel_matches).fn);
  // ip(string) is global; ip() of a CIDR is a member call.
  int ip_global = findBuiltin("ip", false, 1, Dialect::kCel);
  int ip_member = findBuiltin("ip", true, 1, Dialect::kCel);
  ASSERT_GE(ip_global, 0);
  ASSERT_GE(ip_member, 0);
  EXPECT_NE(builtinAt(ip_global).fn, builtinAt(ip_member).fn);
  EXPECT_EQ(builtinAt(ip_member).name, "ip");
  EXPECT_TRUE(builtinAt(ip_member).member);
}

TEST_F(BuiltinsTest, EveryDocumentedCexlFunctionIsRegistered) {
  struct Call {
    const char* name;
    bool member;
    int nargs;
  };
  for (const Call& c :
       {Call{"match", false, 2}, Call{"matches", true, 2}, Call{"startsWith", true, 2},
        Call{"endsWith", true, 2}, Call{"size", false, 1}, Call{"toLower", false, 1},
        Call{"ip", false, 1}, Call{"timestamp", false, 1}, Call{"dnsName", false, 1},
        Call{"email", false, 1}, Call{"uri", false, 1}, Call{"emptyStringMap", false, 0}}) {
    EXPECT_GE(findBuiltin(c.name, c.member, c.nargs, Dialect::kCexl), 0) << c.name;
  }
}

TEST_F(BuiltinsTest, ErrorMessagesLiveInTheArena) {
  EvalContext ctx = context();
  std::string message = "boom";
  Value e = makeErrorf(ctx, message);
  message = "gone";
  EXPECT_EQ(e.type, ValueType::kError);
  EXPECT_EQ(e.stringView(), "boom");
  EXPECT_EQ(arena_.used(), 4u);
}

TEST_F(BuiltinsTest, NoOverloadNamesTheArgumentTypes) {
  EXPECT_EQ(call("endsWith", true, {Value::makeInt(1), Value::makeDouble(2)}),
            "error: no such overload: endsWith(INT64, DOUBLE)");
}

}  // namespace
}  // namespace expr
