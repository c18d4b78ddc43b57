// Type checker: resolves attribute names against the manifest (to ids) and comprehension
// variables (to slots), and computes the static type of every node.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "expr/ast.h"
#include "expr/manifest.h"

namespace expr {

// An attribute referenced by an expression, as resolved at check time.
struct ResolvedAttribute {
  std::string name;
  AttributeId id;
  ValueType type;  // kDyn: any type accepted at run time
};

struct CheckOptions {
  Dialect dialect = Dialect::kCexl;
  // CEL only: when false, unknown names become run-time errors instead of check errors.
  bool strict = true;
};

// What the type checker found: the attributes the expression reads and its comprehension slots.
struct TypeCheckResult {
  std::vector<ResolvedAttribute> attributes;
  int32_t slot_count = 0;  // comprehension slots needed
};

// Annotates `root` in place. Errors are InvalidArgument "LINE:COLUMN: message".
absl::Status check(Node* root, const AttributeManifest& manifest, const CheckOptions& options,
                   TypeCheckResult* result);

}  // namespace expr
