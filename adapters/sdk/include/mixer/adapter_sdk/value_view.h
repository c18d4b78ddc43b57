// value_view.h: read-only views of what the host passes an adapter: ValueView (a param or an
// instance field), InstanceView (one template instance), FieldHint (a remembered field position)
// and the protobuf field-name matching they share. Part of the header-only SDK; adapter.h
// includes it.
#ifndef MIXER_ADAPTER_SDK_VALUE_VIEW_H_
#define MIXER_ADAPTER_SDK_VALUE_VIEW_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "mixer/adapter_sdk/mixer_adapter.h"

namespace mixer::adapter_sdk {

// True when `key` is the protobuf field `field_name` (snake_case) in either of the spellings
// protobuf's JSON mapping accepts: as is, or lowerCamelCase ("output_as_json" / "outputAsJson").
inline bool fieldNameMatches(std::string_view key, std::string_view field_name) {
  // Most comparisons are misses that differ at once: the first character is the same in both
  // spellings (unless the field name starts with '_').
  if (!key.empty() && !field_name.empty() && field_name[0] != '_' && key[0] != field_name[0]) {
    return false;
  }
  if (key == field_name) {
    return true;
  }
  size_t k = 0;
  for (size_t f = 0; f < field_name.size(); ++f, ++k) {
    char c = field_name[f];
    if (c == '_' && f + 1 < field_name.size()) {
      c = field_name[++f];
      if (c >= 'a' && c <= 'z') {
        c = static_cast<char>(c - 'a' + 'A');
      }
    }
    if (k >= key.size() || key[k] != c) {
      return false;
    }
  }
  return k == key.size();
}

// A read-only view of a mixer_value (an instance field or a param). A default or null view is
// MIXER_VALUE_NULL. Views borrow: they are valid as long as the value they point into.
// True for the ABI's string-like value types: STRING, IP_ADDRESS, EMAIL_ADDRESS, URI, DNS_NAME
// and BYTES, whose payload is `u.string_value`. The one definition the host uses too.
constexpr bool isStringLikeType(uint32_t type) {
  switch (type) {
    case MIXER_VALUE_STRING:
    case MIXER_VALUE_IP_ADDRESS:
    case MIXER_VALUE_EMAIL_ADDRESS:
    case MIXER_VALUE_URI:
    case MIXER_VALUE_DNS_NAME:
    case MIXER_VALUE_BYTES:
      return true;
    default:
      return false;
  }
}

class ValueView {
 public:
  ValueView() = default;
  explicit ValueView(const mixer_value* value) : value_(value) {}

  uint32_t type() const { return value_ == nullptr ? MIXER_VALUE_NULL : value_->type; }
  bool isNull() const { return type() == MIXER_VALUE_NULL; }
  bool isStringLike() const { return isStringLikeType(type()); }
  bool isInt64Like() const {
    return type() == MIXER_VALUE_INT64 || type() == MIXER_VALUE_TIMESTAMP ||
           type() == MIXER_VALUE_DURATION;
  }
  bool isMap() const { return type() == MIXER_VALUE_MAP || type() == MIXER_VALUE_STRING_MAP; }
  bool isList() const { return type() == MIXER_VALUE_LIST; }

  // Accessors return a zero value when the type does not match.
  std::string_view stringValue() const {
    if (!isStringLike() || value_->u.string_value.data == nullptr) {
      return {};
    }
    return {value_->u.string_value.data, value_->u.string_value.size};
  }
  int64_t int64Value() const { return isInt64Like() ? value_->u.int64_value : 0; }
  double doubleValue() const { return type() == MIXER_VALUE_DOUBLE ? value_->u.double_value : 0; }
  bool boolValue() const { return type() == MIXER_VALUE_BOOL && value_->u.bool_value != 0; }

  size_t size() const {
    if (isList()) {
      return value_->u.list_value.count;
    }
    if (isMap()) {
      return value_->u.map_value.count;
    }
    return 0;
  }
  // List element i (null view when out of range or not a list).
  ValueView at(size_t i) const {
    if (!isList() || i >= value_->u.list_value.count) {
      return ValueView();
    }
    return ValueView(&value_->u.list_value.items[i]);
  }
  // Map entry i.
  std::string_view keyAt(size_t i) const {
    if (!isMap() || i >= value_->u.map_value.count) {
      return {};
    }
    const mixer_string& key = value_->u.map_value.entries[i].key;
    return key.data == nullptr ? std::string_view() : std::string_view(key.data, key.size);
  }
  ValueView valueAt(size_t i) const {
    if (!isMap() || i >= value_->u.map_value.count) {
      return ValueView();
    }
    return ValueView(&value_->u.map_value.entries[i].value);
  }
  // The value under `key` in a map; a null view when absent. A snake_case `key` also finds its
  // lowerCamelCase spelling, as protobuf's JSON mapping (and so Istio's YAML) accepts both:
  // find("output_as_json") finds `outputAsJson`.
  ValueView find(std::string_view key) const {
    for (size_t i = 0; i < size() && isMap(); ++i) {
      if (fieldNameMatches(keyAt(i), key)) {
        return valueAt(i);
      }
    }
    return ValueView();
  }
  bool contains(std::string_view key) const { return isMap() && !find(key).isNull(); }

  const mixer_value* raw() const { return value_; }

 private:
  const mixer_value* value_ = nullptr;
};

// A remembered position for finding one field name in maps that usually share a layout: an
// adapter's instances come from one configuration, so their fields stand in the same order.
// find() tries the position where the name was found last and falls back to a scan.
// Thread-safe: the position is a relaxed atomic; a stale one only costs the scan.
class FieldHint {
 public:
  ValueView find(ValueView map, std::string_view name) const {
    // On the entries directly: this runs per field of every instance.
    const mixer_value* m = map.raw();
    if (m == nullptr || (m->type != MIXER_VALUE_MAP && m->type != MIXER_VALUE_STRING_MAP)) {
      return ValueView();
    }
    const mixer_map_entry* entries = m->u.map_value.entries;
    const size_t n = m->u.map_value.count;
    const uint32_t at = at_.load(std::memory_order_relaxed);
    if (at < n && matches(entries[at].key, name)) {
      return ValueView(&entries[at].value);
    }
    for (size_t i = 0; i < n; ++i) {
      if (matches(entries[i].key, name)) {
        at_.store(static_cast<uint32_t>(i), std::memory_order_relaxed);
        return ValueView(&entries[i].value);
      }
    }
    return ValueView();
  }

 private:
  static bool matches(const mixer_string& key, std::string_view name) {
    const std::string_view k =
        key.data == nullptr ? std::string_view() : std::string_view(key.data, key.size);
    return k == name || fieldNameMatches(k, name);
  }

  mutable std::atomic<uint32_t> at_{0};
};

// The name of a value type, for error messages.
inline const char* valueTypeName(uint32_t type) {
  static const char* const kNames[] = {"null",  "string",    "int64",      "double",
                                       "bool",  "timestamp", "ip_address", "email_address",
                                       "uri",   "dns_name",  "duration",   "string_map",
                                       "bytes", "list",      "map"};
  return type < sizeof(kNames) / sizeof(kNames[0]) ? kNames[type] : "unknown";
}

// A view of one template instance.
class InstanceView {
 public:
  explicit InstanceView(const mixer_instance* instance) : instance_(instance) {}
  std::string_view name() const { return view(instance_->name); }
  std::string_view templateName() const { return view(instance_->template_name); }
  ValueView fields() const { return ValueView(&instance_->fields); }
  ValueView field(std::string_view key) const { return fields().find(key); }

 private:
  static std::string_view view(const mixer_string& s) {
    return s.data == nullptr ? std::string_view() : std::string_view(s.data, s.size);
  }
  const mixer_instance* instance_;
};

}  // namespace mixer::adapter_sdk

#endif  // MIXER_ADAPTER_SDK_VALUE_VIEW_H_
