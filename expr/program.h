// A compiled expression: typed bytecode plus its constant pool. Immutable after compile() and
// safe to evaluate from many threads at once (each with its own EvalState).
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "expr/activation.h"
#include "expr/ast.h"
#include "expr/checker.h"
#include "expr/eval_state.h"
#include "expr/manifest.h"
#include "expr/value.h"

namespace re2 {
class RE2;
}

namespace expr {

struct CompileOptions {
  Dialect dialect = Dialect::kCexl;
  size_t max_expression_length = 100'000;
  int max_depth = 200;
  // CEL only.
  bool enable_macros = true;
  // CEL only: when false, unknown names and functions are run-time errors, not compile errors.
  bool check = true;
  // When set, the expression must have this type (kBool for selectors), else a compile error.
  ValueType expected_type = ValueType::kUnspecified;
};

enum class Op : uint8_t {
  kConst,      // push constants[a]
  kLoad,       // push attribute a; absent -> error value
  kTryLoad,    // push attribute a, or (absent) truncate to depth and jump to b
  kLoadSlot,   // push slots[a]
  kStoreSlot,  // slots[a] = pop
  kJump,       // goto a
  kAndCexl,    // top false/error: goto a; else pop
  kOrCexl,     // top true/error: goto a; else pop
  kAndCel,     // top false: goto a; else keep (non-bool becomes an error)
  kOrCel,      // top true: goto a; else keep
  kAndMerge,   // pop r, l: CEL error-absorbing conjunction
  kOrMerge,    // pop r, l: CEL error-absorbing disjunction
  kCondJump,   // pop c: true -> next; false -> goto a; error -> push error, goto b
  kNot,
  kNeg,
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
  kAdd,
  kSub,
  kMul,
  kDiv,
  kMod,
  kIndex,         // pop k, m: m[k]
  kTryIndex,      // pop k, m: m[k] when present, else truncate to depth and goto b
  kSelect,        // pop m: m.constants[a]
  kHas,           // pop m: has(m.constants[a])
  kIn,            // pop c, e: e in c
  kMakeList,      // pop n values -> list
  kMakeMap,       // pop 2n values -> map
  kCall,          // builtins[a](n args)
  kMatchRegex,    // pop s: regexes[a] partially matches s
  kIterInit,      // pop range into slots[a + 2]; index = 0
  kIterNext,      // next element into slots[a], or goto b when done
  kAccumulate,    // pop v into accumulator slots[a + 1] (mode n); may goto b
  kExistsOneEnd,  // replace top (count or error) with count == 1
  // Superinstructions for the shapes operators write most.
  kEqAttrConst,        // push attribute a == constants[b]
  kNeAttrConst,        // push attribute a != constants[b]
  kIndexConst,         // pop m: m[constants[b]]
  kTryIndexConst,      // pop m: m[constants[a]] when present, else truncate to depth and goto b
  kGlob,               // pop s: Istio glob against constants[a]; n: 0 exact, 1 prefix, 2 suffix
  kGlobAttr,           // push glob(attribute b, constants[a]); n as for kGlob
  kEqConst,            // top == constants[b]
  kNeConst,            // top != constants[b]
  kAttrIndexConst,     // push attribute a [constants[b]]
  kTryAttrIndexConst,  // push attribute a [constants[c]] when both present, else truncate to
                       // depth and goto b
};

struct Instr {
  Op op;
  uint8_t n = 0;       // argument count / mode
  uint16_t depth = 0;  // stack depth to restore on a failed try; for kEqAttrConst, kNeAttrConst
                       // and kGlobAttr: 1 = fused CEXL &&, 2 = fused ||, jumping to c
  int32_t a = 0;
  int32_t b = 0;
  int32_t c = 0;  // third operand of some superinstructions
};

// The shape most field expressions have: presence-tested reads, `a | b["k"] | ...`, ending in a
// constant or in one last read that is not tested. A host can do these reads itself, without the
// interpreter: evaluate() returns the value of the first read that finds its attribute (and key)
// with the declared type, else `fallback`. Wherever a read finds a value of another type, or the
// last, untested read finds nothing, evaluate() produces an error instead: a host doing the reads
// itself calls evaluate() at that point. Reads also record references; a host doing them itself
// records none.
struct ReadChain {
  struct Read {
    AttributeId attribute = 0;
    ValueType type = ValueType::kDyn;  // the declared type: kDyn or kUnspecified accept any
    bool has_key = false;              // reads attribute[key] of a string map
    std::string_view key;
  };
  std::vector<Read> reads;
  bool has_fallback = false;  // when false, the last read is the untested one
  Value fallback;
};

class Program;
using ProgramConstSharedPtr = std::shared_ptr<const Program>;

// Parses, checks and compiles. Errors are InvalidArgument "LINE:COLUMN: message" (the message an
// operator acts on); the Program is immutable and may be shared by all threads.
absl::StatusOr<ProgramConstSharedPtr> compile(std::string_view source,
                                              const AttributeManifest& manifest,
                                              const CompileOptions& options = {});

class Program {
 public:
  ~Program();

  // Evaluates against `activation`, reusing `state` (which also receives the referenced
  // attributes). Errors are returned as values of type kError. The result may view memory owned
  // by the activation, this Program, or `state`: it is valid until `state` is reused.
  Value evaluate(const Activation& activation, EvalState* state) const;

  ValueType resultType() const { return result_type_; }
  Dialect dialect() const { return dialect_; }
  const std::string& source() const { return source_; }
  // The attributes this program may read (a superset of any one evaluation's references).
  const std::vector<ResolvedAttribute>& attributes() const { return attributes_; }
  // A readable listing of the bytecode (tests, debugging).
  std::string disassemble() const;
  // The program's reads when it has the ReadChain shape, else nullptr.
  const ReadChain* readChain() const { return read_chain_.get(); }
  // The constant result when the whole expression folded to a constant.
  bool isConstant() const { return code_.size() == 1 && code_[0].op == Op::kConst; }

 private:
  friend class Compiler;
  friend absl::StatusOr<ProgramConstSharedPtr> compile(std::string_view source,
                                                       const AttributeManifest& manifest,
                                                       const CompileOptions& options);
  friend class Evaluator;
  Program() = default;

  // Sets read_chain_ when the compiled code has that shape.
  void findReadChain();
  // Deep-copies a value (strings, lists, maps) into storage owned by this program.
  Value intern(const Value& v);
  std::string_view internString(std::string_view s);

  Dialect dialect_ = Dialect::kCexl;
  std::string source_;
  ValueType result_type_ = ValueType::kUnspecified;
  std::vector<Instr> code_;
  std::vector<Value> constants_;
  std::vector<ResolvedAttribute> attributes_;
  std::vector<std::unique_ptr<re2::RE2>> regexes_;
  int32_t max_stack_ = 0;
  int32_t slot_count_ = 0;
  std::unique_ptr<ReadChain> read_chain_;
  // Owned storage behind constants.
  std::deque<std::string> strings_;
  std::deque<std::vector<Value>> value_arrays_;
  std::deque<ListValue> lists_;
  std::deque<MapValue> maps_;
};

}  // namespace expr
