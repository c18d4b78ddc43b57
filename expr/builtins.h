// The operators and functions of both dialects, over Values. Used by the evaluator and by the
// compiler (constant folding). Errors are returned as kError values, never thrown.
// Defined in: builtins.cc (the registration table), operators.cc (op*, container access),
// value_equality.cc (valuesEqual), builtins_<family>.cc (the functions).
#pragma once

#include <string>
#include <string_view>

#include "expr/ast.h"
#include "expr/eval_state.h"
#include "expr/value.h"

namespace expr {

struct EvalContext {
  Arena* arena;
  Dialect dialect;
  ReferenceList* references;
};

// Builds an error value whose message lives in the arena.
Value makeErrorf(EvalContext& ctx, std::string_view message);

using BuiltinFn = Value (*)(const Value* args, int n, EvalContext& ctx);

struct Builtin {
  std::string_view name;
  bool member;   // called as target.name(args); the target is args[0]
  int min_args;  // including the target
  int max_args;
  uint8_t dialects;  // bit 0: CEXL, bit 1: CEL
  BuiltinFn fn;
};

// Finds the builtin for a call, or -1. `nargs` includes the target of a member call.
int findBuiltin(std::string_view name, bool member, int nargs, Dialect dialect);
const Builtin& builtinAt(int index);

Value opEq(const Value& a, const Value& b, EvalContext& ctx);
Value opNe(const Value& a, const Value& b, EvalContext& ctx);
// cmp: 0 <, 1 <=, 2 >, 3 >=
Value opCompare(int cmp, const Value& a, const Value& b, EvalContext& ctx);
Value opAdd(const Value& a, const Value& b, EvalContext& ctx);
Value opSub(const Value& a, const Value& b, EvalContext& ctx);
Value opMul(const Value& a, const Value& b, EvalContext& ctx);
Value opDiv(const Value& a, const Value& b, EvalContext& ctx);
Value opMod(const Value& a, const Value& b, EvalContext& ctx);
Value opNeg(const Value& a, EvalContext& ctx);
Value opNot(const Value& a, EvalContext& ctx);
// m[k]. *found is false when the key is absent (then CEXL yields "" and CEL an error).
Value opIndex(const Value& m, const Value& k, EvalContext& ctx, bool* found);
Value opIn(const Value& element, const Value& container, EvalContext& ctx);
Value opHas(const Value& m, std::string_view field, EvalContext& ctx);
// The size of a list/map/string map (no references recorded); -1 when not a container.
int64_t containerSize(const Value& v);
// Element i of a list, or key i of a map/string map.
Value containerElement(const Value& v, size_t i);

// Values equal for CEL `==` (heterogeneous numbers, deep lists and maps) or CEXL typed equality.
bool valuesEqual(const Value& a, const Value& b, Dialect dialect);

}  // namespace expr
