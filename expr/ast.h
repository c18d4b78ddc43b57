// The abstract syntax tree shared by both dialects, with source positions.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "expr/value.h"

namespace expr {

enum class Dialect {
  kCexl,  // Istio Mixer's expression language (Go syntax and semantics, as in Istio 1.4)
  kCel,   // the Common Expression Language core
};

// A position in the source text (1-based line and column, 0-based byte offset).
struct SourcePosition {
  int32_t offset = 0;
  int32_t line = 1;
  int32_t column = 1;
};

enum class MacroKind : uint8_t { kAll, kExists, kExistsOne, kMap, kMapFilter, kFilter };

struct Node;
using NodePtr = std::unique_ptr<Node>;

struct Node {
  enum class Kind : uint8_t {
    kLiteral,  // literal: type + text (decoded string/bytes) or number
    kIdent,    // name
    kSelect,   // children[0].name; test_only for has()
    kCall,     // function name; target (children[0] when has_target) then args
    kList,     // children
    kMap,      // children: key0, value0, key1, value1, ...
    kMacro,    // macro; name = iteration variable; children: range, args...
    kHas,      // has(children[0]) where children[0] is a kSelect
  };
  Kind kind;
  SourcePosition pos;
  std::string name;  // identifier, field, function or iteration variable
  bool has_target = false;
  MacroKind macro = MacroKind::kAll;
  // Literal payload.
  ValueType literal_type = ValueType::kUnspecified;
  std::string text;  // decoded string / bytes literal
  int64_t int_value = 0;
  uint64_t uint_value = 0;
  double double_value = 0;
  bool bool_value = false;
  std::vector<NodePtr> children;
  int32_t height = 1;  // 1 + the largest child height (bounded by CompileOptions::max_depth)

  // Filled by the checker.
  ValueType type = ValueType::kUnspecified;
  int32_t attribute = -1;  // index into the resolved attribute list when this node reads one
  int32_t slot = -1;       // comprehension slot when this node reads an iteration variable
};

}  // namespace expr
