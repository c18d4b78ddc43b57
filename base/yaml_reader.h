// Reading YAML (yaml-cpp) with source positions: where a node was written, one error type that
// carries that position as data, field lookup in either spelling (camelCase or snake_case), and
// typed accessors that report a wrong type, a missing required field or an unknown key against
// the position of the node at fault. Shared by every module that reads YAML written by operators
// (the mixs configuration loader, pilot's resources, adapter params). Not thread-safe; one
// reader per file.
#pragma once

#include <yaml-cpp/yaml.h>

#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mixer::base {

// Where something was written: a file (or another origin, such as "etcd:/prefix") and a 1-based
// line and column. Line 0 means the file as a whole; column 0 means only the line is known.
struct SourcePos {
  std::string file;
  int line = 0;
  int column = 0;

  // "file:line:column"; "file" alone when line is 0.
  std::string str() const;
  // "file:line"; "file" alone when line is 0.
  std::string fileLine() const;

  bool operator==(const SourcePos&) const = default;
};

// One problem in what was read: where, and what is wrong in terms the author of the file can act
// on.
struct YamlError {
  SourcePos pos;
  std::string message;

  // "file:line:column: message" ("file: message" when line is 0).
  std::string str() const;
};

// The position yaml-cpp recorded for `node`, 1-based; line and column 0 when it has none.
SourcePos markPos(std::string file, const YAML::Node& node);

// "checkExpression" -> "check_expression".
std::string camelToSnake(std::string_view name);

// How keys given to the reader are matched against the keys of a map.
enum class Spelling {
  kExact,         // as given
  kCamelOrSnake,  // as given (camelCase) or in snake_case
};

// The value of `key` in `map`; an undefined node when absent or when `map` is not a map. Never
// inserts into `map`.
YAML::Node field(const YAML::Node& map, std::string_view key,
                 Spelling spelling = Spelling::kCamelOrSnake);

// The keys of `map` that are none of `known`, in document order, non-scalar keys included.
// Empty when `map` is not a map.
std::vector<YAML::Node> unknownKeys(const YAML::Node& map,
                                    std::initializer_list<std::string_view> known,
                                    Spelling spelling);

// "a, b, c".
std::string joinKeys(std::initializer_list<std::string_view> keys);

class YamlReader {
 public:
  // `text` is the file's text, for the exact positions of quoted and block scalars; without it
  // positions are yaml-cpp's marks. Errors are appended to `errors`.
  YamlReader(std::string file, std::shared_ptr<const std::string> text,
             std::vector<YamlError>* errors);

  const std::string& file() const { return file_; }
  const std::shared_ptr<const std::string>& text() const { return text_; }
  std::vector<YamlError>* errors() const { return errors_; }

  // Where `node` was written: line 0 when it is undefined (an absent field), 1:1 when yaml-cpp
  // recorded no mark. With the text: for a quoted scalar the first character after the quote,
  // for a block scalar (| or >) the first character of its content.
  SourcePos pos(const YAML::Node& node) const;
  // Where the key of `map`'s entry `key` (camelCase or snake_case) was written; `pos(map)` if
  // absent.
  SourcePos keyPos(const YAML::Node& map, std::string_view key) const;

  void error(const SourcePos& pos, std::string message);
  void error(const YAML::Node& node, std::string message) { error(pos(node), std::move(message)); }

  // The text of a scalar `node`; reports "<what> must be a string" for a map or sequence.
  // nullopt when absent, null or not a scalar.
  std::optional<std::string> scalar(const YAML::Node& node, std::string_view what);
  // The text of `parent`'s field `key` (either spelling), as scalar(); reports "<what> is
  // required" at the field (or at `parent` when absent) when absent, null or empty.
  std::optional<std::string> requiredScalar(const YAML::Node& parent, std::string_view key,
                                            std::string_view what);
  // True for a sequence; reports "<what> must be a list" for anything else but absent or null.
  bool sequence(const YAML::Node& node, std::string_view what);
  // True for a map; reports "<what> must be a mapping" for anything else but absent or null.
  bool mapping(const YAML::Node& node, std::string_view what);
  // Reports every key of `map` that is none of `known` (camelCase; snake_case accepted too):
  // "unknown field 'k' in <where> (expected a, b)", or "unexpected non-string key in <where>".
  void checkKeys(const YAML::Node& map, std::initializer_list<std::string_view> known,
                 std::string_view where);

 private:
  std::string file_;
  std::shared_ptr<const std::string> text_;
  std::vector<size_t> line_starts_;
  std::vector<YamlError>* errors_;
};

}  // namespace mixer::base
