#include "mixer/api/attribute_encoder.h"

#include <string>
#include <vector>

#include "base/proto_wire.h"
#include "mixer/api/global_dictionary.h"

namespace mixer::api {

using attribute::AttributeValue;
using attribute::ValueType;

void encodeAttributes(const attribute::AttributeBag& bag, base::MessageDictionary* dict,
                      istio::mixer::v1::CompressedAttributes* out) {
  bag.forEach([&](std::string_view name, const AttributeValue& v) {
    const int32_t key = dict->indexOf(name);
    switch (v.type()) {
      case ValueType::kString:
      case ValueType::kDnsName:
      case ValueType::kEmailAddress:
      case ValueType::kUri:
        (*out->mutable_strings())[key] = dict->indexOf(v.stringValue());
        break;
      case ValueType::kInt64:
        (*out->mutable_int64s())[key] = v.int64Value();
        break;
      case ValueType::kDouble:
        (*out->mutable_doubles())[key] = v.doubleValue();
        break;
      case ValueType::kBool:
        (*out->mutable_bools())[key] = v.boolValue();
        break;
      case ValueType::kTimestamp: {
        auto& ts = (*out->mutable_timestamps())[key];
        ts.set_seconds(v.timestampValue().seconds);
        ts.set_nanos(v.timestampValue().nanos);
        break;
      }
      case ValueType::kDuration: {
        auto& d = (*out->mutable_durations())[key];
        d.set_seconds(v.durationValue().seconds);
        d.set_nanos(v.durationValue().nanos);
        break;
      }
      case ValueType::kIpAddress:
      case ValueType::kBytes:
        (*out->mutable_bytes())[key] = std::string(v.stringValue());
        break;
      case ValueType::kStringMap: {
        auto& m = *(*out->mutable_string_maps())[key].mutable_entries();
        for (const auto* e = v.mapBegin(); e != v.mapEnd(); ++e) {
          m[dict->indexOf(e->key)] = dict->indexOf(e->value);
        }
        break;
      }
      case ValueType::kUnspecified:
      default:  // the expression language's own types: no attribute has one
        break;
    }
  });
}

void encodeAttributes(const attribute::AttributeBag& bag, uint32_t global_word_count,
                      istio::mixer::v1::CompressedAttributes* out) {
  base::MessageDictionary dict(globalWords(), global_word_count);
  encodeAttributes(bag, &dict, out);
  for (const auto& w : dict.words()) {
    out->add_words(w);
  }
}

namespace {

// The global index of `word` in a ReferencedAttributes when the client knows the word (and, when
// `allow_zero` is false, it is not 0). `global_word` is the word's index in the full dictionary
// as AttributeReference keeps it (looked up here when not known).
std::optional<int32_t> globalReferenceIndex(std::string_view word, int32_t global_word,
                                            uint32_t global_word_count, bool allow_zero) {
  std::optional<int32_t> g;
  if (global_word == attribute::kGlobalWordNotLookedUp) {
    g = globalWordIndex(word, global_word_count);
  } else if (global_word >= 0 && static_cast<uint32_t>(global_word) < global_word_count) {
    g = global_word;
  }
  if (g && (allow_zero || *g != 0)) {
    return g;
  }
  return std::nullopt;
}

// The index of `word` in a ReferencedAttributes: global as above, else a message word, appended
// on first use. Allocation-free once `out` has been used for a few calls: cleared repeated
// strings are reused.
int32_t referenceIndex(std::string_view word, int32_t global_word, uint32_t global_word_count,
                       bool allow_zero, istio::mixer::v1::ReferencedAttributes* out) {
  if (auto g = globalReferenceIndex(word, global_word, global_word_count, allow_zero)) {
    return *g;
  }
  for (int i = 0; i < out->words_size(); ++i) {
    if (out->words(i) == word) {
      return base::messageWordIndex(static_cast<size_t>(i));
    }
  }
  out->add_words()->assign(word.data(), word.size());
  return base::messageWordIndex(static_cast<size_t>(out->words_size() - 1));
}

}  // namespace

void encodeReferences(const attribute::AttributeReferences& refs, uint32_t global_word_count,
                      istio::mixer::v1::ReferencedAttributes* out) {
  for (const auto& r : refs.items()) {
    auto* m = out->add_attribute_matches();
    m->set_name(referenceIndex(r.name, r.global_word, global_word_count, true, out));
    m->set_condition(r.present ? istio::mixer::v1::ReferencedAttributes::EXACT
                               : istio::mixer::v1::ReferencedAttributes::ABSENCE);
    if (r.has_map_key) {
      // map_key 0 reads as "no key" to Istio's clients, so global word 0 goes as a message word.
      m->set_map_key(referenceIndex(r.map_key, attribute::kGlobalWordNotLookedUp, global_word_count,
                                    false, out));
    }
  }
}

namespace {

// referenceIndex() for appendReferences(): the message words go into `words`.
int32_t wireReferenceIndex(std::string_view word, int32_t global_word, uint32_t global_word_count,
                           bool allow_zero, std::vector<std::string_view>* words) {
  if (auto g = globalReferenceIndex(word, global_word, global_word_count, allow_zero)) {
    return *g;
  }
  for (size_t i = 0; i < words->size(); ++i) {
    if ((*words)[i] == word) {
      return base::messageWordIndex(i);
    }
  }
  words->push_back(word);
  return base::messageWordIndex(words->size() - 1);
}

}  // namespace

void appendReferences(const attribute::AttributeReferences& refs, uint32_t global_word_count,
                      std::string* out) {
  using base::WireType;
  // The matches are written after the words (field order, as protobuf writes them), and the
  // words are known only once every match is: the matches wait in the thread's buffer.
  thread_local std::string matches;
  thread_local std::vector<std::string_view> words;
  matches.clear();
  words.clear();
  constexpr char kName = (1 << 3) | static_cast<char>(WireType::Varint);
  constexpr char kCondition = (2 << 3) | static_cast<char>(WireType::Varint);
  constexpr char kMapKey = (4 << 3) | static_cast<char>(WireType::Varint);
  for (const auto& r : refs.items()) {
    char match[3 * (1 + base::kMaxVarintBytes)];
    size_t n = 0;
    // proto3: a field holding its default (0) is not written.
    const int32_t name = wireReferenceIndex(r.name, r.global_word, global_word_count, true, &words);
    if (name != 0) {
      match[n++] = kName;
      n += base::encodeVarint(base::zigzagEncode32(name), match + n);
    }
    match[n++] = kCondition;
    n += base::encodeVarint(r.present ? istio::mixer::v1::ReferencedAttributes::EXACT
                                      : istio::mixer::v1::ReferencedAttributes::ABSENCE,
                            match + n);
    if (r.has_map_key) {
      const int32_t key = wireReferenceIndex(r.map_key, attribute::kGlobalWordNotLookedUp,
                                             global_word_count, false, &words);
      if (key != 0) {
        match[n++] = kMapKey;
        n += base::encodeVarint(base::zigzagEncode32(key), match + n);
      }
    }
    base::appendLenField(2, std::string_view(match, n), &matches);
  }
  for (std::string_view w : words) {
    base::appendLenField(1, w, out);
  }
  out->append(matches);
}

}  // namespace mixer::api
