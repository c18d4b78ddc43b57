#include "expr/glob.h"

namespace expr {

bool globMatch(std::string_view str, std::string_view pattern) {
  if (pattern.ends_with('*')) return str.starts_with(pattern.substr(0, pattern.size() - 1));
  if (pattern.starts_with('*')) return str.ends_with(pattern.substr(1));
  return str == pattern;
}

}  // namespace expr
