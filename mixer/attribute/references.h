// AttributeReferences: which attributes (and which keys of map attributes) a decision read,
// present or absent. The server returns them as ReferencedAttributes, and proxies cache the
// decision keyed by exactly these, so the list must be complete: an attribute that was looked up
// and found absent is recorded too (as absent).
//
// Not thread-safe: one per request.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace mixer::attribute {

// AttributeReference::global_word when the name's place in the global dictionary was not looked
// up: the encoder looks the name up itself.
inline constexpr int32_t kGlobalWordNotLookedUp = -2;

struct AttributeReference {
  std::string_view name;
  // Set when a key of a STRING_MAP attribute was read rather than the whole map.
  std::string_view map_key;
  bool has_map_key = false;
  // Whether the attribute (or the map key) was present.
  bool present = false;
  // The name's index in the full global dictionary, -1 when it is not there, or
  // kGlobalWordNotLookedUp. A reference to a vocabulary attribute carries the vocabulary's index,
  // so the encoder need not hash the name again.
  int32_t global_word = kGlobalWordNotLookedUp;

  bool sameTarget(const AttributeReference& o) const {
    return name == o.name && has_map_key == o.has_map_key && map_key == o.map_key;
  }
};

class AttributeReferences {
 public:
  // Views must outlive this object's contents (vocabulary names, request words, program constants).
  // `global_word` is the name's global dictionary index as AttributeReference keeps it.
  void add(std::string_view name, bool present, int32_t global_word = kGlobalWordNotLookedUp) {
    insert({name, {}, false, present, global_word});
  }
  void addMapKey(std::string_view name, std::string_view key, bool present,
                 int32_t global_word = kGlobalWordNotLookedUp) {
    insert({name, key, true, present, global_word});
  }

  std::span<const AttributeReference> items() const { return items_; }
  bool empty() const { return items_.empty(); }
  void clear() { items_.clear(); }

  // A mark to return to: references recorded after it can be dropped with restore(), as Istio
  // does between the quotas of one Check.
  size_t mark() const { return items_.size(); }
  void restore(size_t mark) { items_.resize(mark); }

 private:
  void insert(const AttributeReference& r) {
    for (const auto& e : items_) {
      if (e.name != r.name) {
        continue;
      }
      if (e.has_map_key == r.has_map_key && e.map_key == r.map_key) {
        return;  // the first read decides presence; a later read sees the same bag
      }
      if (r.has_map_key && !e.has_map_key && !e.present) {
        // The map was recorded absent: its keys are too. (A map an attribute generator added
        // after its absence was recorded is not the request's: the proxy keys on the absence.)
        return;
      }
    }
    items_.push_back(r);
  }

  std::vector<AttributeReference> items_;
};

}  // namespace mixer::attribute
