#include "config/document_reader.h"

#include <algorithm>
#include <cctype>
#include <utility>

#include "base/str_cat.h"
#include "mixer/attribute/value_type.h"

namespace mixer::config {

using base::strCat;

namespace {

// Renames the keys of `node` and of the maps `levels - 1` below it to snake_case, in place.
// Bounded by depth because aliases may share one node many times over.
void renameKeys(YAML::Node node, int levels) {
  if (levels <= 0) {
    return;
  }
  if (node.IsMap()) {
    std::vector<std::pair<std::string, YAML::Node>> renamed;
    std::vector<YAML::Node> values;
    for (auto entry : node) {
      values.push_back(entry.second);
      if (entry.first.IsScalar()) {
        std::string snake = camelToSnake(entry.first.Scalar());
        if (snake != entry.first.Scalar()) {
          renamed.emplace_back(entry.first.Scalar(), entry.second);
        }
      }
    }
    for (auto& [key, value] : renamed) {
      node.remove(key);
      node[camelToSnake(key)] = value;
    }
    for (YAML::Node& value : values) {
      renameKeys(value, levels - 1);
    }
  } else if (node.IsSequence()) {
    for (auto item : node) {
      renameKeys(item, levels - 1);
    }
  }
}

}  // namespace

YAML::Node snakeKeys(const YAML::Node& node, int levels) {
  YAML::Node out = YAML::Clone(node);
  renameKeys(out, levels);
  return out;
}

void addManifestAttributes(const YAML::Node& attributes, DocumentReader* reader,
                           ConfigModel* model) {
  if (!reader->mapping(attributes, "attributes")) {
    return;
  }
  for (const auto& entry : attributes) {
    const YAML::Node& name_node = entry.first;
    const YAML::Node& decl = entry.second;
    if (!name_node.IsScalar() || name_node.Scalar().empty()) {
      reader->error(name_node, "attribute name must be a non-empty string");
      continue;
    }
    const std::string name = name_node.Scalar();
    if (!decl.IsMap()) {
      reader->error(decl.IsDefined() && !decl.IsNull() ? reader->pos(decl) : reader->pos(name_node),
                    strCat("attribute '", name, "' must be a mapping with a valueType"));
      continue;
    }
    reader->checkKeys(decl, {"valueType", "description"}, strCat("attribute '", name, "'"));
    const YAML::Node type_node = base::field(decl, "valueType");
    std::optional<std::string> type_name =
        reader->scalar(type_node, strCat("valueType of attribute '", name, "'"));
    if (!type_node.IsDefined() || type_node.IsNull()) {
      reader->error(reader->pos(name_node), strCat("attribute '", name, "' has no valueType"));
      continue;
    }
    if (!type_name) {
      continue;
    }
    std::optional<attribute::ValueType> type = attribute::parseManifestTypeName(*type_name);
    if (!type) {
      reader->error(type_node,
                    strCat("unknown valueType '", *type_name, "' of attribute '", name,
                           "' (expected STRING, INT64, DOUBLE, BOOL, TIMESTAMP, IP_ADDRESS, "
                           "EMAIL_ADDRESS, URI, DNS_NAME, DURATION or STRING_MAP)"));
      continue;
    }
    const SourcePos where = reader->pos(name_node);
    bool duplicate = false;
    for (const AttributeDecl& existing : model->attributes) {
      if (existing.name == name) {
        duplicate = true;
        if (existing.type != *type) {
          reader->error(where, strCat("attribute '", name, "' declared as ", *type_name,
                                      " conflicts with its declaration as ",
                                      attribute::manifestTypeName(existing.type), " at ",
                                      existing.pos.str()));
        }
        break;
      }
    }
    if (!duplicate) {
      model->attributes.push_back(AttributeDecl{name, *type, where});
    }
  }
}

}  // namespace mixer::config
