#include "base/yaml_reader.h"

#include <cctype>
#include <utility>

namespace mixer::base {

std::string SourcePos::str() const {
  if (line <= 0) {
    return file;
  }
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

std::string SourcePos::fileLine() const {
  if (line <= 0) {
    return file;
  }
  return file + ":" + std::to_string(line);
}

std::string YamlError::str() const { return pos.str() + ": " + message; }

SourcePos markPos(std::string file, const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  return SourcePos{std::move(file), mark.line + 1, mark.column + 1};
}

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

// True if the map key `written` is `key` as `spelling` allows; `snake` is camelToSnake(key).
bool sameKey(std::string_view written, std::string_view key, std::string_view snake,
             Spelling spelling) {
  return written == key || (spelling == Spelling::kCamelOrSnake && written == snake);
}

}  // namespace

YAML::Node field(const YAML::Node& map, std::string_view key, Spelling spelling) {
  if (!map.IsDefined() || !map.IsMap()) {
    return YAML::Node(YAML::NodeType::Undefined);
  }
  const std::string snake = spelling == Spelling::kCamelOrSnake ? camelToSnake(key) : "";
  for (const auto& entry : map) {
    if (entry.first.IsScalar() && sameKey(entry.first.Scalar(), key, snake, spelling)) {
      return entry.second;
    }
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

std::vector<YAML::Node> unknownKeys(const YAML::Node& map,
                                    std::initializer_list<std::string_view> known,
                                    Spelling spelling) {
  std::vector<YAML::Node> out;
  if (!map.IsDefined() || !map.IsMap()) {
    return out;
  }
  for (const auto& entry : map) {
    bool found = false;
    if (entry.first.IsScalar()) {
      for (std::string_view k : known) {
        const std::string snake = spelling == Spelling::kCamelOrSnake ? camelToSnake(k) : "";
        if (sameKey(entry.first.Scalar(), k, snake, spelling)) {
          found = true;
          break;
        }
      }
    }
    if (!found) {
      out.push_back(entry.first);
    }
  }
  return out;
}

std::string joinKeys(std::initializer_list<std::string_view> keys) {
  std::string out;
  for (std::string_view k : keys) {
    if (!out.empty()) {
      out += ", ";
    }
    out += k;
  }
  return out;
}

YamlReader::YamlReader(std::string file, std::shared_ptr<const std::string> text,
                       std::vector<YamlError>* errors)
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

SourcePos YamlReader::pos(const YAML::Node& node) const {
  SourcePos p{file_, 0, 0};
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

SourcePos YamlReader::keyPos(const YAML::Node& map, std::string_view key) const {
  if (map.IsDefined() && map.IsMap()) {
    const std::string snake = camelToSnake(key);
    for (const auto& entry : map) {
      if (entry.first.IsScalar() &&
          sameKey(entry.first.Scalar(), key, snake, Spelling::kCamelOrSnake)) {
        return pos(entry.first);
      }
    }
  }
  return pos(map);
}

void YamlReader::error(const SourcePos& pos, std::string message) {
  errors_->push_back(YamlError{pos, std::move(message)});
}

std::optional<std::string> YamlReader::scalar(const YAML::Node& node, std::string_view what) {
  if (!node.IsDefined() || node.IsNull()) {
    return std::nullopt;
  }
  if (!node.IsScalar()) {
    error(node, std::string(what) + " must be a string");
    return std::nullopt;
  }
  return node.Scalar();
}

std::optional<std::string> YamlReader::requiredScalar(const YAML::Node& parent,
                                                      std::string_view key, std::string_view what) {
  const YAML::Node node = field(parent, key);
  std::optional<std::string> value = scalar(node, what);
  if (!value || value->empty()) {
    // A map or sequence has been reported by scalar() already.
    if (!node.IsDefined() || node.IsNull() || node.IsScalar()) {
      error(node.IsDefined() ? pos(node) : pos(parent), std::string(what) + " is required");
    }
    return std::nullopt;
  }
  return value;
}

bool YamlReader::sequence(const YAML::Node& node, std::string_view what) {
  if (!node.IsDefined() || node.IsNull()) {
    return false;
  }
  if (!node.IsSequence()) {
    error(node, std::string(what) + " must be a list");
    return false;
  }
  return true;
}

bool YamlReader::mapping(const YAML::Node& node, std::string_view what) {
  if (!node.IsDefined() || node.IsNull()) {
    return false;
  }
  if (!node.IsMap()) {
    error(node, std::string(what) + " must be a mapping");
    return false;
  }
  return true;
}

void YamlReader::checkKeys(const YAML::Node& map, std::initializer_list<std::string_view> known,
                           std::string_view where) {
  for (const YAML::Node& key : unknownKeys(map, known, Spelling::kCamelOrSnake)) {
    if (!key.IsScalar()) {
      error(key, "unexpected non-string key in " + std::string(where));
    } else {
      error(key, "unknown field '" + key.Scalar() + "' in " + std::string(where) + " (expected " +
                     joinKeys(known) + ")");
    }
  }
}

}  // namespace mixer::base
