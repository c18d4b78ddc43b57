#include "pilot/model/yaml_reader.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <set>

#include "base/go_duration.h"

namespace pilot::model {

bool isUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    size_t extra;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      extra = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    for (size_t k = 1; k <= extra; ++k) {
      if (i + k >= s.size()) return false;
      const unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += extra + 1;
  }
  return true;
}

bool isDnsName(std::string_view s) {
  if (s.empty() || s.size() > 253 || s.front() == '.' || s.front() == '-') return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.') return false;
  }
  return true;
}

int YamlReader::lineOf(const YAML::Node& node, int fallback) {
  if (!node.IsDefined()) return fallback;
  const int line = mixer::base::markPos(std::string(), node).line;
  return line > 0 ? line : fallback;
}

void YamlReader::error(int line, std::string message) {
  errors_->push_back(ConfigError{{file_, line < 1 ? 1 : line}, std::move(message)});
}

void YamlReader::error(const YAML::Node& at, std::string message) {
  error(lineOf(at), std::move(message));
  if (!at.IsDefined()) return;
  const mixer::base::SourcePos pos = mixer::base::markPos(std::string(), at);
  if (pos.line > 0) errors_->back().pos.column = pos.column;
}

bool YamlReader::expectMap(const YAML::Node& node, std::string_view what,
                           std::initializer_list<std::string_view> known) {
  if (!node.IsMap()) {
    error(node, std::string(what) + " must be a map");
    return false;
  }
  for (const YAML::Node& key :
       mixer::base::unknownKeys(node, known, mixer::base::Spelling::kExact)) {
    if (!key.IsScalar()) {
      error(key, std::string(what) + " has a key that is not a string");
    } else {
      error(key, "unknown field '" + key.Scalar() + "' in " + std::string(what) +
                     " (known: " + mixer::base::joinKeys(known) + ")");
    }
  }
  return true;
}

bool YamlReader::expectSequence(const YAML::Node& node, std::string_view what) {
  if (!node.IsSequence()) {
    error(node, std::string(what) + " must be a list");
    return false;
  }
  return true;
}

bool YamlReader::reportUnsupported(const YAML::Node& map, std::string_view what,
                                   std::initializer_list<const char*> fields) {
  bool any = false;
  for (const char* f : fields) {
    if (map[f].IsDefined()) {
      error(map[f], std::string("field '") + f + "' of " + std::string(what) +
                        " is not supported by pilot-discovery");
      any = true;
    }
  }
  return any;
}

std::optional<std::string> YamlReader::str(const YAML::Node& map, const char* key, bool required) {
  const YAML::Node v = map[key];
  if (!v.IsDefined() || v.IsNull()) {
    if (required) error(lineOf(map), std::string("missing required field '") + key + "'");
    return std::nullopt;
  }
  if (!v.IsScalar()) {
    error(v, std::string("field '") + key + "' must be a string");
    return std::nullopt;
  }
  if (!isUtf8(v.Scalar())) {
    error(v, std::string("field '") + key + "' is not valid UTF-8");
    return std::nullopt;
  }
  return v.Scalar();
}

std::optional<int64_t> YamlReader::integer(const YAML::Node& map, const char* key, bool required,
                                           int64_t min, int64_t max) {
  const std::optional<std::string> s = str(map, key, required);
  if (!s) return std::nullopt;
  int64_t value = 0;
  const auto r = std::from_chars(s->data(), s->data() + s->size(), value);
  if (r.ec != std::errc() || r.ptr != s->data() + s->size()) {
    error(map[key], std::string("field '") + key + "' must be an integer, got '" + *s + "'");
    return std::nullopt;
  }
  if (value < min || value > max) {
    error(map[key], std::string("field '") + key + "' must be in [" + std::to_string(min) + ", " +
                        std::to_string(max) + "], got " + std::to_string(value));
    return std::nullopt;
  }
  return value;
}

std::optional<double> YamlReader::number(const YAML::Node& map, const char* key, bool required,
                                         double min, double max) {
  const std::optional<std::string> s = str(map, key, required);
  if (!s) return std::nullopt;
  double value = 0;
  const auto r = std::from_chars(s->data(), s->data() + s->size(), value);
  if (r.ec != std::errc() || r.ptr != s->data() + s->size() || !std::isfinite(value)) {
    error(map[key], std::string("field '") + key + "' must be a number, got '" + *s + "'");
    return std::nullopt;
  }
  if (value < min || value > max) {
    error(map[key], std::string("field '") + key + "' must be in [" + std::to_string(min) + ", " +
                        std::to_string(max) + "], got " + *s);
    return std::nullopt;
  }
  return value;
}

std::optional<std::chrono::milliseconds> parseDuration(std::string_view text) {
  // Go's grammar (base/go_duration.h); pilot's durations are whole milliseconds, not negative,
  // and at most 10^12 ms.
  int64_t nanos = 0;
  if (!mixer::base::parseGoDuration(text, &nanos) || nanos < 0 ||
      nanos / 1000000 > int64_t{1000000000000}) {
    return std::nullopt;
  }
  return std::chrono::milliseconds((nanos + 500000) / 1000000);
}

std::optional<std::chrono::milliseconds> YamlReader::duration(const YAML::Node& map,
                                                              const char* key, bool required) {
  const std::optional<std::string> s = str(map, key, required);
  if (!s) return std::nullopt;
  const auto d = parseDuration(*s);
  if (!d) {
    error(map[key],
          std::string("field '") + key + "' must be a duration like 1s or 250ms, got '" + *s + "'");
  }
  return d;
}

std::map<std::string, std::string> YamlReader::stringMap(const YAML::Node& map, const char* key) {
  std::map<std::string, std::string> out;
  const YAML::Node v = map[key];
  if (!v.IsDefined() || v.IsNull()) return out;
  if (!v.IsMap()) {
    error(v, std::string("field '") + key + "' must be a map of strings");
    return out;
  }
  for (const auto& kv : v) {
    if (!kv.first.IsScalar() || !kv.second.IsScalar()) {
      error(kv.first, std::string("field '") + key + "' must map strings to strings");
      continue;
    }
    if (!isUtf8(kv.first.Scalar()) || !isUtf8(kv.second.Scalar())) {
      error(kv.first, std::string("field '") + key + "' is not valid UTF-8");
      continue;
    }
    out[kv.first.Scalar()] = kv.second.Scalar();
  }
  return out;
}

std::vector<std::string> YamlReader::stringList(const YAML::Node& map, const char* key,
                                                bool required) {
  std::vector<std::string> out;
  const YAML::Node v = map[key];
  if (!v.IsDefined() || v.IsNull()) {
    if (required) error(lineOf(map), std::string("missing required field '") + key + "'");
    return out;
  }
  if (!v.IsSequence()) {
    error(v, std::string("field '") + key + "' must be a list of strings");
    return out;
  }
  for (const auto& item : v) {
    if (!item.IsScalar()) {
      error(item, std::string("field '") + key + "' must be a list of strings");
      continue;
    }
    if (!isUtf8(item.Scalar())) {
      error(item, std::string("field '") + key + "' is not valid UTF-8");
      continue;
    }
    out.push_back(item.Scalar());
  }
  if (required && out.empty()) error(v, std::string("field '") + key + "' must not be empty");
  return out;
}

namespace {

// Counts the nodes of `node` as a reader sees them (an alias counts every time it is used), up
// to `budget`; false once the budget is exhausted.
bool withinBudget(const YAML::Node& node, size_t* budget, int depth) {
  if (*budget == 0 || depth > 64) return false;
  --*budget;
  if (node.IsSequence()) {
    for (const YAML::Node& item : node) {
      if (!withinBudget(item, budget, depth + 1)) return false;
    }
  } else if (node.IsMap()) {
    for (const auto& kv : node) {
      if (!withinBudget(kv.first, budget, depth + 1) ||
          !withinBudget(kv.second, budget, depth + 1)) {
        return false;
      }
    }
  }
  return true;
}

}  // namespace

// Splits at document markers ("---" starts a document, "..." ends one, both at column 0), each
// document with the line it starts on (0-based).
static std::vector<std::pair<size_t, std::string_view>> splitDocuments(std::string_view text) {
  std::vector<std::pair<size_t, std::string_view>> out;
  size_t start = 0, start_line = 0, line = 0;
  auto isMarker = [&](size_t at, std::string_view m) {
    if (text.compare(at, m.size(), m) != 0) return false;
    const size_t after = at + m.size();
    return after >= text.size() || text[after] == ' ' || text[after] == '\n' ||
           text[after] == '\r' || text[after] == '\t';
  };
  for (size_t at = 0; at <= text.size();) {
    const size_t eol = std::min(text.find('\n', at), text.size());
    if (at < text.size() && (isMarker(at, "---") || isMarker(at, "..."))) {
      if (at > start) out.emplace_back(start_line, text.substr(start, at - start));
      // A "---" line belongs to the document it opens; a "..." line to none.
      start = isMarker(at, "---") ? at : std::min(eol + 1, text.size());
      start_line = isMarker(at, "---") ? line : line + 1;
    }
    if (eol >= text.size()) break;
    at = eol + 1;
    ++line;
  }
  if (start < text.size()) out.emplace_back(start_line, text.substr(start));
  return out;
}

std::vector<YAML::Node> loadDocuments(std::string_view text, YamlReader* reader) {
  try {
    // Each document is parsed on its own (YAML::LoadAll can produce documents without end on
    // some malformed input), preceded by as many newlines as lines before it so that positions
    // stay those of the file.
    std::vector<YAML::Node> docs;
    for (const auto& [first_line, chunk] : splitDocuments(text)) {
      if (docs.size() >= kMaxDocumentNodes) break;
      std::string padded(first_line, '\n');
      padded.append(chunk);
      docs.push_back(YAML::Load(padded));
    }
    std::vector<YAML::Node> out;
    for (YAML::Node& d : docs) {
      if (!d.IsDefined() || d.IsNull()) continue;
      // Aliases can make a small file expand enormously; configuration is never that large.
      size_t budget = kMaxDocumentNodes;
      if (!withinBudget(d, &budget, 0)) {
        reader->error(d, "document is larger than " + std::to_string(kMaxDocumentNodes) +
                             " nodes or nested deeper than 64 levels (after expanding YAML "
                             "aliases)");
        continue;
      }
      out.push_back(d);
    }
    return out;
  } catch (const YAML::Exception& e) {
    reader->error(e.mark.line >= 0 ? e.mark.line + 1 : 1, "YAML syntax error: " + e.msg);
    return {};
  }
}

}  // namespace pilot::model
