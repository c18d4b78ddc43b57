// The rule index of a configuration (ConfigSnapshot's RuleSet): a rule whose `match` is a
// conjunction holding a term `attribute == "literal"` on a STRING attribute is filed under that
// value, so that a request finds the rules that can apply to it with one hash lookup per indexed
// attribute (docs/configuration.md, "Rule lookup"). Load time only. Stateless; thread-safe.
#pragma once

#include <string>

#include "expr/ast.h"
#include "mixer/attribute/vocabulary.h"
#include "mixer/runtime/config_snapshot.h"

namespace mixer::runtime {

// Finds the first term `attr == "literal"` (either order) among the top-level conjuncts of `n`,
// where `attr` is a plain STRING attribute of `vocabulary` (DNS names, e-mails and URIs compare by
// their own rules). False when there is none.
bool findIndexTerm(const expr::Node& n, const attribute::Vocabulary& vocabulary,
                   attribute::AttributeId* attr, std::string* value);

// Adds `r` to `set`: under its index term when it has one, else to the rules always evaluated.
void addRule(const CompiledRule* r, const attribute::Vocabulary& vocabulary, RuleSet* set);

}  // namespace mixer::runtime
