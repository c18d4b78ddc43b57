#include "mixer/adapter_host/yaml_params.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "base/yaml_reader.h"

namespace mixer::adapter_host {
namespace {

// Places `error` at `node`; leaves it unpositioned when yaml-cpp recorded no mark.
void placeAt(const YAML::Node& node, ParamError* error) {
  const base::SourcePos pos = base::markPos("", node);
  if (pos.line > 0) {
    error->line = pos.line;
    error->column = pos.column;
  }
}

void addError(const YAML::Node& node, std::string path, std::string message,
              std::vector<ParamError>* errors) {
  ParamError error{std::move(path), std::move(message), 0, 0};
  placeAt(node, &error);
  errors->push_back(std::move(error));
}

bool parseInt(const std::string& text, int64_t* out) {
  if (text.empty()) {
    return false;
  }
  size_t start = (text[0] == '-' || text[0] == '+') ? 1 : 0;
  if (start == text.size()) {
    return false;
  }
  int base = 10;
  if (text.compare(start, 2, "0x") == 0) {
    base = 16;
    start += 2;
  } else if (text.compare(start, 2, "0o") == 0) {
    base = 8;
    start += 2;
  }
  for (size_t i = start; i < text.size(); ++i) {
    char c = text[i];
    bool digit = (c >= '0' && c <= '9') ||
                 (base == 16 && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')));
    if (!digit || (base == 8 && c > '7')) {
      return false;
    }
  }
  errno = 0;
  long long v = std::strtoll(text.c_str() + start, nullptr, base);
  if (errno == ERANGE) {
    return false;
  }
  *out = text[0] == '-' ? -v : v;
  return true;
}

bool parseFloat(const std::string& text, double* out) {
  if (text == ".inf" || text == "+.inf" || text == ".Inf" || text == ".INF") {
    *out = HUGE_VAL;
    return true;
  }
  if (text == "-.inf" || text == "-.Inf" || text == "-.INF") {
    *out = -HUGE_VAL;
    return true;
  }
  if (text == ".nan" || text == ".NaN" || text == ".NAN") {
    *out = NAN;
    return true;
  }
  bool seen_digit = false;
  for (char c : text) {
    if (c >= '0' && c <= '9') {
      seen_digit = true;
    } else if (c != '.' && c != 'e' && c != 'E' && c != '-' && c != '+') {
      return false;
    }
  }
  if (!seen_digit) {
    return false;
  }
  char* end = nullptr;
  *out = std::strtod(text.c_str(), &end);
  return end != nullptr && *end == '\0';
}

AbiValue scalarValue(const YAML::Node& node) {
  const std::string& text = node.Scalar();
  // A quoted scalar ("5", '5') is a string: yaml-cpp tags plain scalars "?" and quoted ones "!".
  if (node.Tag() == "!") {
    return AbiValue::string(text);
  }
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") {
    return AbiValue();
  }
  if (text == "true" || text == "True" || text == "TRUE") {
    return AbiValue::boolean(true);
  }
  if (text == "false" || text == "False" || text == "FALSE") {
    return AbiValue::boolean(false);
  }
  int64_t i = 0;
  if (parseInt(text, &i)) {
    return AbiValue::int64(i);
  }
  double d = 0;
  if (parseFloat(text, &d)) {
    return AbiValue::float64(d);
  }
  return AbiValue::string(text);
}

}  // namespace

std::string ParamError::toString() const {
  std::string out;
  if (line > 0) {
    out = std::to_string(line) + ":" + std::to_string(column) + ": ";
  }
  return out + path + ": " + message;
}

AbiValue valueFromYaml(const YAML::Node& node, const std::string& path,
                       std::vector<ParamError>* errors) {
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      return AbiValue();
    case YAML::NodeType::Scalar:
      return scalarValue(node);
    case YAML::NodeType::Sequence: {
      AbiValue::List items;
      size_t index = 0;
      for (const YAML::Node& item : node) {
        items.push_back(valueFromYaml(item, path + "[" + std::to_string(index) + "]", errors));
        ++index;
      }
      return AbiValue::list(std::move(items));
    }
    case YAML::NodeType::Map: {
      AbiValue out = AbiValue::map();
      for (const auto& entry : node) {
        if (!entry.first.IsScalar()) {
          addError(entry.first, path, "map keys must be scalars", errors);
          continue;
        }
        const std::string key = entry.first.Scalar();
        std::string child_path = path;
        if (!child_path.empty()) {
          child_path += '.';
        }
        child_path += key;
        if (out.find(key) != nullptr) {
          addError(entry.first, child_path, "duplicate key '" + key + "'", errors);
          continue;
        }
        out.set(key, valueFromYaml(entry.second, child_path, errors));
      }
      return out;
    }
  }
  return AbiValue();
}

void locateErrors(const YAML::Node& params, const std::string& root,
                  std::vector<ParamError>* errors) {
  for (ParamError& error : *errors) {
    if (error.line > 0 || error.path.compare(0, root.size(), root) != 0) {
      continue;
    }
    // Walk "x.y[2].z" below the root. reset() re-points a handle; operator= would write into the
    // document.
    YAML::Node node;
    node.reset(params);
    YAML::Node deepest;
    deepest.reset(params);
    const std::string& path = error.path;
    size_t i = root.size();
    while (i < path.size()) {
      std::string key;
      bool index = false;
      if (path[i] == '.') {
        const size_t end = path.find_first_of(".[", i + 1);
        key = path.substr(i + 1, end == std::string::npos ? std::string::npos : end - i - 1);
        i = end == std::string::npos ? path.size() : end;
      } else if (path[i] == '[') {
        const size_t end = path.find(']', i);
        if (end == std::string::npos) {
          break;
        }
        key = path.substr(i + 1, end - i - 1);
        index = true;
        i = end + 1;
      } else {
        break;
      }
      bool found = false;
      if (index && node.IsSequence()) {
        int64_t n = 0;
        if (parseInt(key, &n) && n >= 0 && static_cast<size_t>(n) < node.size()) {
          const YAML::Node& sequence = node;
          YAML::Node child = sequence[static_cast<size_t>(n)];
          node.reset(child);
          found = true;
        }
      } else if (!index && node.IsMap()) {
        for (const auto& entry : node) {
          if (entry.first.IsScalar() && entry.first.Scalar() == key) {
            node.reset(entry.second);
            found = true;
            break;
          }
        }
      }
      if (!found) {
        break;
      }
      if (base::markPos("", node).line > 0) {
        deepest.reset(node);
      }
    }
    placeAt(deepest, &error);
  }
}

}  // namespace mixer::adapter_host
