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

#include "absl/container/node_hash_map.h"
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
//
// Storage reuse: clear() keeps the entries it removes (names, value buffers, map nodes) and the
// set*() calls that follow take them back, so a host that builds every request into one reused
// set allocates nothing once the names and value sizes it sees have been seen before.
class Attributes {
 public:
  // Node-based: clear() and slot() move entries between values_ and recycled_ by their node, which
  // a flat map cannot do without copying the (const) name.
  using Map = absl::node_hash_map<std::string, AttributeValue>;

  Attributes() = default;
  // Copies and assignments copy the attributes, not the storage kept for reuse.
  Attributes(const Attributes& other) : values_(other.values_) {}
  Attributes& operator=(const Attributes& other) {
    if (this != &other) {
      assign(other);
    }
    return *this;
  }
  Attributes(Attributes&&) = default;
  Attributes& operator=(Attributes&&) = default;

  void set(std::string_view name, AttributeValue value) { slot(name) = std::move(value); }
  void setString(std::string_view name, std::string_view value);
  void setInt64(std::string_view name, int64_t value) { slot(name) = value; }
  void setDouble(std::string_view name, double value) { slot(name) = value; }
  void setBool(std::string_view name, bool value) { slot(name) = value; }
  void setBytes(std::string_view name, std::string_view value);
  void setTimestamp(std::string_view name, Timestamp value) { slot(name) = value; }
  void setDuration(std::string_view name, Duration value) { slot(name) = value; }
  void setStringMap(std::string_view name, StringMap value) { slot(name) = std::move(value); }
  // Sets one entry of a STRING_MAP attribute, creating the map (or replacing a non-map value).
  void setMapEntry(std::string_view name, std::string_view key, std::string_view value);
  // Room for `n` attributes without rehashing (a proxy knows about how many it sets).
  void reserve(size_t n) { values_.reserve(n); }
  void erase(std::string_view name) { values_.erase(lookupKey(name)); }
  // Removes every attribute, keeping the storage for the set*() calls that follow.
  void clear();
  // Makes this set a copy of `other`, reusing this set's storage (clear(), then set each).
  void assign(const Attributes& other);

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
  // The value of `name`, inserted (taken back from recycled_ when it was there) when absent.
  AttributeValue& slot(std::string_view name);
  // `value`'s entry `key` set to `entry`, reusing a node of recycled_entries_ when it is new.
  void setEntry(StringMap& map, std::string_view key, std::string_view entry);

  Map values_;
  Map recycled_;                // entries removed by clear(), taken back by slot()
  StringMap recycled_entries_;  // map entries removed by clear(), taken back by setEntry()
};

// The 4 or 16 bytes of an IPv4 or IPv6 address in text form; nullopt when `text` is neither.
std::optional<Bytes> ipAddressBytes(std::string_view text);

}  // namespace mixer::proxy
