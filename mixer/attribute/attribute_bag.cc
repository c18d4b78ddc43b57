#include "mixer/attribute/attribute_bag.h"

#include <algorithm>

namespace mixer::attribute {
namespace {
constexpr uint32_t kMapChunkEntries = 256;
}  // namespace

bool AttributeValue::equals(const AttributeValue& other) const {
  if (type_ != other.type_) {
    return false;
  }
  if (hasStringPayload(type_)) {
    return stringValue() == other.stringValue();
  }
  switch (type_) {
    case ValueType::kUnspecified:
      return true;
    case ValueType::kInt64:
      return u_.i == other.u_.i;
    case ValueType::kDouble:
      return u_.d == other.u_.d;
    case ValueType::kBool:
      return u_.b == other.u_.b;
    case ValueType::kTimestamp:
      return u_.ts == other.u_.ts;
    case ValueType::kDuration:
      return u_.dur == other.u_.dur;
    case ValueType::kStringMap: {
      if (mapSize() != other.mapSize()) {
        return false;
      }
      for (const StringMapEntry* e = mapBegin(); e != mapEnd(); ++e) {
        std::string_view v;
        if (!other.mapFind(e->key, &v) || v != e->value) {
          return false;
        }
      }
      return true;
    }
    default:  // the expression language's own types: no attribute has one
      return false;
  }
}

AttributeBag::AttributeBag(VocabularyConstSharedPtr vocabulary)
    : vocabulary_(std::move(vocabulary)), slots_(vocabulary_->size()) {}

void AttributeBag::clear() {
  if (++epoch_ == 0) {
    // Wrapped: reset every slot so that no stale slot matches the new epoch.
    for (auto& s : slots_) {
      s.epoch = 0;
    }
    epoch_ = 1;
  }
  present_.clear();
  extras_.clear();
  if (!extras_index_.empty()) {
    extras_index_.clear();
  }
  for (size_t i = 0; i <= map_chunk_ && i < map_chunks_.size(); ++i) {
    map_chunks_[i].used = 0;
  }
  map_chunk_ = 0;
  owned_.clear();
}

const AttributeValue* AttributeBag::find(std::string_view name) const {
  if (auto id = vocabulary_->find(name)) {
    return get(*id);
  }
  const ptrdiff_t i = findExtra(name);
  return i < 0 ? nullptr : &extras_[i].value;
}

ptrdiff_t AttributeBag::findExtra(std::string_view name) const {
  if (extras_.size() > kScannedExtras) {
    auto it = extras_index_.find(name);
    return it == extras_index_.end() ? -1 : static_cast<ptrdiff_t>(it->second);
  }
  for (size_t i = 0; i < extras_.size(); ++i) {
    if (extras_[i].name == name) {
      return static_cast<ptrdiff_t>(i);
    }
  }
  return -1;
}

void AttributeBag::erase(AttributeId id) {
  Slot& s = slots_[id];
  if (s.epoch != epoch_) {
    return;
  }
  s.epoch = epoch_ - 1;  // no later epoch equals it before clear() wraps and resets every slot
  present_.erase(std::find(present_.begin(), present_.end(), id));
}

void AttributeBag::set(std::string_view name, const AttributeValue& v) {
  if (auto id = vocabulary_->find(name)) {
    set(*id, v);
    return;
  }
  if (const ptrdiff_t i = findExtra(name); i >= 0) {
    extras_[i].value = v;
    return;
  }
  extras_.push_back({name, v});
  if (extras_.size() > kScannedExtras) {
    if (extras_index_.empty()) {
      // The list just outgrew scanning: index every name so far.
      for (size_t i = 0; i < extras_.size(); ++i) {
        extras_index_.emplace(extras_[i].name, static_cast<uint32_t>(i));
      }
    } else {
      extras_index_.emplace(name, static_cast<uint32_t>(extras_.size() - 1));
    }
  }
}

StringMapEntry* AttributeBag::allocateMapEntries(uint32_t n) {
  while (true) {
    if (map_chunk_ == map_chunks_.size()) {
      const uint32_t cap = std::max(n, kMapChunkEntries);
      map_chunks_.push_back({std::make_unique<StringMapEntry[]>(cap), cap, 0});
    }
    MapChunk& c = map_chunks_[map_chunk_];
    if (c.capacity - c.used >= n) {
      StringMapEntry* p = c.entries.get() + c.used;
      c.used += n;
      return p;
    }
    if (c.used == 0) {
      // Too small even when empty: replace it with one that fits.
      c.entries = std::make_unique<StringMapEntry[]>(n);
      c.capacity = n;
      continue;
    }
    ++map_chunk_;
    if (map_chunk_ < map_chunks_.size()) {
      map_chunks_[map_chunk_].used = 0;
    }
  }
}

AttributeValue AttributeBag::makeStringMap(std::span<const StringMapEntry> entries) {
  const auto n = static_cast<uint32_t>(entries.size());
  StringMapEntry* p = allocateMapEntries(n);
  std::copy(entries.begin(), entries.end(), p);
  return AttributeValue::stringMap(p, n);
}

std::string_view AttributeBag::own(std::string s) {
  owned_.push_back(std::move(s));
  return owned_.back();
}

}  // namespace mixer::attribute
