// Attributes: the typed name -> value set a proxy sends in a Check or a Report, before
// compression. Value types follow istio.mixer.v1: STRING (also DNS, EMAIL, URI), INT64, DOUBLE,
// BOOL, bytes (IP addresses), TIMESTAMP, DURATION and STRING_MAP.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"

namespace mixer::proxy {

// Raw bytes, distinct from a string: IP addresses travel as 4 or 16 bytes.
struct Bytes {
  std::string data;
  bool operator==(const Bytes&) const = default;
};

using Timestamp = std::chrono::time_point<std::chrono::system_clock, std::chrono::nanoseconds>;
using Duration = std::chrono::nanoseconds;
// Ordered, so that encoding and hashing a whole map are deterministic.
using StringMap = std::map<std::string, std::string, std::less<>>;

using AttributeValue =
    std::variant<std::string, int64_t, double, bool, Bytes, Timestamp, Duration, StringMap>;

// A set of attributes. Not thread-safe for writes; concurrent const reads are safe.
class Attributes {
 public:
  using Map = absl::flat_hash_map<std::string, AttributeValue>;

  void set(std::string_view name, AttributeValue value) {
    values_.insert_or_assign(std::string(name), std::move(value));
  }
  void setString(std::string_view name, std::string_view value) { set(name, std::string(value)); }
  void setInt64(std::string_view name, int64_t value) { set(name, value); }
  void setDouble(std::string_view name, double value) { set(name, value); }
  void setBool(std::string_view name, bool value) { set(name, value); }
  void setBytes(std::string_view name, std::string_view value) {
    set(name, Bytes{std::string(value)});
  }
  void setTimestamp(std::string_view name, Timestamp value) { set(name, value); }
  void setDuration(std::string_view name, Duration value) { set(name, value); }
  void setStringMap(std::string_view name, StringMap value) { set(name, std::move(value)); }
  // Sets one entry of a STRING_MAP attribute, creating the map (or replacing a non-map value).
  void setMapEntry(std::string_view name, std::string_view key, std::string_view value);
  // Room for `n` attributes without rehashing (a proxy knows about how many it sets).
  void reserve(size_t n) { values_.reserve(n); }
  void erase(std::string_view name) { values_.erase(lookupKey(name)); }

  // nullptr when absent. Does not allocate.
  const AttributeValue* find(std::string_view name) const {
    auto it = values_.find(lookupKey(name));
    return it == values_.end() ? nullptr : &it->second;
  }
  bool contains(std::string_view name) const { return values_.contains(lookupKey(name)); }
  size_t size() const { return values_.size(); }
  const Map& values() const { return values_; }
  // Copies every attribute of `other` over this set's.
  void merge(const Attributes& other);

 private:
  // Debian's Abseil has its own string_view type: heterogeneous lookups go through it.
  static absl::string_view lookupKey(std::string_view s) {
    return absl::string_view(s.data(), s.size());
  }
  Map values_;
};

// The 4 or 16 bytes of an IPv4 or IPv6 address in text form; nullopt when `text` is neither.
std::optional<Bytes> ipAddressBytes(std::string_view text);

}  // namespace mixer::proxy
