// AttributeValue: one attribute value, a small trivially-copyable view. Strings, bytes and map
// entries are not owned: they point into the request buffer (or into storage the AttributeBag
// owns), so an AttributeValue is valid only while its bag and the request it was decoded from are.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

#include "mixer/attribute/value_type.h"

namespace mixer::attribute {

// A point in time, as google.protobuf.Timestamp.
// Trivial (no member initializers) so that it can live in AttributeValue's union; use Timestamp{}.
struct Timestamp {
  int64_t seconds;
  int32_t nanos;
  friend bool operator==(const Timestamp&, const Timestamp&) = default;
};

// A signed span of time, as google.protobuf.Duration (seconds and nanos have the same sign).
struct Duration {
  int64_t seconds;
  int32_t nanos;
  int64_t toNanos() const { return seconds * 1000000000 + nanos; }
  friend bool operator==(const Duration&, const Duration&) = default;
};

// One key/value pair of a STRING_MAP attribute.
struct StringMapEntry {
  std::string_view key;
  std::string_view value;
};

class AttributeValue {
 public:
  AttributeValue() : type_(ValueType::kUnspecified) { u_.i = 0; }

  static AttributeValue string(std::string_view s, ValueType t = ValueType::kString) {
    AttributeValue v(t);
    v.u_.s = {s.data(), s.size()};
    return v;
  }
  static AttributeValue bytes(std::string_view b, ValueType t = ValueType::kBytes) {
    return string(b, t);
  }
  static AttributeValue int64(int64_t i) {
    AttributeValue v(ValueType::kInt64);
    v.u_.i = i;
    return v;
  }
  static AttributeValue doubleValue(double d) {
    AttributeValue v(ValueType::kDouble);
    v.u_.d = d;
    return v;
  }
  static AttributeValue boolean(bool b) {
    AttributeValue v(ValueType::kBool);
    v.u_.b = b;
    return v;
  }
  static AttributeValue timestamp(Timestamp t) {
    AttributeValue v(ValueType::kTimestamp);
    v.u_.ts = t;
    return v;
  }
  static AttributeValue duration(Duration d) {
    AttributeValue v(ValueType::kDuration);
    v.u_.dur = d;
    return v;
  }
  // A STRING_MAP whose `count` entries start at `entries` (storage owned elsewhere, see
  // AttributeBag::makeStringMap).
  static AttributeValue stringMap(const StringMapEntry* entries, uint32_t count) {
    AttributeValue v(ValueType::kStringMap);
    v.u_.m = {entries, count};
    return v;
  }

  ValueType type() const { return type_; }
  // STRING, DNS_NAME, EMAIL_ADDRESS, URI, IP_ADDRESS (4 or 16 raw bytes) and BYTES.
  std::string_view stringValue() const { return {u_.s.data, u_.s.size}; }
  int64_t int64Value() const { return u_.i; }
  double doubleValue() const { return u_.d; }
  bool boolValue() const { return u_.b; }
  Timestamp timestampValue() const { return u_.ts; }
  Duration durationValue() const { return u_.dur; }
  const StringMapEntry* mapBegin() const { return u_.m.entries; }
  const StringMapEntry* mapEnd() const { return u_.m.entries + u_.m.count; }
  uint32_t mapSize() const { return u_.m.count; }

  // Looks `key` up in a STRING_MAP value. Linear: proxies send maps of tens of entries, where a
  // scan over contiguous views beats hashing.
  bool mapFind(std::string_view key, std::string_view* out) const {
    for (const StringMapEntry* e = mapBegin(); e != mapEnd(); ++e) {
      if (e->key == key) {
        *out = e->value;
        return true;
      }
    }
    return false;
  }

  // Type and content equality (maps compare as sets of entries).
  bool equals(const AttributeValue& other) const;

 private:
  explicit AttributeValue(ValueType t) : type_(t) {}

  ValueType type_;
  union {
    struct {
      const char* data;
      size_t size;
    } s;
    int64_t i;
    double d;
    bool b;
    Timestamp ts;
    Duration dur;
    struct {
      const StringMapEntry* entries;
      uint32_t count;
    } m;
  } u_;
};

}  // namespace mixer::attribute
