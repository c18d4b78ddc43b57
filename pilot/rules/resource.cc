#include "pilot/rules/resource.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <regex>

#include "base/json_string.h"
#include "pilot/model/yaml_reader.h"

namespace pilot::rules {
namespace {

using mixer::base::jsonQuote;

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

bool isJsonNumber(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && s[i] == '-') ++i;
  if (i >= s.size()) return false;
  if (s[i] == '0') {
    ++i;
  } else if (s[i] >= '1' && s[i] <= '9') {
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
  } else {
    return false;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    const size_t start = i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    if (i == start) return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    const size_t start = i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    if (i == start) return false;
  }
  return i == s.size();
}

bool isNullWord(std::string_view s) {
  return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}
bool isTrueWord(std::string_view s) { return s == "true" || s == "True" || s == "TRUE"; }
bool isFalseWord(std::string_view s) { return s == "false" || s == "False" || s == "FALSE"; }

// A plain scalar with this text would not read back as the same string.
bool readsAsOther(std::string_view s) {
  if (isNullWord(s) || isTrueWord(s) || isFalseWord(s) || isJsonNumber(s)) return true;
  // YAML 1.1 words and numbers in other notations.
  static const std::regex other(
      R"re((y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)|[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?|0x[0-9a-fA-F]+|0o?[0-7]+|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN))re");
  return std::regex_match(s.begin(), s.end(), other);
}

void emitNode(YAML::Emitter& out, const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map:
      if (n.size() == 0) {
        out << YAML::Flow << YAML::BeginMap << YAML::EndMap;
        break;
      }
      out << YAML::BeginMap;
      for (const auto& kv : n) {
        out << YAML::Key;
        emitNode(out, kv.first);
        out << YAML::Value;
        emitNode(out, kv.second);
      }
      out << YAML::EndMap;
      break;
    case YAML::NodeType::Sequence:
      if (n.size() == 0) {
        out << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
        break;
      }
      out << YAML::BeginSeq;
      for (const YAML::Node& item : n) emitNode(out, item);
      out << YAML::EndSeq;
      break;
    case YAML::NodeType::Scalar: {
      const std::string& s = n.Scalar();
      if (n.Tag() == "!" && readsAsOther(s)) {
        out << YAML::DoubleQuoted << s;
      } else {
        out << s;
      }
      break;
    }
    default:
      out << YAML::Null;
  }
}

void appendJson(std::string* out, const YAML::Node& n, int indent, int depth) {
  const auto newline = [&](int d) {
    if (indent <= 0) return;
    *out += '\n';
    out->append(static_cast<size_t>(indent * d), ' ');
  };
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      if (n.size() == 0) {
        *out += "{}";
        return;
      }
      *out += '{';
      bool first = true;
      for (const auto& kv : n) {
        if (!first) *out += ',';
        first = false;
        newline(depth + 1);
        *out += jsonQuote(kv.first.IsScalar() ? kv.first.Scalar() : emitJson(kv.first));
        *out += indent > 0 ? ": " : ":";
        appendJson(out, kv.second, indent, depth + 1);
      }
      newline(depth);
      *out += '}';
      return;
    }
    case YAML::NodeType::Sequence: {
      if (n.size() == 0) {
        *out += "[]";
        return;
      }
      *out += '[';
      bool first = true;
      for (const YAML::Node& item : n) {
        if (!first) *out += ',';
        first = false;
        newline(depth + 1);
        appendJson(out, item, indent, depth + 1);
      }
      newline(depth);
      *out += ']';
      return;
    }
    case YAML::NodeType::Scalar: {
      const std::string& s = n.Scalar();
      if (n.Tag() != "!") {
        if (isJsonNumber(s)) {
          *out += s;
          return;
        }
        if (isTrueWord(s)) {
          *out += "true";
          return;
        }
        if (isFalseWord(s)) {
          *out += "false";
          return;
        }
        if (isNullWord(s)) {
          *out += "null";
          return;
        }
      }
      *out += jsonQuote(s);
      return;
    }
    default:
      *out += "null";
  }
}

struct Place {
  int line;
  int column;
  std::string path;
  enum Type { kCollection, kKey, kScalar } type;
};

std::string childPath(const std::string& parent, const std::string& key) {
  const bool simple = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
  if (!simple) return parent + "[" + key + "]";
  return parent.empty() ? key : parent + "." + key;
}

void index(const YAML::Node& n, const std::string& path, std::vector<Place>* out, int depth) {
  if (depth > 64) return;
  const YAML::Mark m = n.Mark();
  if (n.IsMap()) {
    out->push_back({m.line + 1, m.column + 1, path, Place::kCollection});
    for (const auto& kv : n) {
      const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "?";
      const std::string p = childPath(path, key);
      const YAML::Mark km = kv.first.Mark();
      out->push_back({km.line + 1, km.column + 1, p, Place::kKey});
      index(kv.second, p, out, depth + 1);
    }
  } else if (n.IsSequence()) {
    out->push_back({m.line + 1, m.column + 1, path, Place::kCollection});
    size_t i = 0;
    for (const YAML::Node& item : n) {
      index(item, path + "[" + std::to_string(i++) + "]", out, depth + 1);
    }
  } else {
    out->push_back({m.line + 1, m.column + 1, path, Place::kScalar});
  }
}

}  // namespace

const std::vector<KindInfo>& kinds() {
  static const std::vector<KindInfo> k = {
      {"VirtualService", "virtualservices", "virtualservice", "vs"},
      {"DestinationRule", "destinationrules", "destinationrule", "dr"},
      {"ServiceEntry", "serviceentries", "serviceentry", "se"},
  };
  return k;
}

const KindInfo* kindByPlural(std::string_view plural) {
  for (const KindInfo& k : kinds()) {
    if (k.plural == plural) return &k;
  }
  return nullptr;
}

const KindInfo* kindByKind(std::string_view kind) {
  for (const KindInfo& k : kinds()) {
    if (k.kind == kind) return &k;
  }
  return nullptr;
}

const KindInfo* kindByAlias(std::string_view alias) {
  // "virtualservices.networking.istio.io" as kubectl accepts.
  if (const size_t dot = alias.find('.'); dot != std::string_view::npos) {
    if (alias.substr(dot + 1) != kGroup) return nullptr;
    alias = alias.substr(0, dot);
  }
  for (const KindInfo& k : kinds()) {
    if (equalsIgnoreCase(alias, k.plural) || equalsIgnoreCase(alias, k.singular) ||
        equalsIgnoreCase(alias, k.short_name)) {
      return &k;
    }
  }
  return nullptr;
}

bool isVersion(std::string_view v) { return v == "v1alpha3" || v == "v1beta1" || v == "v1"; }

bool isObjectName(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  for (char c : name) {
    if (!(c >= 'a' && c <= 'z') && !(c >= '0' && c <= '9') && c != '-' && c != '.') return false;
  }
  const auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(name.front()) || !alnum(name.back())) return false;
  // Each dot-separated part is a label.
  size_t start = 0;
  while (start <= name.size()) {
    const size_t dot = std::min(name.find('.', start), name.size());
    const std::string_view part = name.substr(start, dot - start);
    if (part.empty() || part.size() > 63 || !alnum(part.front()) || !alnum(part.back())) {
      return false;
    }
    start = dot + 1;
  }
  return true;
}

bool isNamespaceName(std::string_view ns) {
  return ns.size() <= 63 && ns.find('.') == std::string_view::npos && isObjectName(ns);
}

bool decodeDocument(std::string_view body, YAML::Node* doc, std::string* error) {
  if (body.size() > kMaxBodyBytes) {
    *error = "the body is larger than " + std::to_string(kMaxBodyBytes) + " bytes";
    return false;
  }
  std::vector<model::ConfigError> errors;
  model::YamlReader reader("body", &errors);
  std::vector<YAML::Node> docs = model::loadDocuments(body, &reader);
  if (!errors.empty()) {
    *error = "line " + std::to_string(errors.front().pos.line) + ": " + errors.front().message;
    return false;
  }
  docs.erase(std::remove_if(docs.begin(), docs.end(),
                            [](const YAML::Node& d) { return !d.IsDefined() || d.IsNull(); }),
             docs.end());
  if (docs.size() != 1) {
    *error =
        "the body must hold exactly one object, got " + std::to_string(docs.size()) + " documents";
    return false;
  }
  if (!docs[0].IsMap()) {
    *error = "the body must be an object (a map)";
    return false;
  }
  *doc = docs[0];
  return true;
}

std::string emitYaml(const YAML::Node& node) {
  YAML::Emitter out;
  out.SetIndent(2);
  out.SetSeqFormat(YAML::Block);
  out.SetMapFormat(YAML::Block);
  emitNode(out, node);
  std::string text = out.c_str();
  if (text.empty() || text.back() != '\n') text += '\n';
  return text;
}

std::string emitJson(const YAML::Node& node, int indent) {
  std::string out;
  appendJson(&out, node, indent, 0);
  return out;
}

std::string contentVersion(const YAML::Node& doc) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : emitYaml(doc)) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char buf[20];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::string fieldPath(const YAML::Node& doc, const model::ConfigError& error) {
  std::vector<Place> places;
  index(doc, "", &places, 0);
  const std::string& msg = error.message;
  std::string path;
  bool found = false;
  if (error.pos.column > 0) {
    const bool about_key =
        msg.rfind("unknown field", 0) == 0 || msg.find("has a key") != std::string::npos;
    int best = -1;
    for (size_t i = 0; i < places.size(); ++i) {
      const Place& p = places[i];
      if (p.line != error.pos.line || p.column != error.pos.column) continue;
      // Priority: the key for key errors; otherwise a scalar, then a collection (deepest).
      int rank = 0;
      if (about_key) {
        rank = p.type == Place::kKey ? 3 : 1;
      } else {
        rank = p.type == Place::kScalar ? 3 : p.type == Place::kCollection ? 2 : 1;
      }
      if (rank > best || (rank == best && p.type == Place::kCollection)) {
        best = rank;
        path = p.path;
        found = true;
      }
    }
  }
  if (!found) {
    for (const Place& p : places) {
      if (p.line == error.pos.line && p.type == Place::kCollection) {
        path = p.path;  // the last one on the line is the deepest
        found = true;
      }
    }
  }
  if (!found) {
    for (const Place& p : places) {
      if (p.line == error.pos.line) {
        path = p.path;
        found = true;
        break;
      }
    }
  }
  static const std::regex missing(R"re(missing required field '([^']+)')re");
  std::smatch m;
  if (found && std::regex_search(msg, m, missing)) path = childPath(path, m[1].str());
  return path;
}

}  // namespace pilot::rules
