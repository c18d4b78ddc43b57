// A fixture for the builtin and operator tests: evaluates whole expressions without attributes,
// and calls one builtin directly with hand-built arguments (to reach the wrong-type paths a
// type checker would reject before run time).
#pragma once

#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "expr/builtins.h"
#include "expr/format.h"
#include "expr/program.h"
#include "gtest/gtest.h"
#include "tests/expr/test_bag.h"

namespace expr::testing {

class EvalFixture : public ::testing::Test {
 protected:
  // The value of `src` rendered by formatValue: "error: ..." for a run-time error,
  // "compile error: ..." when it does not compile.
  std::string eval(std::string_view src, Dialect dialect = Dialect::kCel) {
    CompileOptions options;
    options.dialect = dialect;
    auto program = compile(src, manifest_, options);
    if (!program.ok()) return "compile error: " + std::string(program.status().message());
    EvalState state;
    return formatValue((*program)->evaluate(bag_, &state));
  }
  // The type name of the value of `src` ("STRING", "INT64", "uint", "list", ...).
  std::string evalType(std::string_view src, Dialect dialect = Dialect::kCel) {
    CompileOptions options;
    options.dialect = dialect;
    auto program = compile(src, manifest_, options);
    if (!program.ok()) return "compile error: " + std::string(program.status().message());
    EvalState state;
    return std::string(valueTypeName((*program)->evaluate(bag_, &state).type));
  }

  // Calls the builtin the table has for `name` (a member call when `member`, the target being
  // args[0]) and renders the result; "no builtin" when the table has none.
  std::string call(std::string_view name, bool member, std::vector<Value> args,
                   Dialect dialect = Dialect::kCel) {
    int index = findBuiltin(name, member, static_cast<int>(args.size()), dialect);
    if (index < 0) return "no builtin";
    EvalContext ctx{&arena_, dialect, nullptr};
    return formatValue(builtinAt(index).fn(args.data(), static_cast<int>(args.size()), ctx));
  }

  EvalContext context(Dialect dialect = Dialect::kCel) {
    return EvalContext{&arena_, dialect, nullptr};
  }

  // Values whose text outlives the call.
  Value str(std::string_view s) { return Value::makeString(own(s)); }
  Value bytes(std::string_view s) { return Value::makeBytes(own(s)); }
  Value list(std::vector<Value> elements) {
    auto& stored = lists_.emplace_back(std::move(elements));
    list_values_.push_back(ListValue{stored.data(), stored.size()});
    return Value::makeList(&list_values_.back());
  }
  std::string_view own(std::string_view s) { return strings_.emplace_back(s); }

  AttributeManifest manifest_;
  TestBag bag_;
  Arena arena_;
  std::deque<std::string> strings_;
  std::deque<std::vector<Value>> lists_;
  std::deque<ListValue> list_values_;
};

}  // namespace expr::testing
