#include "expr/manifest.h"
#include "expr/str_util.h"

namespace expr {

void AttributeManifest::add(std::string_view name, AttributeId id, ValueType type) {
  auto it = by_name_.find(name);
  if (it != by_name_.end()) {
    Entry& e = entries_[it->second];
    by_id_.erase(e.id);
    e.id = id;
    e.type = type;
    by_id_[id] = it->second;
    return;
  }
  entries_.push_back(Entry{std::string(name), id, type});
  by_name_.emplace(std::string(name), entries_.size() - 1);
  by_id_[id] = entries_.size() - 1;
}

AttributeId AttributeManifest::add(std::string_view name, ValueType type) {
  AttributeId id = static_cast<AttributeId>(entries_.size());
  while (by_id_.contains(id)) ++id;
  add(name, id, type);
  return id;
}

const AttributeManifest::Entry* AttributeManifest::find(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &entries_[it->second];
}

const AttributeManifest::Entry* AttributeManifest::findById(AttributeId id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &entries_[it->second];
}

}  // namespace expr
