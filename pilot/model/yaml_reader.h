// Strict reading of YAML documents into the model with file:line errors. Every accessor reports
// a wrong type or a missing required field against the node's line (or the enclosing map's when
// the field is absent), and expectMap() reports keys the schema does not know, so that a typo is
// an error instead of a silently ignored setting. Positions and unknown-key detection are the
// shared reader's (base/yaml_reader.h); pilot adds its wording and its typed values (integers and
// numbers in ranges, durations, UTF-8 checked strings). Not thread-safe; one reader per file.
#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/yaml_reader.h"
#include "pilot/model/service.h"

namespace pilot::model {

class YamlReader {
 public:
  YamlReader(std::string file, std::vector<ConfigError>* errors)
      : file_(std::move(file)), errors_(errors) {}

  const std::string& file() const { return file_; }

  // The 1-based line of `node`, or of `fallback` when node has no position (absent fields).
  static int lineOf(const YAML::Node& node, int fallback = 1);

  void error(int line, std::string message);
  void error(const YAML::Node& at, std::string message);

  // True if `node` is a map whose keys are all in `known`; reports what is wrong otherwise.
  // Unknown keys are reported but do not make the result false.
  bool expectMap(const YAML::Node& node, std::string_view what,
                 std::initializer_list<std::string_view> known);
  bool expectSequence(const YAML::Node& node, std::string_view what);
  // Reports each of `fields` that `map` sets: Istio fields pilot-discovery knows but cannot honour
  // for proxyless gRPC clients are errors rather than silently dropped settings ("field 'tcp' of
  // a VirtualService is not supported by pilot-discovery", `what` being "a VirtualService").
  // True if any was set.
  bool reportUnsupported(const YAML::Node& map, std::string_view what,
                         std::initializer_list<const char*> fields);

  std::optional<std::string> str(const YAML::Node& map, const char* key, bool required);
  std::optional<int64_t> integer(const YAML::Node& map, const char* key, bool required, int64_t min,
                                 int64_t max);
  std::optional<double> number(const YAML::Node& map, const char* key, bool required, double min,
                               double max);
  // Durations in Istio's form: "1s", "250ms", "1.5s", "2m", "1h".
  std::optional<std::chrono::milliseconds> duration(const YAML::Node& map, const char* key,
                                                    bool required);
  // A map of strings to strings (labels).
  std::map<std::string, std::string> stringMap(const YAML::Node& map, const char* key);
  std::vector<std::string> stringList(const YAML::Node& map, const char* key, bool required);

 private:
  std::string file_;
  std::vector<ConfigError>* errors_;
};

// True if `s` is well-formed UTF-8 (every string the server sends must be).
bool isUtf8(std::string_view s);

// True if `s` is a DNS name: letters, digits, '-' and '.', at most 253 characters.
bool isDnsName(std::string_view s);

// Parses a Go duration ("1s", "250ms", "1.5s", "2m", "1h30m") to whole milliseconds (rounded);
// nullopt when malformed, negative or over 10^12 ms.
std::optional<std::chrono::milliseconds> parseDuration(std::string_view text);

inline constexpr size_t kMaxDocumentNodes = 50000;

// Splits a YAML text into its documents; a syntax error is reported with its line and yields no
// documents. A document with more than kMaxDocumentNodes nodes once aliases are expanded, or
// nested deeper than 64 levels, is reported and dropped.
std::vector<YAML::Node> loadDocuments(std::string_view text, YamlReader* reader);

}  // namespace pilot::model
