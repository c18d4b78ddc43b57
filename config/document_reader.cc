#include "config/document_reader.h"

#include <algorithm>
#include <cctype>
#include <utility>

#include "mixer/attribute/value_type.h"
#include "mixer/common/str_cat.h"

namespace mixer::config {

std::string SourcePos::str() const {
  if (line <= 0) {
    return file;
  }
  return strCat(file, ":", line, ":", column);
}

std::string ConfigError::str() const { return strCat(pos.str(), ": ", message); }

std::string camelToSnake(std::string_view name) {
  std::string out;
  out.reserve(name.size() + 4);
  for (char c : name) {
    if (std::isupper(static_cast<unsigned char>(c))) {
      out.push_back('_');
      out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    } else {
      out.push_back(c);
    }
  }
  return out;
}

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

DocumentReader::DocumentReader(std::string file, std::shared_ptr<const std::string> text,
                               std::vector<ConfigError>* errors)
    : file_(std::move(file)), text_(std::move(text)), errors_(errors) {
  line_starts_.push_back(0);
  if (text_) {
    for (size_t i = 0; i < text_->size(); ++i) {
      if ((*text_)[i] == '\n') {
        line_starts_.push_back(i + 1);
      }
    }
  }
}

SourcePos DocumentReader::pos(const YAML::Node& node) const {
  SourcePos p;
  p.file = file_;
  if (!node.IsDefined()) {
    return p;
  }
  const YAML::Mark mark = node.Mark();
  if (mark.line < 0 || mark.column < 0) {
    p.line = 1;
    p.column = 1;
    return p;
  }
  p.line = mark.line + 1;
  p.column = mark.column + 1;
  if (!text_ || !node.IsScalar() || static_cast<size_t>(mark.line) >= line_starts_.size()) {
    return p;
  }
  const std::string& text = *text_;
  const size_t at = line_starts_[mark.line] + mark.column;
  if (at >= text.size()) {
    return p;
  }
  const char c = text[at];
  if (c == '"' || c == '\'') {
    ++p.column;
  } else if (c == '|' || c == '>') {
    // A block scalar: its content starts on the next non-blank line, after the indentation.
    for (size_t line = mark.line + 1; line < line_starts_.size(); ++line) {
      size_t i = line_starts_[line];
      while (i < text.size() && text[i] == ' ') {
        ++i;
      }
      if (i < text.size() && text[i] != '\n' && text[i] != '\r') {
        p.line = static_cast<int>(line) + 1;
        p.column = static_cast<int>(i - line_starts_[line]) + 1;
        break;
      }
    }
  }
  return p;
}

SourcePos DocumentReader::keyPos(const YAML::Node& map, std::string_view key) const {
  if (map.IsMap()) {
    const std::string snake = camelToSnake(key);
    for (const auto& entry : map) {
      if (entry.first.IsScalar() &&
          (entry.first.Scalar() == key || entry.first.Scalar() == snake)) {
        return pos(entry.first);
      }
    }
  }
  return pos(map);
}

void DocumentReader::error(const SourcePos& pos, std::string message) {
  errors_->push_back(ConfigError{pos, std::move(message)});
}

YAML::Node DocumentReader::field(const YAML::Node& map, std::string_view key) {
  if (!map.IsDefined() || !map.IsMap()) {
    return YAML::Node(YAML::NodeType::Undefined);
  }
  std::string snake;
  bool has_upper = std::any_of(key.begin(), key.end(),
                               [](char c) { return std::isupper(static_cast<unsigned char>(c)); });
  if (has_upper) {
    snake = camelToSnake(key);
  }
  for (const auto& entry : map) {
    if (!entry.first.IsScalar()) {
      continue;
    }
    const std::string& k = entry.first.Scalar();
    if (k == key || (has_upper && k == snake)) {
      return entry.second;
    }
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

std::optional<std::string> DocumentReader::scalar(const YAML::Node& node, std::string_view what) {
  if (!node.IsDefined() || node.IsNull()) {
    return std::nullopt;
  }
  if (!node.IsScalar()) {
    error(node, strCat(what, " must be a string"));
    return std::nullopt;
  }
  return node.Scalar();
}

std::optional<std::string> DocumentReader::requiredScalar(const YAML::Node& parent,
                                                          std::string_view key,
                                                          std::string_view what) {
  const YAML::Node node = field(parent, key);
  std::optional<std::string> value = scalar(node, what);
  if (!value || value->empty()) {
    if (!node.IsDefined() || node.IsNull() || node.IsScalar()) {
      error(node.IsDefined() ? pos(node) : pos(parent), strCat(what, " is required"));
    }
    return std::nullopt;
  }
  return value;
}

bool DocumentReader::sequence(const YAML::Node& node, std::string_view what) {
  if (!node.IsDefined() || node.IsNull()) {
    return false;
  }
  if (!node.IsSequence()) {
    error(node, strCat(what, " must be a list"));
    return false;
  }
  return true;
}

bool DocumentReader::mapping(const YAML::Node& node, std::string_view what) {
  if (!node.IsDefined() || node.IsNull()) {
    return false;
  }
  if (!node.IsMap()) {
    error(node, strCat(what, " must be a mapping"));
    return false;
  }
  return true;
}

void DocumentReader::checkKeys(const YAML::Node& map, std::initializer_list<std::string_view> known,
                               std::string_view where) {
  if (!map.IsMap()) {
    return;
  }
  for (const auto& entry : map) {
    if (!entry.first.IsScalar()) {
      error(entry.first, strCat("unexpected non-string key in ", where));
      continue;
    }
    const std::string& key = entry.first.Scalar();
    bool found = false;
    for (std::string_view k : known) {
      if (key == k || key == camelToSnake(k)) {
        found = true;
        break;
      }
    }
    if (!found) {
      std::string expected;
      for (std::string_view k : known) {
        expected = expected.empty() ? std::string(k) : strCat(expected, ", ", k);
      }
      error(entry.first,
            strCat("unknown field '", key, "' in ", where, " (expected ", expected, ")"));
    }
  }
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
    const YAML::Node type_node = DocumentReader::field(decl, "valueType");
    std::optional<std::string> type_name =
        reader->scalar(type_node, strCat("valueType of attribute '", name, "'"));
    if (!type_node.IsDefined() || type_node.IsNull()) {
      reader->error(reader->pos(name_node), strCat("attribute '", name, "' has no valueType"));
      continue;
    }
    if (!type_name) {
      continue;
    }
    std::optional<attribute::ValueType> type = attribute::parseValueType(*type_name);
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
          reader->error(
              where, strCat("attribute '", name, "' declared as ", *type_name,
                            " conflicts with its declaration as ",
                            attribute::valueTypeName(existing.type), " at ", existing.pos.str()));
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
