// ListMatcher: an immutable, sub-linear lookup structure over a list of entries of one type.
//   STRINGS: a hash set. CASE_INSENSITIVE_STRINGS: a hash set of ASCII-lowercased entries.
//   IP_ADDRESSES: binary prefix tries (IPv4 and IPv6) of CIDRs; a bare address is a /32 or /128;
//   IPv4-mapped IPv6 addresses are looked up as IPv4. REGEX: one RE2::Set (unanchored, as Go's
//   regexp.MatchString that Istio uses).
// Thread-safe once built.
#ifndef MIXER_ADAPTERS_LISTCHECKER_LIST_MATCHER_H_
#define MIXER_ADAPTERS_LISTCHECKER_LIST_MATCHER_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace re2 {
class RE2;
}

namespace listchecker {

enum class EntryType { kStrings, kCaseInsensitiveStrings, kIpAddresses, kRegex };

class ListMatcher {
 public:
  // Builds the matcher; entries that do not parse (bad CIDR, bad regex) are reported in
  // `errors` as "entry 'x': reason" and skipped.
  static std::unique_ptr<const ListMatcher> build(EntryType type,
                                                  const std::vector<std::string>& entries,
                                                  std::vector<std::string>* errors);
  ~ListMatcher();

  // `value` is text (a string, or an IP address in text form), or with `raw_address` 4 or 16
  // raw bytes (the mixer IP_ADDRESS value type).
  bool contains(std::string_view value, bool raw_address = false) const;
  size_t size() const { return size_; }

 private:
  struct Trie {
    std::vector<std::array<int32_t, 2>> children{{-1, -1}};
    std::vector<bool> terminal{false};
    void insert(const uint8_t* addr, int prefix_bits);
    bool matches(const uint8_t* addr, int bits) const;
  };
  class RegexSet;

  ListMatcher() = default;

  EntryType type_ = EntryType::kStrings;
  size_t size_ = 0;
  std::unordered_set<std::string> strings_;
  Trie v4_;
  Trie v6_;
  std::unique_ptr<RegexSet> regexes_;
};

// Splits a provider body into entries: one per line, or Istio's YAML shape
// `whitelist: [a, b]` / `whitelist:\n- a\n- b`. Blank lines and '#' comments are skipped.
std::vector<std::string> parseListBody(std::string_view body);

// Parses an address in text ("10.0.0.1", "2001:db8::1") or, with `raw`, 4 or 16 bytes, into 16
// bytes (IPv4 as IPv4-mapped IPv6). Returns false when it is not an address.
bool parseAddress(std::string_view value, bool raw, std::array<uint8_t, 16>* out, bool* is_v4);

}  // namespace listchecker

#endif  // MIXER_ADAPTERS_LISTCHECKER_LIST_MATCHER_H_
