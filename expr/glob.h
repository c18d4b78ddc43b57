// Istio's glob, as match() uses it: "prefix*", "*suffix" or an exact string.
#pragma once

#include <string_view>

namespace expr {

// A trailing '*' matches any suffix (and wins over a leading one), a leading '*' any prefix;
// otherwise the pattern must equal the string.
bool globMatch(std::string_view str, std::string_view pattern);

}  // namespace expr
