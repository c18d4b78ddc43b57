#include "mixer/runtime/bag_activation.h"

namespace mixer::runtime {

using attribute::ValueType;

std::shared_ptr<const expr::AttributeManifest> manifestFor(
    const attribute::Vocabulary& vocabulary) {
  auto m = std::make_shared<expr::AttributeManifest>();
  for (size_t i = 0; i < vocabulary.size(); ++i) {
    const auto id = static_cast<attribute::AttributeId>(i);
    const ValueType t = vocabulary.type(id);
    m->add(vocabulary.name(id), static_cast<expr::AttributeId>(id),
           t == ValueType::Bytes ? expr::ValueType::kBytes : static_cast<expr::ValueType>(t));
  }
  return m;
}

bool BagActivation::find(expr::AttributeId id, expr::Value* out) const {
  if (bag_ == nullptr || id >= bag_->vocabulary().size()) {
    return false;
  }
  const attribute::Value* v = bag_->get(static_cast<attribute::AttributeId>(id));
  if (v == nullptr) {
    return false;
  }
  expr::Value r;
  switch (v->type()) {
    case ValueType::String:
    case ValueType::DnsName:
    case ValueType::EmailAddress:
    case ValueType::Uri:
    case ValueType::IpAddress:
      r = expr::Value::makeStringLike(static_cast<expr::ValueType>(v->type()), v->stringValue());
      break;
    case ValueType::Bytes:
      r = expr::Value::makeBytes(v->stringValue());
      break;
    case ValueType::Int64:
      r.type = expr::ValueType::kInt64;
      r.int_value = v->int64Value();
      break;
    case ValueType::Double:
      r.type = expr::ValueType::kDouble;
      r.double_value = v->doubleValue();
      break;
    case ValueType::Bool:
      r.type = expr::ValueType::kBool;
      r.int_value = v->boolValue() ? 1 : 0;
      break;
    case ValueType::Timestamp:
      r.type = expr::ValueType::kTimestamp;
      r.timestamp = {v->timestampValue().seconds, v->timestampValue().nanos};
      break;
    case ValueType::Duration:
      r.type = expr::ValueType::kDuration;
      r.int_value = v->durationValue().toNanos();
      break;
    case ValueType::StringMap: {
      size_t slot = used_maps_;
      for (size_t i = 0; i < used_maps_; ++i) {
        if (map_ids_[i] == id) {
          slot = i;
          break;
        }
      }
      if (slot == used_maps_) {
        if (used_maps_ == kMaxMaps) {
          // More distinct map attributes in one evaluation than kMaxMaps: vocabularies declare
          // far fewer (Istio's declare 8), so this is a configuration defect; reads fail.
          return false;
        }
        ++used_maps_;
        map_ids_[slot] = id;
      }
      maps_[slot].set(*v);
      r.type = expr::ValueType::kStringMap;
      r.string_map = &maps_[slot];
      r.origin = id;  // key lookups are then reported as "map[key]"
      break;
    }
    case ValueType::Unspecified:
      return false;
  }
  *out = r;
  return true;
}

}  // namespace mixer::runtime
