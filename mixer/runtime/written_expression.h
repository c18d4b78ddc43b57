// Expressions as the configuration wrote them, for the configuration compiler
// (config_snapshot.cc): where in the file an expression's compile error is, and the `$out.`
// names of attribute bindings, which are compiled as `_out.`. Load time only. Stateless.
#pragma once

#include <string>
#include <string_view>

#include <yaml-cpp/yaml.h>

#include "absl/status/status.h"
#include "config/model.h"

namespace mixer::runtime {

// An expression's compile error at its place in the file: the error's position is relative to
// the expression, which begins at `at` (after the quote, for quoted scalars). With
// `binding_outputs`, the message spells the outputs of an attribute binding as written ($out.).
config::ConfigError expressionError(const config::SourcePos& at, bool quoted,
                                    const absl::Status& status, std::string_view what,
                                    bool binding_outputs = false);

// True for a scalar written in quotes (its expression starts one column later).
bool isQuoted(const YAML::Node& node);

// An error message about a binding expression, with its output names spelled as written.
std::string writtenOutputNames(std::string message);

// An attribute binding's expression with `$out.` (outside string literals) spelled `_out.`, the
// name the outputs are compiled under (the same length: error columns stay right).
std::string outputNames(std::string_view text);

}  // namespace mixer::runtime
