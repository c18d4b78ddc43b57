// Runtime values of the expression language.
//
// A Value is a small trivially-copyable tagged struct (24 bytes) holding views: strings, bytes and
// IP addresses point at memory owned elsewhere (the attribute bag, the Program's constant pool, or
// the per-thread EvalState arena). Values are therefore only valid as long as what they view.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

#include "base/value_type.h"

namespace expr {

// Attribute identifiers are chosen by the caller (the server's global dictionary index).
using AttributeId = uint32_t;
inline constexpr AttributeId kNoAttribute = 0xffffffffu;

// The value types (base/value_type.h): 1..11 numbered exactly as Istio's
// policy.v1beta1.ValueType, then the types CEL adds. kDyn only exists at check time, kError only at
// run time. The server's attributes use the same enum, so a value's type passes between them as it
// is.
using ValueType = mixer::base::ValueType;

// The Mixer / CEL name of a type ("STRING", "INT64", ..., "uint", "bytes", "list", "map", ...).
std::string_view valueTypeName(ValueType type);
// Parses the Istio ValueType names ("STRING", "INT64", ...); kUnspecified when unknown.
ValueType parseValueTypeName(std::string_view name);

struct Value;

// A read-only string -> string map, e.g. request.headers in the server's attribute bag.
// Implementations must be safe for concurrent reads.
class StringMapView {
 public:
  virtual ~StringMapView() = default;
  virtual bool find(std::string_view key, std::string_view* value) const = 0;
  virtual size_t size() const = 0;
  // Entry i in [0, size()), in any stable order.
  virtual void entry(size_t i, std::string_view* key, std::string_view* value) const = 0;
};

// A CEL list: a contiguous array of values.
struct ListValue {
  const Value* elements;
  size_t size;
};

// A CEL map: parallel arrays of keys and values (lookup is a linear scan; maps built by
// expressions are small).
struct MapValue {
  const Value* keys;
  const Value* values;
  size_t size;
};

struct Timestamp {
  int64_t seconds;  // since the Unix epoch
  int32_t nanos;    // [0, 1e9)
};

struct Value {
  ValueType type = ValueType::kUnspecified;
  // For kStringMap values read from an attribute: the attribute they came from, so that key
  // lookups are reported as referenced "map[key]". kNoAttribute otherwise.
  AttributeId origin = kNoAttribute;
  union {
    int64_t int_value;    // kInt64; kDuration (nanoseconds)
    uint64_t uint_value;  // kUint64
    double double_value;  // kDouble
    bool bool_value;      // kBool
    Timestamp timestamp;  // kTimestamp
    struct {
      const char* data;
      size_t size;
    } str;  // kString, kBytes, kIpAddress (4 or 16 bytes), kEmailAddress, kUri, kDnsName, kType
            // (the type name), kError (the message)
    const StringMapView* string_map;  // kStringMap
    const ListValue* list;            // kList
    const MapValue* map;              // kMap
  };

  Value() : str{nullptr, 0} {}

  std::string_view stringView() const { return {str.data, str.size}; }

  // In-place setters: the evaluator writes results straight into stack slots with these (building
  // a temporary and copying it costs a store-forwarding stall on x86).
  void setBool(bool b) {
    type = ValueType::kBool;
    origin = kNoAttribute;
    // A full-word store (bool_value reads its low byte; GCC and Clang define union punning): a
    // later 8-byte load of this word then forwards from one store.
    int_value = b ? 1 : 0;
  }
  void setInt(int64_t i) {
    type = ValueType::kInt64;
    origin = kNoAttribute;
    int_value = i;
  }
  bool isError() const { return type == ValueType::kError; }

  static Value makeString(std::string_view s) { return makeStringLike(ValueType::kString, s); }
  static Value makeBytes(std::string_view s) { return makeStringLike(ValueType::kBytes, s); }
  static Value makeStringLike(ValueType t, std::string_view s) {
    Value v;
    v.type = t;
    v.str.data = s.data();
    v.str.size = s.size();
    return v;
  }
  static Value makeError(std::string_view message) {
    return makeStringLike(ValueType::kError, message);
  }
  static Value makeInt(int64_t i) {
    Value v;
    v.type = ValueType::kInt64;
    v.int_value = i;
    return v;
  }
  static Value makeUint(uint64_t u) {
    Value v;
    v.type = ValueType::kUint64;
    v.uint_value = u;
    return v;
  }
  static Value makeDouble(double d) {
    Value v;
    v.type = ValueType::kDouble;
    v.double_value = d;
    return v;
  }
  static Value makeBool(bool b) {
    Value v;
    v.type = ValueType::kBool;
    v.bool_value = b;
    return v;
  }
  static Value makeNull() {
    Value v;
    v.type = ValueType::kNull;
    return v;
  }
  static Value makeDuration(int64_t nanos) {
    Value v;
    v.type = ValueType::kDuration;
    v.int_value = nanos;
    return v;
  }
  static Value makeTimestamp(int64_t seconds, int32_t nanos) {
    Value v;
    v.type = ValueType::kTimestamp;
    v.timestamp = {seconds, nanos};
    return v;
  }
  // An IPv4 (4 bytes) or IPv6 (16 bytes) address in network order.
  static Value makeIp(std::string_view bytes) {
    return makeStringLike(ValueType::kIpAddress, bytes);
  }
  static Value makeStringMap(const StringMapView* m, AttributeId origin = kNoAttribute) {
    Value v;
    v.type = ValueType::kStringMap;
    v.origin = origin;
    v.string_map = m;
    return v;
  }
  static Value makeList(const ListValue* l) {
    Value v;
    v.type = ValueType::kList;
    v.list = l;
    return v;
  }
  static Value makeMap(const MapValue* m) {
    Value v;
    v.type = ValueType::kMap;
    v.map = m;
    return v;
  }
  static Value makeType(std::string_view name) { return makeStringLike(ValueType::kType, name); }
};

static_assert(std::is_trivially_copyable_v<Value>);
static_assert(sizeof(Value) == 24);

}  // namespace expr
