// The cache key a Check answer carries: the attributes the server's decision depended on
// (ReferencedAttributes), split as Istio 1.4's client does into the names that had to be ABSENT
// and the names (or map entries) whose EXACT values the decision used. A later request with the
// same absences and the same exact values gets the same answer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "mixer/v1/mixer.pb.h"
#include "proxy-filter/core/attributes.h"

namespace mixer::proxy {

// One referenced attribute: a name, or one entry (map_key) of a STRING_MAP attribute.
struct ReferencedName {
  std::string name;
  std::optional<std::string> map_key;
  auto operator<=>(const ReferencedName&) const = default;
};

// An immutable key set. Thread-safe (const).
class ReferencedKey {
 public:
  // Builds the key from a server answer. Errors: a REGEX condition (the answer is not cacheable:
  // kFailedPrecondition), an unknown condition or a word index naming no word
  // (kInvalidArgument).
  static absl::StatusOr<ReferencedKey> fromProto(const istio::mixer::v1::ReferencedAttributes& r);

  // The signature of `attributes` under this key, or nullopt when the attributes do not fit it
  // (an absence key is present, or an exact key is missing). Does not allocate.
  std::optional<uint64_t> signature(const Attributes& attributes) const;

  // Identifies the key set itself (a hash of its sorted names and conditions).
  uint64_t id() const { return id_; }
  const std::vector<ReferencedName>& absent() const { return absent_; }
  const std::vector<ReferencedName>& exact() const { return exact_; }
  bool operator==(const ReferencedKey& other) const {
    return absent_ == other.absent_ && exact_ == other.exact_;
  }

 private:
  std::vector<ReferencedName> absent_;  // sorted, unique
  std::vector<ReferencedName> exact_;   // sorted, unique
  uint64_t id_ = 0;
};

// A 64-bit streaming hash (word-at-a-time multiply-xorshift, a final avalanche), allocation-free.
// Not cryptographic: like Istio's client, the cache trusts a 64-bit signature. Not thread-safe
// (one hasher per computation).
class SignatureHasher {
 public:
  explicit SignatureHasher(uint64_t seed = 0xcbf29ce484222325ull) : state_(seed) {}
  void add(const void* data, size_t size);
  void add(std::string_view s) { add(s.data(), s.size()); }
  uint64_t finish() const;

 private:
  uint64_t state_;
};

}  // namespace mixer::proxy
