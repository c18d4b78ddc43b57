#include "mixer/runtime/written_expression.h"

#include <optional>

#include "base/str_cat.h"
#include "expr/parser.h"

namespace mixer::runtime {

// An error message about a binding expression, with its output names spelled as written.
std::string writtenOutputNames(std::string message) {
  for (size_t at = message.find("_out."); at != std::string::npos;
       at = message.find("_out.", at + 1)) {
    message[at] = '$';
  }
  return message;
}

// An expression's compile error at its place in the file: the error's position is relative to
// the expression, which begins at `at` (after the quote, for quoted scalars). With
// `binding_outputs`, the message spells the outputs of an attribute binding as written ($out.).
config::ConfigError expressionError(const config::SourcePos& at, bool quoted,
                                    const absl::Status& status, std::string_view what,
                                    bool binding_outputs) {
  const std::optional<expr::PositionedError> e = expr::positionedErrorOf(status);
  const int line = e ? e->pos.line : 1;
  const int column = e ? e->pos.column : 1;
  config::SourcePos pos = at;
  if (pos.line > 0) {
    pos.line += line - 1;
    pos.column = line == 1 ? at.column + column - 1 + (quoted ? 1 : 0) : column;
  }
  std::string message = e ? e->message : std::string(status.message());
  if (binding_outputs) {
    message = writtenOutputNames(std::move(message));
  }
  return {pos, base::strCat(what, ": ", message)};
}

bool isQuoted(const YAML::Node& node) { return node.Tag() == "!"; }

// An attribute binding's expression with `$out.` (outside string literals) spelled `_out.`, the
// name the outputs are compiled under (the same length: error columns stay right).
std::string outputNames(std::string_view text) {
  std::string out(text);
  char quote = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    const char c = out[i];
    if (quote != 0) {
      if (c == '\\') {
        ++i;
      } else if (c == quote) {
        quote = 0;
      }
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '$' && out.compare(i + 1, 4, "out.") == 0) {
      out[i] = '_';
    }
  }
  return out;
}

}  // namespace mixer::runtime
