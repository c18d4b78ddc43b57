// Recursive-descent parser for both dialects (CEL grammar; CEXL uses Go's operator precedence and
// adds the `|` default operator at the additive level).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "expr/ast.h"

namespace expr {

struct ParseOptions {
  Dialect dialect = Dialect::kCexl;
  // Longest accepted expression, in bytes.
  size_t max_expression_length = 100'000;
  // Deepest accepted nesting (parentheses, calls, operator chains): deeper input is an error, not
  // a stack overflow.
  int max_depth = 200;
  // CEL only: expand has()/all()/exists()/exists_one()/map()/filter().
  bool enable_macros = true;
};

// Parses an expression. Errors are InvalidArgument with a message "LINE:COLUMN: what is wrong",
// made by positionedError().
absl::StatusOr<NodePtr> parse(std::string_view source, const ParseOptions& options);

// "LINE:COLUMN: message".
std::string formatError(const SourcePosition& pos, std::string_view message);

// An error at a place in the expression's text, as data.
struct PositionedError {
  SourcePosition pos;
  std::string message;  // without the "LINE:COLUMN: " prefix
};

// InvalidArgument with the message formatError(pos, message), carrying `pos` and `message` as a
// payload, so that a caller placing the expression in a file needs no parsing of the text.
absl::Status positionedError(const SourcePosition& pos, std::string_view message);

// What positionedError() put into `status`; nullopt for any other status.
std::optional<PositionedError> positionedErrorOf(const absl::Status& status);

}  // namespace expr
