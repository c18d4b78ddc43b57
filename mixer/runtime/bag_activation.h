// The bridge between the attribute model and the expression language: an expr::Activation over an
// AttributeBag (no copies: expression values view the bag's views), and the expr manifest of a
// Vocabulary (attribute ids are the vocabulary's ids).
//
// Not thread-safe: one BagActivation per request (per thread, reused).
#pragma once

#include <array>
#include <memory>

#include "expr/activation.h"
#include "expr/manifest.h"
#include "mixer/attribute/attribute_bag.h"

namespace mixer::runtime {

// The manifest expressions are compiled against: every vocabulary attribute with its id and type.
std::shared_ptr<const expr::AttributeManifest> manifestFor(const attribute::Vocabulary& vocabulary);

// The expression value of a bag value that is not a STRING_MAP (views, no copy); false for a
// STRING_MAP or an unset value.
inline bool scalarValue(const attribute::AttributeValue& v, expr::Value* out) {
  using attribute::ValueType;
  expr::Value r;
  switch (v.type()) {
    case ValueType::kString:
    case ValueType::kDnsName:
    case ValueType::kEmailAddress:
    case ValueType::kUri:
    case ValueType::kIpAddress:
    case ValueType::kBytes:  // one enum: the expression value keeps the attribute's type
      r = expr::Value::makeStringLike(v.type(), v.stringValue());
      break;
    case ValueType::kInt64:
      r.type = expr::ValueType::kInt64;
      r.int_value = v.int64Value();
      break;
    case ValueType::kDouble:
      r.type = expr::ValueType::kDouble;
      r.double_value = v.doubleValue();
      break;
    case ValueType::kBool:
      r.type = expr::ValueType::kBool;
      r.int_value = v.boolValue() ? 1 : 0;
      break;
    case ValueType::kTimestamp:
      r.type = expr::ValueType::kTimestamp;
      r.timestamp = {v.timestampValue().seconds, v.timestampValue().nanos};
      break;
    case ValueType::kDuration:
      r.type = expr::ValueType::kDuration;
      r.int_value = v.durationValue().toNanos();
      break;
    case ValueType::kStringMap:
    case ValueType::kUnspecified:
    default:  // the expression language's own types: no attribute has one
      return false;
  }
  *out = r;
  return true;
}

class BagActivation final : public expr::Activation {
 public:
  explicit BagActivation(const attribute::AttributeBag* bag = nullptr) : bag_(bag) {}

  // Points at another bag; map views handed out before become invalid.
  void reset(const attribute::AttributeBag* bag) {
    bag_ = bag;
    used_maps_ = 0;
  }

  bool find(expr::AttributeId id, expr::Value* out) const override;

 private:
  // A STRING_MAP attribute seen through expr::StringMapView.
  class MapView final : public expr::StringMapView {
   public:
    void set(const attribute::AttributeValue& v) { value_ = v; }
    bool find(std::string_view key, std::string_view* value) const override {
      return value_.mapFind(key, value);
    }
    size_t size() const override { return value_.mapSize(); }
    void entry(size_t i, std::string_view* key, std::string_view* value) const override {
      *key = value_.mapBegin()[i].key;
      *value = value_.mapBegin()[i].value;
    }

   private:
    attribute::AttributeValue value_;
  };
  static constexpr size_t kMaxMaps = 32;

  const attribute::AttributeBag* bag_;
  // One view per map attribute read in this request (reads of the same attribute share one).
  mutable std::array<MapView, kMaxMaps> maps_;
  mutable std::array<expr::AttributeId, kMaxMaps> map_ids_{};
  mutable size_t used_maps_ = 0;
};

}  // namespace mixer::runtime
