#include "proxy-filter/core/attributes.h"

#include <arpa/inet.h>

namespace mixer::proxy {

namespace {

// A pool of map nodes kept for reuse is bounded: a request with unusually many headers does
// not pin their memory for the life of the set.
constexpr size_t kMaxRecycledEntries = 256;

}  // namespace

AttributeValue& Attributes::slot(std::string_view name) {
  // One hash for both lookups (the two maps hash alike).
  const absl::string_view key = lookupKey(name);
  const size_t hash = values_.hash_function()(key);
  auto it = values_.find(key, hash);
  if (it != values_.end()) {
    return it->second;
  }
  if (!recycled_.empty()) {
    auto old = recycled_.find(key, hash);
    if (old != recycled_.end()) {
      return values_.insert(recycled_.extract(old)).position->second;
    }
  }
  return values_.try_emplace(std::string(name)).first->second;
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

void Attributes::clear() {
  if (values_.empty()) {
    return;  // already clear: what recycled_ holds stays for the next round
  }
  // What the previous round did not take back is freed now; this round's entries are kept.
  recycled_.clear();
  std::swap(values_, recycled_);
  for (auto& [name, value] : recycled_) {
    if (auto* map = std::get_if<StringMap>(&value)) {
      if (recycled_entries_.size() < kMaxRecycledEntries) {
        recycled_entries_.merge(*map);  // moves the nodes whose keys the pool lacks
      }
      map->clear();
    }
  }
}

void Attributes::assign(const Attributes& other) {
  clear();
  for (const auto& [name, value] : other.values_) {
    if (const auto* s = std::get_if<std::string>(&value)) {
      setString(name, *s);
    } else if (const auto* b = std::get_if<Bytes>(&value)) {
      setBytes(name, b->data);
    } else if (const auto* m = std::get_if<StringMap>(&value)) {
      AttributeValue& v = slot(name);
      auto* map = std::get_if<StringMap>(&v);
      if (map == nullptr) {
        v = StringMap{};
        map = &std::get<StringMap>(v);
      } else {
        map->clear();  // a map taken back from recycled_ was emptied by clear(); be sure
      }
      for (const auto& [k, e] : *m) {
        setEntry(*map, k, e);
      }
    } else {
      slot(name) = value;
    }
  }
}

void Attributes::merge(const Attributes& other) {
  for (const auto& [name, value] : other.values_) {
    values_.insert_or_assign(name, value);
  }
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
