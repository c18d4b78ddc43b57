// Reading one YAML document of a configuration file: positions of nodes (1-based, pointing at
// the first character of a scalar's content), field lookup accepting camelCase and snake_case
// spellings, and error collection. Internal to the loader. Not thread-safe.
#pragma once

#include <yaml-cpp/yaml.h>

#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/loader.h"

namespace mixer::config {

// "checkExpression" -> "check_expression".
std::string camelToSnake(std::string_view name);

// A deep copy of `node` with the map keys of its first `levels` levels spelled in snake_case.
// Only for nodes whose keys are all field names (never for user-defined maps such as labels).
YAML::Node snakeKeys(const YAML::Node& node, int levels);

class DocumentReader {
 public:
  DocumentReader(std::string file, std::shared_ptr<const std::string> text,
                 std::vector<ConfigError>* errors);

  const std::string& file() const { return file_; }
  const std::shared_ptr<const std::string>& text() const { return text_; }

  // Where `node` was written; for a quoted scalar the first character after the quote, for a
  // block scalar the first character of its content.
  SourcePos pos(const YAML::Node& node) const;
  // Where the key of `map`'s entry `key` (either spelling) was written; `pos(map)` if absent.
  SourcePos keyPos(const YAML::Node& map, std::string_view key) const;

  void error(const SourcePos& pos, std::string message);
  void error(const YAML::Node& node, std::string message) { error(pos(node), std::move(message)); }

  // The value of `key` in `map`, spelled as given (camelCase) or in snake_case; an undefined
  // node when absent or when `map` is not a map.
  static YAML::Node field(const YAML::Node& map, std::string_view key);

  // The text of a scalar `node`; reports "<what> must be a string" for a map or sequence.
  // nullopt when absent, null or not a scalar.
  std::optional<std::string> scalar(const YAML::Node& node, std::string_view what);
  // As scalar(), and reports "<what> is required" at `parent` when absent or empty.
  std::optional<std::string> requiredScalar(const YAML::Node& parent, std::string_view key,
                                            std::string_view what);
  // True for a sequence; reports "<what> must be a list" for anything else but absent or null.
  bool sequence(const YAML::Node& node, std::string_view what);
  // True for a map; reports "<what> must be a mapping" for anything else but absent or null.
  bool mapping(const YAML::Node& node, std::string_view what);

  // Reports every key of `map` that is none of `known` (camelCase; snake_case accepted too).
  void checkKeys(const YAML::Node& map, std::initializer_list<std::string_view> known,
                 std::string_view where);

 private:
  std::string file_;
  std::shared_ptr<const std::string> text_;
  std::vector<size_t> line_starts_;
  std::vector<ConfigError>* errors_;
};

// Adds the attributes of a manifest's `attributes:` map ({NAME: {valueType, description}}) to
// `model`; reports unknown value types and conflicting redeclarations.
void addManifestAttributes(const YAML::Node& attributes, DocumentReader* reader,
                           ConfigModel* model);

// Loads one Istio 1.x document (apiVersion config.istio.io/v1alpha2 or policy.istio.io/v1beta1).
void loadIstioDocument(const YAML::Node& doc, DocumentReader* reader, LoadResult* result);

// Turns every aspect-model document of `result` into handlers, instances and rules.
void translateAspectDocuments(LoadResult* result);

}  // namespace mixer::config
