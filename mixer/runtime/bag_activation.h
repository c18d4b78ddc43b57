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
    void set(const attribute::Value& v) { value_ = v; }
    bool find(std::string_view key, std::string_view* value) const override {
      return value_.mapFind(key, value);
    }
    size_t size() const override { return value_.mapSize(); }
    void entry(size_t i, std::string_view* key, std::string_view* value) const override {
      *key = value_.mapBegin()[i].key;
      *value = value_.mapBegin()[i].value;
    }

   private:
    attribute::Value value_;
  };
  static constexpr size_t kMaxMaps = 32;

  const attribute::AttributeBag* bag_;
  // One view per map attribute read in this request (reads of the same attribute share one).
  mutable std::array<MapView, kMaxMaps> maps_;
  mutable std::array<expr::AttributeId, kMaxMaps> map_ids_{};
  mutable size_t used_maps_ = 0;
};

}  // namespace mixer::runtime
