// The attribute vocabulary: every attribute name a manifest declares, with its type and a dense
// integer id. Names are resolved to ids once (at config compile or decode), so per-request lookups
// are array indexing.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "mixer/api/global_dictionary.h"
#include "mixer/attribute/value_type.h"

namespace mixer::attribute {

// Dense index of an attribute in a Vocabulary: 0 .. size()-1.
using AttributeId = int32_t;
inline constexpr AttributeId kNoAttribute = -1;

// One attribute as a manifest declares it.
struct AttributeDecl {
  std::string name;
  ValueType type = ValueType::kUnspecified;
};

// Immutable after creation; safe to share between threads (VocabularyConstSharedPtr).
class Vocabulary {
 public:
  // Fails when a name is declared twice with different types.
  static absl::StatusOr<std::shared_ptr<const Vocabulary>> create(std::vector<AttributeDecl> decls);

  // Istio's istio-proxy and kubernetes manifests (the attributes Istio's proxies send).
  static std::shared_ptr<const Vocabulary> builtin();
  // builtin() plus the Istio 0.1/0.2 names it lacks (aspectModelDecls()): every name of a
  // built-in manifest (mixc's vocabulary).
  static std::shared_ptr<const Vocabulary> allBuiltin();

  std::optional<AttributeId> find(std::string_view name) const {
    auto it = by_name_.find(name);
    if (it == by_name_.end()) {
      return std::nullopt;
    }
    return it->second;
  }

  // The attribute named by global dictionary word `index`, or kNoAttribute. O(1).
  AttributeId idForGlobalWord(uint32_t index) const {
    return index < api::kGlobalWordCount ? by_global_word_[index] : kNoAttribute;
  }

  // The global dictionary index of attribute `id`'s name, or -1.
  int32_t globalWordOf(AttributeId id) const { return global_word_of_[id]; }

  const std::string& name(AttributeId id) const { return decls_[id].name; }
  ValueType type(AttributeId id) const { return decls_[id].type; }
  size_t size() const { return decls_.size(); }
  const std::vector<AttributeDecl>& decls() const { return decls_; }

 private:
  Vocabulary() = default;

  std::vector<AttributeDecl> decls_;
  absl::flat_hash_map<std::string_view, AttributeId> by_name_;
  std::vector<AttributeId> by_global_word_;
  std::vector<int32_t> global_word_of_;
};

using VocabularyConstSharedPtr = std::shared_ptr<const Vocabulary>;

// Parses Istio `attributemanifest` documents (one or more, YAML; `spec.attributes.NAME.valueType`).
// Errors name `source_name:line:column`.
absl::StatusOr<std::vector<AttributeDecl>> parseAttributeManifests(std::string_view yaml,
                                                                   std::string_view source_name);

// The YAML text of the built-in manifests.
std::string_view builtinManifestsYaml();

// The Istio 0.1/0.2 attribute vocabulary (target.*, origin.*, source.*, request.*, response.*),
// added to a configuration's vocabulary when it uses the aspect model.
std::string_view aspectModelManifestYaml();
const std::vector<AttributeDecl>& aspectModelDecls();

}  // namespace mixer::attribute
