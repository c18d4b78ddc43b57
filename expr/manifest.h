// The attribute manifest: what names an expression may reference, their ids and types.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "expr/str_util.h"
#include "expr/value.h"

namespace expr {

// Maps attribute names to (id, type). Built once at config compile; read-only afterwards and
// then safe to share between threads.
class AttributeManifest {
 public:
  struct Entry {
    std::string name;
    AttributeId id;
    ValueType type;
  };

  // Adds or replaces an attribute. For CEL, ValueType::kDyn declares an untyped variable.
  void add(std::string_view name, AttributeId id, ValueType type);
  // Adds with the next free id (the insertion index); returns the id.
  AttributeId add(std::string_view name, ValueType type);
  const Entry* find(std::string_view name) const;
  const Entry* findById(AttributeId id) const;
  const std::vector<Entry>& entries() const { return entries_; }

 private:
  std::vector<Entry> entries_;
  absl::flat_hash_map<std::string, size_t, StringViewHash, StringViewEq> by_name_;
  absl::flat_hash_map<AttributeId, size_t> by_id_;
};

}  // namespace expr
