// AttributeBag: the attributes of one request, for the hot path.
//
// Values are views (see AttributeValue): decoding a request copies no string. Attributes the
// vocabulary knows are stored in a dense array indexed by AttributeId, so get(id) is O(1);
// attributes it does not know are kept by name in a side list, searched by scanning while it is
// short and through a hash index once it is not, so setting n undeclared names costs O(n), not
// O(n^2). clear() is O(1) (an epoch bump), and storage is reused, so a bag that lives per thread
// stops allocating after warm-up.
//
// Not thread-safe: one bag belongs to one request at a time.
#pragma once

#include <deque>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "mixer/attribute/value.h"
#include "mixer/attribute/vocabulary.h"

namespace mixer::attribute {

class AttributeBag {
 public:
  explicit AttributeBag(VocabularyConstSharedPtr vocabulary);

  AttributeBag(const AttributeBag&) = delete;
  AttributeBag& operator=(const AttributeBag&) = delete;

  const Vocabulary& vocabulary() const { return *vocabulary_; }
  const VocabularyConstSharedPtr& vocabularyPtr() const { return vocabulary_; }

  // Removes every attribute and forgets owned storage. O(1) for the dense part.
  void clear();

  // The value of attribute `id`, or nullptr when absent.
  const AttributeValue* get(AttributeId id) const {
    const Slot& s = slots_[id];
    return s.epoch == epoch_ ? &s.value : nullptr;
  }

  // The value of the attribute named `name`, or nullptr. Known names cost one hash lookup.
  const AttributeValue* find(std::string_view name) const;

  // Sets attribute `id`. String views inside `v` must outlive the bag's current contents.
  void set(AttributeId id, const AttributeValue& v) {
    Slot& s = slots_[id];
    if (s.epoch != epoch_) {
      s.epoch = epoch_;
      present_.push_back(id);
    }
    s.value = v;
  }

  // Removes attribute `id` (a known one). O(number of attributes present).
  void erase(AttributeId id);

  // Sets the attribute named `name` (known or not). `name` must outlive the bag's contents.
  void set(std::string_view name, const AttributeValue& v);

  // Copies `entries` into bag-owned storage and returns a STRING_MAP value over them.
  AttributeValue makeStringMap(std::span<const StringMapEntry> entries);
  // Reserves bag-owned space for `n` map entries and returns it for the caller to fill; the
  // returned pointer stays valid until clear().
  StringMapEntry* allocateMapEntries(uint32_t n);

  // Keeps a copy of `s` for the bag's lifetime contents and returns a view of the copy.
  std::string_view own(std::string s);

  // Calls fn(name, value) for every present attribute: known ones in the order they were first
  // set, then unknown ones.
  template <typename Fn>
  void forEach(Fn&& fn) const {
    for (AttributeId id : present_) {
      fn(std::string_view(vocabulary_->name(id)), slots_[id].value);
    }
    for (const auto& e : extras_) {
      fn(e.name, e.value);
    }
  }

  // Number of attributes present.
  size_t size() const { return present_.size() + extras_.size(); }

 private:
  struct Slot {
    uint32_t epoch = 0;
    AttributeValue value;
  };
  struct Extra {
    std::string_view name;
    AttributeValue value;
  };
  // Up to this many undeclared names are found by scanning; beyond, through extras_index_.
  static constexpr size_t kScannedExtras = 16;

  // The position of undeclared name `name` in extras_, or -1.
  ptrdiff_t findExtra(std::string_view name) const;
  // Map entries live in fixed-size chunks so that pointers handed out stay valid as more are
  // allocated; chunks are kept across clear().
  struct MapChunk {
    std::unique_ptr<StringMapEntry[]> entries;
    uint32_t capacity = 0;
    uint32_t used = 0;
  };

  VocabularyConstSharedPtr vocabulary_;
  std::vector<Slot> slots_;
  std::vector<AttributeId> present_;
  std::vector<Extra> extras_;
  absl::flat_hash_map<std::string_view, uint32_t> extras_index_;  // empty while scanning suffices
  std::vector<MapChunk> map_chunks_;
  size_t map_chunk_ = 0;
  std::deque<std::string> owned_;
  uint32_t epoch_ = 1;
};

}  // namespace mixer::attribute
