#include "mixer/runtime/bag_activation.h"

namespace mixer::runtime {

using attribute::ValueType;

std::shared_ptr<const expr::AttributeManifest> manifestFor(
    const attribute::Vocabulary& vocabulary) {
  auto m = std::make_shared<expr::AttributeManifest>();
  for (size_t i = 0; i < vocabulary.size(); ++i) {
    const auto id = static_cast<attribute::AttributeId>(i);
    m->add(vocabulary.name(id), static_cast<expr::AttributeId>(id), vocabulary.type(id));
  }
  return m;
}

bool BagActivation::find(expr::AttributeId id, expr::Value* out) const {
  if (bag_ == nullptr || id >= bag_->vocabulary().size()) {
    return false;
  }
  const attribute::AttributeValue* v = bag_->get(static_cast<attribute::AttributeId>(id));
  if (v == nullptr) {
    return false;
  }
  if (v->type() != ValueType::kStringMap) {
    return scalarValue(*v, out);
  }
  size_t slot = used_maps_;
  for (size_t i = 0; i < used_maps_; ++i) {
    if (map_ids_[i] == id) {
      slot = i;
      break;
    }
  }
  if (slot == used_maps_) {
    if (used_maps_ == kMaxMaps) {
      // More distinct map attributes in one evaluation than kMaxMaps: vocabularies declare far
      // fewer (Istio's declare 8), so this is a configuration defect; reads fail.
      return false;
    }
    ++used_maps_;
    map_ids_[slot] = id;
  }
  maps_[slot].set(*v);
  expr::Value r;
  r.type = expr::ValueType::kStringMap;
  r.string_map = &maps_[slot];
  r.origin = id;  // key lookups are then reported as "map[key]"
  *out = r;
  return true;
}

}  // namespace mixer::runtime
