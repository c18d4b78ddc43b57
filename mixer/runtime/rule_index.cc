#include "mixer/runtime/rule_index.h"

#include <algorithm>

namespace mixer::runtime {
namespace {

// The dotted name a select chain spells ("destination.service.host"), or "" when the node is not
// one (CEXL attribute names are such chains; so are CEL's for dotted attributes).
std::string dottedName(const expr::Node& n) {
  if (n.kind == expr::Node::Kind::kIdent) {
    return n.name;
  }
  if (n.kind == expr::Node::Kind::kSelect && n.children.size() == 1) {
    const std::string base = dottedName(*n.children[0]);
    return base.empty() ? "" : base + "." + n.name;
  }
  return "";
}

}  // namespace

bool findIndexTerm(const expr::Node& n, const attribute::Vocabulary& vocabulary,
                   attribute::AttributeId* attr, std::string* value) {
  if (n.kind != expr::Node::Kind::kCall || n.has_target) {
    return false;
  }
  if (n.name == "_&&_" && n.children.size() == 2) {
    return findIndexTerm(*n.children[0], vocabulary, attr, value) ||
           findIndexTerm(*n.children[1], vocabulary, attr, value);
  }
  if (n.name != "_==_" || n.children.size() != 2) {
    return false;
  }
  for (int side = 0; side < 2; ++side) {
    const expr::Node& a = *n.children[side];
    const expr::Node& lit = *n.children[1 - side];
    if (lit.kind != expr::Node::Kind::kLiteral || lit.literal_type != expr::ValueType::kString) {
      continue;
    }
    const auto id = vocabulary.find(dottedName(a));
    // Only plain STRING attributes: DNS names, emails and URIs compare by their own rules.
    if (id && vocabulary.type(*id) == attribute::ValueType::kString) {
      *attr = *id;
      *value = lit.text;
      return true;
    }
  }
  return false;
}

void addRule(const CompiledRule* r, const attribute::Vocabulary& vocabulary, RuleSet* set) {
  ++set->size;
  if (r->index_attribute == attribute::kNoAttribute) {
    set->unindexed.push_back(r);
    return;
  }
  auto it = std::find_if(set->indexes.begin(), set->indexes.end(), [&](const RuleSet::Index& i) {
    return i.attribute == r->index_attribute;
  });
  if (it == set->indexes.end()) {
    set->indexes.push_back({r->index_attribute, vocabulary.name(r->index_attribute), {}});
    it = set->indexes.end() - 1;
  }
  it->by_value[r->index_value].push_back(r);
}

}  // namespace mixer::runtime
