// Attributes: the typed name -> value set a proxy sends in a Check or a Report, before
// compression. Value types follow istio.mixer.v1: STRING (also DNS, EMAIL, URI), INT64, DOUBLE,
// BOOL, bytes (IP addresses), TIMESTAMP, DURATION and STRING_MAP.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace mixer::proxy {

// Raw bytes, distinct from a string: IP addresses travel as 4 or 16 bytes.
struct Bytes {
  std::string data;
  bool operator==(const Bytes&) const = default;
};

using Timestamp = std::chrono::time_point<std::chrono::system_clock, std::chrono::nanoseconds>;
using Duration = std::chrono::nanoseconds;
// The order of a StringMap's keys: shorter first, then bytewise. Any fixed order makes encoding and
// hashing a whole map deterministic; this one settles most comparisons of header names on their
// lengths, without comparing bytes (building a request's header map is mostly such comparisons).
struct ShorterFirst {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const {
    if (a.size() != b.size()) {
      return a.size() < b.size();
    }
    return a.compare(b) < 0;
  }
};

// Ordered, so that encoding and hashing a whole map are deterministic.
using StringMap = std::map<std::string, std::string, ShorterFirst>;

using AttributeValue =
    std::variant<std::string, int64_t, double, bool, Bytes, Timestamp, Duration, StringMap>;

// One attribute of a set: its name (with the name's hash and its index in Istio 1.4's global
// dictionary, both computed once when the name is stored) and its value.
struct Attribute {
  std::string name;
  AttributeValue value;
  size_t hash = 0;
  int32_t global_word = -1;  // -1: not a global word
};

// A set of attributes. Not thread-safe for writes; concurrent const reads are safe.
//
// Layout: a vector of entries, the set's attributes first ([0, size())), then the entries of
// earlier rounds kept for reuse, and an open-addressing index of the live ones by name hash.
// Every name in the vector is distinct, live or kept. A name new this round is looked for among
// the kept entries by their stored hashes (a scan, bounded by the largest set seen), so that it
// gets back its own value buffers; else it renames the first kept entry.
//
// Storage reuse: clear() keeps every entry (name, value buffers, map nodes) and only empties the
// index, so a host that builds every request into one reused set allocates nothing once the names
// and value sizes it sees have been seen before. A host that sets the same names in the same
// order each round (as proxies do) also pays no hash per set: the set checks the name against the
// entry that followed the previous one last round first.
class Attributes {
 public:
  Attributes() = default;
  // Copies and assignments copy the attributes, not the storage kept for reuse.
  Attributes(const Attributes& other);
  Attributes& operator=(const Attributes& other) {
    if (this != &other) {
      assign(other);
    }
    return *this;
  }
  Attributes(Attributes&& other) noexcept;
  Attributes& operator=(Attributes&& other) noexcept;

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
  // Room for `n` attributes without growing (a proxy knows about how many it sets).
  void reserve(size_t n);
  void erase(std::string_view name);
  // Removes every attribute, keeping the storage for the set*() calls that follow.
  void clear();
  // Makes this set a copy of `other`, reusing this set's storage (clear(), then set each).
  void assign(const Attributes& other);

  // nullptr when absent. Does not allocate.
  const AttributeValue* find(std::string_view name) const {
    const Attribute* a = lookup(name, hashOf(name));
    return a == nullptr ? nullptr : &a->value;
  }
  bool contains(std::string_view name) const { return find(name) != nullptr; }
  size_t size() const { return size_; }
  // The live attributes, in the order they were first set this round.
  std::span<const Attribute> entries() const { return {entries_.data(), size_}; }
  // Copies every attribute of `other` over this set's.
  void merge(const Attributes& other);
  // The same names with equal values, in whatever order they were set.
  bool operator==(const Attributes& other) const;

 private:
  static size_t hashOf(std::string_view name);
  // The live attribute `name` (whose hash is `hash`), or nullptr.
  const Attribute* lookup(std::string_view name, size_t hash) const;
  // The value of `name`, made live (from a kept entry when there is one) when absent.
  AttributeValue& slot(std::string_view name);
  // Makes entries_[size_] live: counts it and indexes it.
  AttributeValue& makeLive();
  // Puts the live entry at `position` in the index, which has room.
  void indexAt(size_t position);
  // Sizes the index for the live entries, or for `room` of them if more, and fills it.
  void rebuildIndex(size_t room);
  // Moves the entries of the STRING_MAP `value` (if it is one) to recycled_entries_ and empties it.
  void recycleMap(AttributeValue& value);
  // `value`'s entry `key` set to `entry`, reusing a node of recycled_entries_ when it is new.
  void setEntry(StringMap& map, std::string_view key, std::string_view entry);

  std::vector<Attribute> entries_;  // [0, size_) live, then kept
  size_t size_ = 0;
  std::vector<uint32_t> index_;  // position + 1 of live entries, 0 when free; size a power of 2
  StringMap recycled_entries_;   // map entries removed by clear(), taken back by setEntry()
};

// The 4 or 16 bytes of an IPv4 or IPv6 address in text form; nullopt when `text` is neither.
std::optional<Bytes> ipAddressBytes(std::string_view text);

}  // namespace mixer::proxy
