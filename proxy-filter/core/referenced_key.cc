#include "proxy-filter/core/referenced_key.h"

#include <algorithm>
#include <cstring>

#include "base/word_compression.h"
#include "mixer/api/global_dictionary.h"

namespace mixer::proxy {
namespace {

using istio::mixer::v1::ReferencedAttributes;

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

absl::StatusOr<std::string> word(int32_t index, const ReferencedAttributes& r) {
  if (auto word = base::wordAt(index, api::kGlobalWords, r.words())) {
    return std::string(*word);
  }
  if (index >= 0) {
    return absl::InvalidArgumentError("referenced attribute: global word index " +
                                      std::to_string(index) + " is past the dictionary");
  }
  return absl::InvalidArgumentError("referenced attribute: message word index " +
                                    std::to_string(index) + " names no word");
}

void hashValue(const AttributeValue& value, SignatureHasher* h) {
  std::visit(Overloaded{
                 [&](const std::string& v) { h->add(v); },
                 [&](int64_t v) { h->add(&v, sizeof v); },
                 [&](double v) { h->add(&v, sizeof v); },
                 [&](bool v) { h->add(&v, sizeof v); },
                 [&](const Bytes& v) { h->add(v.data); },
                 [&](const Timestamp& v) {
                   const int64_t ns = v.time_since_epoch().count();
                   h->add(&ns, sizeof ns);
                 },
                 [&](const Duration& v) {
                   const int64_t ns = v.count();
                   h->add(&ns, sizeof ns);
                 },
                 [&](const StringMap& v) {
                   for (const auto& [k, e] : v) {
                     h->add(k);
                     h->add(e);
                   }
                 },
             },
             value);
}

}  // namespace

void SignatureHasher::add(const void* data, size_t size) {
  // Eight bytes at a time, each word folded in with a multiply-xorshift step; the last word carries
  // the length in its top byte, so consecutive values stay distinct ("ab","c" vs "a","bc").
  const auto* p = static_cast<const unsigned char*>(data);
  uint64_t s = state_;
  auto mix = [&s](uint64_t word) {
    s ^= word;
    s *= 0x9e3779b97f4a7c15ull;
    s ^= s >> 29;
  };
  while (size >= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    mix(word);
    p += 8;
    size -= 8;
  }
  // The last 0-7 bytes without a byte loop: two overlapping 4-byte loads, or 1-3 single bytes.
  uint64_t tail = static_cast<uint64_t>(size) << 56;
  if (size >= 4) {
    uint32_t low, high;
    std::memcpy(&low, p, 4);
    std::memcpy(&high, p + size - 4, 4);
    tail |= low | (static_cast<uint64_t>(high) << 24);
  } else if (size > 0) {
    tail |= p[0] | (static_cast<uint64_t>(p[size / 2]) << 8) |
            (static_cast<uint64_t>(p[size - 1]) << 16);
  }
  mix(tail);
  state_ = s;
}

uint64_t SignatureHasher::finish() const {
  uint64_t x = state_;
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return x;
}

absl::StatusOr<ReferencedKey> ReferencedKey::fromProto(const ReferencedAttributes& r) {
  ReferencedKey key;
  for (const auto& match : r.attribute_matches()) {
    if (match.condition() == ReferencedAttributes::REGEX) {
      return absl::FailedPreconditionError("a REGEX reference makes the answer not cacheable");
    }
    if (match.condition() != ReferencedAttributes::ABSENCE &&
        match.condition() != ReferencedAttributes::EXACT) {
      return absl::InvalidArgumentError("referenced attribute: unknown condition " +
                                        std::to_string(match.condition()));
    }
    auto name = word(match.name(), r);
    if (!name.ok()) {
      return name.status();
    }
    ReferencedName ref{*std::move(name), std::nullopt};
    // map_key 0 is proto3's "unset": the whole map (a map key never uses global word 0).
    if (match.map_key() != 0) {
      auto map_key = word(match.map_key(), r);
      if (!map_key.ok()) {
        return map_key.status();
      }
      ref.map_key = *std::move(map_key);
    }
    (match.condition() == ReferencedAttributes::ABSENCE ? key.absent_ : key.exact_)
        .push_back(std::move(ref));
  }
  for (auto* list : {&key.absent_, &key.exact_}) {
    std::sort(list->begin(), list->end());
    list->erase(std::unique(list->begin(), list->end()), list->end());
  }
  SignatureHasher h;
  for (const auto& ref : key.absent_) {
    h.add("A");
    h.add(ref.name);
    h.add(ref.map_key.value_or(""));
  }
  for (const auto& ref : key.exact_) {
    h.add("E");
    h.add(ref.name);
    h.add(ref.map_key ? "k" + *ref.map_key : "");
  }
  key.id_ = h.finish();
  return key;
}

std::optional<uint64_t> ReferencedKey::signature(const Attributes& attributes) const {
  for (const auto& ref : absent_) {
    const AttributeValue* value = attributes.find(ref.name);
    if (value == nullptr) {
      continue;
    }
    if (!ref.map_key) {
      return std::nullopt;
    }
    const auto* map = std::get_if<StringMap>(value);
    if (map != nullptr && map->contains(*ref.map_key)) {
      return std::nullopt;
    }
  }
  // The names are already in id_ (the seed); only the values, each with its length, are hashed.
  SignatureHasher h(id_);
  for (const auto& ref : exact_) {
    const AttributeValue* value = attributes.find(ref.name);
    if (value == nullptr) {
      return std::nullopt;
    }
    if (ref.map_key) {
      const auto* map = std::get_if<StringMap>(value);
      if (map == nullptr) {
        return std::nullopt;
      }
      auto it = map->find(*ref.map_key);
      if (it == map->end()) {
        return std::nullopt;
      }
      h.add(it->second);
    } else {
      hashValue(*value, &h);
    }
  }
  return h.finish();
}

}  // namespace mixer::proxy
