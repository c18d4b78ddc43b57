#include "proxy-filter/core/attributes.h"

#include <arpa/inet.h>

#include <utility>

#include "absl/hash/hash.h"
#include "absl/strings/string_view.h"
#include "mixer/api/global_dictionary.h"

namespace mixer::proxy {

namespace {

// A pool of map nodes kept for reuse is bounded: a request with unusually many headers does
// not pin their memory for the life of the set.
constexpr size_t kMaxRecycledEntries = 256;

}  // namespace

size_t Attributes::hashOf(std::string_view name) {
  return absl::Hash<absl::string_view>{}(absl::string_view(name.data(), name.size()));
}

Attributes::Attributes(const Attributes& other)
    : entries_(other.entries().begin(), other.entries().end()), size_(other.size_) {
  rebuildIndex(0);
}

Attributes::Attributes(Attributes&& other) noexcept
    : entries_(std::move(other.entries_)),
      size_(std::exchange(other.size_, 0)),
      index_(std::move(other.index_)),
      recycled_entries_(std::move(other.recycled_entries_)) {
  other.entries_.clear();
  other.index_.clear();
}

Attributes& Attributes::operator=(Attributes&& other) noexcept {
  if (this != &other) {
    entries_ = std::move(other.entries_);
    size_ = std::exchange(other.size_, 0);
    index_ = std::move(other.index_);
    recycled_entries_ = std::move(other.recycled_entries_);
    other.entries_.clear();
    other.index_.clear();
  }
  return *this;
}

const Attribute* Attributes::lookup(std::string_view name, size_t hash) const {
  if (size_ == 0) {
    return nullptr;
  }
  const size_t mask = index_.size() - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    const uint32_t v = index_[i];
    if (v == 0) {
      return nullptr;
    }
    const Attribute& a = entries_[v - 1];
    if (a.hash == hash && a.name == name) {
      return &a;
    }
  }
}

void Attributes::indexAt(size_t position) {
  const size_t mask = index_.size() - 1;
  size_t i = entries_[position].hash & mask;
  while (index_[i] != 0) {
    i = (i + 1) & mask;
  }
  index_[i] = static_cast<uint32_t>(position + 1);
}

void Attributes::rebuildIndex(size_t room) {
  // At most half full, so that a probe ends soon.
  size_t capacity = 16;
  while (capacity < 2 * std::max(size_, room)) {
    capacity *= 2;
  }
  index_.assign(capacity, 0);
  for (size_t p = 0; p < size_; ++p) {
    indexAt(p);
  }
}

AttributeValue& Attributes::makeLive() {
  const size_t p = size_++;
  if (2 * size_ > index_.size()) {
    rebuildIndex(0);
  } else {
    indexAt(p);
  }
  return entries_[p].value;
}

AttributeValue& Attributes::slot(std::string_view name) {
  // The name that followed last round (names are distinct across the vector, so it is not live).
  if (size_ < entries_.size() && entries_[size_].name == name) {
    return makeLive();
  }
  // The name just set again (map entries come one at a time).
  if (size_ > 0 && entries_[size_ - 1].name == name) {
    return entries_[size_ - 1].value;
  }
  const size_t hash = hashOf(name);
  if (const Attribute* live = lookup(name, hash)) {
    return entries_[static_cast<size_t>(live - entries_.data())].value;
  }
  // New this round: a kept entry of this name keeps its value's storage; else the next kept
  // entry takes the name (its old name leaves the set); else a new entry.
  for (size_t i = size_ + 1; i < entries_.size(); ++i) {
    if (entries_[i].hash == hash && entries_[i].name == name) {
      std::swap(entries_[i], entries_[size_]);
      return makeLive();
    }
  }
  if (size_ == entries_.size()) {
    entries_.emplace_back();
  }
  Attribute& a = entries_[size_];
  a.name.assign(name.data(), name.size());
  a.hash = hash;
  const auto global = api::globalWordIndex(name);
  a.global_word = global ? *global : -1;
  return makeLive();
}

void Attributes::reserve(size_t n) {
  entries_.reserve(n);
  if (index_.size() < 2 * n) {
    rebuildIndex(n);
  }
}

void Attributes::erase(std::string_view name) {
  const Attribute* a = lookup(name, hashOf(name));
  if (a == nullptr) {
    return;
  }
  // The entry becomes the first kept one, emptied like those.
  const size_t p = static_cast<size_t>(a - entries_.data());
  --size_;
  std::swap(entries_[p], entries_[size_]);
  recycleMap(entries_[size_].value);
  rebuildIndex(0);
}

void Attributes::setString(std::string_view name, std::string_view value) {
  AttributeValue& v = slot(name);
  if (auto* s = std::get_if<std::string>(&v)) {
    s->assign(value.data(), value.size());
  } else {
    v = std::string(value);
  }
}

void Attributes::setBytes(std::string_view name, std::string_view value) {
  AttributeValue& v = slot(name);
  if (auto* b = std::get_if<Bytes>(&v)) {
    b->data.assign(value.data(), value.size());
  } else {
    v = Bytes{std::string(value)};
  }
}

void Attributes::setEntry(StringMap& map, std::string_view key, std::string_view entry) {
  auto it = map.find(key);
  if (it != map.end()) {
    it->second.assign(entry.data(), entry.size());
    return;
  }
  if (recycled_entries_.empty()) {
    map.emplace(std::string(key), std::string(entry));
    return;
  }
  // The node of the same key when there is one, else any node: its strings' buffers are reused.
  auto old = recycled_entries_.find(key);
  auto node =
      recycled_entries_.extract(old != recycled_entries_.end() ? old : recycled_entries_.begin());
  if (old == recycled_entries_.end()) {
    node.key().assign(key.data(), key.size());
  }
  node.mapped().assign(entry.data(), entry.size());
  map.insert(std::move(node));
}

void Attributes::setMapEntry(std::string_view name, std::string_view key, std::string_view value) {
  AttributeValue& v = slot(name);
  auto* map = std::get_if<StringMap>(&v);
  if (map == nullptr) {
    v = StringMap{};
    map = &std::get<StringMap>(v);
  }
  setEntry(*map, key, value);
}

void Attributes::recycleMap(AttributeValue& value) {
  if (auto* map = std::get_if<StringMap>(&value)) {
    if (recycled_entries_.size() < kMaxRecycledEntries) {
      recycled_entries_.merge(*map);  // moves the nodes whose keys the pool lacks
    }
    map->clear();
  }
}

void Attributes::clear() {
  if (size_ == 0) {
    return;
  }
  // Every entry stays, with its name and buffers; kept maps are empty.
  for (size_t p = 0; p < size_; ++p) {
    recycleMap(entries_[p].value);
  }
  size_ = 0;
  std::fill(index_.begin(), index_.end(), 0);
}

void Attributes::assign(const Attributes& other) {
  clear();
  for (const Attribute& a : other.entries()) {
    if (const auto* s = std::get_if<std::string>(&a.value)) {
      setString(a.name, *s);
    } else if (const auto* b = std::get_if<Bytes>(&a.value)) {
      setBytes(a.name, b->data);
    } else if (const auto* m = std::get_if<StringMap>(&a.value)) {
      AttributeValue& v = slot(a.name);
      auto* map = std::get_if<StringMap>(&v);
      if (map == nullptr) {
        v = StringMap{};
        map = &std::get<StringMap>(v);
      }
      for (const auto& [k, e] : *m) {
        setEntry(*map, k, e);
      }
    } else {
      slot(a.name) = a.value;
    }
  }
}

void Attributes::merge(const Attributes& other) {
  for (const Attribute& a : other.entries()) {
    slot(a.name) = a.value;
  }
}

bool Attributes::operator==(const Attributes& other) const {
  if (size_ != other.size_) {
    return false;
  }
  for (const Attribute& a : entries()) {
    const Attribute* b = other.lookup(a.name, a.hash);
    if (b == nullptr || !(b->value == a.value)) {
      return false;
    }
  }
  return true;
}

std::optional<Bytes> ipAddressBytes(std::string_view text) {
  if (text.size() >= INET6_ADDRSTRLEN) {
    return std::nullopt;
  }
  char buffer[INET6_ADDRSTRLEN];
  text.copy(buffer, text.size());
  buffer[text.size()] = '\0';
  unsigned char out[16];
  if (inet_pton(AF_INET, buffer, out) == 1) {
    return Bytes{std::string(reinterpret_cast<char*>(out), 4)};
  }
  if (inet_pton(AF_INET6, buffer, out) == 1) {
    return Bytes{std::string(reinterpret_cast<char*>(out), 16)};
  }
  return std::nullopt;
}

}  // namespace mixer::proxy
