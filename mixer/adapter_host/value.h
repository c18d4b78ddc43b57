// The host side of the ABI's typed record shape: an owning AbiValue tree (built by the config
// loader from YAML params and by the runtime from evaluated instance fields) and its encoding into
// the borrowed mixer_value arrays that cross the adapter ABI.
#ifndef MIXER_ADAPTER_HOST_VALUE_H_
#define MIXER_ADAPTER_HOST_VALUE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mixer/adapter_sdk/mixer_adapter.h"

namespace mixer::adapter_host {

// An owning, copyable value of one of the MIXER_VALUE_* types. Maps keep insertion order and
// unique keys. Not thread-safe for mutation; const access is safe from any thread.
class AbiValue {
 public:
  using List = std::vector<AbiValue>;
  using Map = std::vector<std::pair<std::string, AbiValue>>;

  AbiValue() = default;  // null

  static AbiValue string(std::string s) { return AbiValue(MIXER_VALUE_STRING, std::move(s)); }
  static AbiValue bytes(std::string s) { return AbiValue(MIXER_VALUE_BYTES, std::move(s)); }
  static AbiValue ipAddress(std::string raw) {
    return AbiValue(MIXER_VALUE_IP_ADDRESS, std::move(raw));
  }
  static AbiValue emailAddress(std::string s) {
    return AbiValue(MIXER_VALUE_EMAIL_ADDRESS, std::move(s));
  }
  static AbiValue uri(std::string s) { return AbiValue(MIXER_VALUE_URI, std::move(s)); }
  static AbiValue dnsName(std::string s) { return AbiValue(MIXER_VALUE_DNS_NAME, std::move(s)); }
  static AbiValue int64(int64_t v) { return AbiValue(MIXER_VALUE_INT64, v); }
  static AbiValue timestampNs(int64_t ns) { return AbiValue(MIXER_VALUE_TIMESTAMP, ns); }
  static AbiValue durationNs(int64_t ns) { return AbiValue(MIXER_VALUE_DURATION, ns); }
  static AbiValue float64(double v);
  static AbiValue boolean(bool v);
  static AbiValue list(List items);
  static AbiValue map(Map entries = {});
  static AbiValue stringMap(const std::vector<std::pair<std::string, std::string>>& entries);
  // A deep copy of a value that crossed the ABI.
  static AbiValue fromAbi(const mixer_value* value);

  uint32_t type() const { return type_; }
  bool isNull() const { return type_ == MIXER_VALUE_NULL; }
  bool isMap() const { return type_ == MIXER_VALUE_MAP || type_ == MIXER_VALUE_STRING_MAP; }
  const std::string& stringValue() const { return string_; }
  int64_t int64Value() const { return int_; }
  double doubleValue() const { return double_; }
  bool boolValue() const { return int_ != 0; }
  const List& listValue() const { return list_; }
  const Map& mapValue() const { return map_; }

  // The entry under `key` of a map, or nullptr.
  const AbiValue* find(std::string_view key) const;
  // Sets (or replaces) `key` in a map; a null value becomes an empty map first.
  AbiValue& set(std::string key, AbiValue value);

  friend bool operator==(const AbiValue& a, const AbiValue& b);

 private:
  AbiValue(uint32_t type, std::string s) : type_(type), string_(std::move(s)) {}
  AbiValue(uint32_t type, int64_t v) : type_(type), int_(v) {}

  uint32_t type_ = MIXER_VALUE_NULL;
  int64_t int_ = 0;
  double double_ = 0;
  std::string string_;
  List list_;
  Map map_;
};

// The ABI encoding of an AbiValue. It points into the AbiValue's storage, so the AbiValue must
// outlive it and stay unchanged. Not movable (it holds pointers into itself). Not thread-safe to
// build; get() may be read concurrently.
class EncodedValue {
 public:
  explicit EncodedValue(const AbiValue& value);
  EncodedValue(const EncodedValue&) = delete;
  EncodedValue& operator=(const EncodedValue&) = delete;

  const mixer_value* get() const { return &root_; }

 private:
  void encode(const AbiValue& value, mixer_value* out);

  mixer_value root_{};
  std::vector<std::unique_ptr<mixer_value[]>> lists_;
  std::vector<std::unique_ptr<mixer_map_entry[]>> maps_;
};

// One template instance as the runtime builds it.
struct Instance {
  std::string name;
  std::string template_name;
  AbiValue fields = AbiValue::map();
};

// The ABI encoding of an Instance; the Instance must outlive it.
class EncodedInstance {
 public:
  explicit EncodedInstance(const Instance& instance);
  EncodedInstance(const EncodedInstance&) = delete;
  EncodedInstance& operator=(const EncodedInstance&) = delete;

  const mixer_instance* get() const { return &instance_; }

 private:
  EncodedValue fields_;
  mixer_instance instance_{};
};

}  // namespace mixer::adapter_host

#endif  // MIXER_ADAPTER_HOST_VALUE_H_
