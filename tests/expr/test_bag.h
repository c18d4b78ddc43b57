// An in-memory attribute bag for tests, benchmarks and conformance harnesses: owns its strings and
// string maps and implements expr::Activation.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "expr/activation.h"
#include "expr/value.h"

namespace expr::testing {

class TestStringMap : public StringMapView {
 public:
  TestStringMap() = default;
  explicit TestStringMap(std::map<std::string, std::string> entries) {
    for (auto& [k, v] : entries) entries_.emplace_back(k, v);
  }
  bool find(std::string_view key, std::string_view* value) const override {
    for (const auto& [k, v] : entries_) {
      if (k == key) {
        *value = v;
        return true;
      }
    }
    return false;
  }
  size_t size() const override { return entries_.size(); }
  void entry(size_t i, std::string_view* key, std::string_view* value) const override {
    *key = entries_[i].first;
    *value = entries_[i].second;
  }

 private:
  std::vector<std::pair<std::string, std::string>> entries_;
};

class TestBag : public Activation {
 public:
  bool find(AttributeId id, Value* out) const override {
    auto it = values_.find(id);
    if (it == values_.end()) return false;
    *out = it->second;
    return true;
  }

  std::string_view own(std::string_view s) { return strings_.emplace_back(s); }
  void set(AttributeId id, const Value& v) { values_[id] = v; }
  void setString(AttributeId id, std::string_view s, ValueType t = ValueType::kString) {
    values_[id] = Value::makeStringLike(t, own(s));
  }
  void setInt(AttributeId id, int64_t i) { values_[id] = Value::makeInt(i); }
  void setDouble(AttributeId id, double d) { values_[id] = Value::makeDouble(d); }
  void setBool(AttributeId id, bool b) { values_[id] = Value::makeBool(b); }
  void setDuration(AttributeId id, int64_t nanos) { values_[id] = Value::makeDuration(nanos); }
  void setTimestamp(AttributeId id, int64_t seconds, int32_t nanos = 0) {
    values_[id] = Value::makeTimestamp(seconds, nanos);
  }
  void setIp(AttributeId id, std::string_view bytes) { values_[id] = Value::makeIp(own(bytes)); }
  void setStringMap(AttributeId id, std::map<std::string, std::string> entries) {
    maps_.push_back(std::make_unique<TestStringMap>(std::move(entries)));
    values_[id] = Value::makeStringMap(maps_.back().get());
  }
  void erase(AttributeId id) { values_.erase(id); }

  // Storage for composite values (CEL lists and maps) built by harnesses.
  std::deque<std::vector<Value>>& arrays() { return arrays_; }
  std::deque<ListValue>& lists() { return lists_; }
  std::deque<MapValue>& maps() { return cel_maps_; }

 private:
  absl::flat_hash_map<AttributeId, Value> values_;
  std::deque<std::string> strings_;
  std::vector<std::unique_ptr<TestStringMap>> maps_;
  std::deque<std::vector<Value>> arrays_;
  std::deque<ListValue> lists_;
  std::deque<MapValue> cel_maps_;
};

}  // namespace expr::testing
