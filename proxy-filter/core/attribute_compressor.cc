#include "proxy-filter/core/attribute_compressor.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "mixer/api/global_dictionary.h"

namespace mixer::proxy {
namespace {

using istio::mixer::v1::CompressedAttributes;

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

// Saturated to the int64 nanosecond range.
int64_t durationNs(int64_t seconds, int32_t nanos) {
  constexpr int64_t kMaxSeconds = INT64_MAX / 1000000000 - 1;
  if (seconds > kMaxSeconds) return INT64_MAX;
  if (seconds < -kMaxSeconds) return INT64_MIN;
  return seconds * 1000000000 + nanos;
}

}  // namespace

base::MessageDictionary messageWords(uint32_t global_word_count) {
  return base::MessageDictionary(api::globalWords(), global_word_count);
}

void moveWords(base::MessageDictionary* words,
               google::protobuf::RepeatedPtrField<std::string>* out) {
  out->Reserve(out->size() + static_cast<int>(words->words().size()));
  words->moveWordsTo([out](std::string&& word) { out->Add(std::move(word)); });
}

void compressAttributes(const Attributes& attributes, base::MessageDictionary* words,
                        CompressedAttributes* out) {
  for (const Attribute& attribute : attributes.entries()) {
    const AttributeValue& value = attribute.value;
    const int32_t key = words->indexOf(attribute.name);
    std::visit(
        Overloaded{
            [&](const std::string& v) { (*out->mutable_strings())[key] = words->indexOf(v); },
            [&](int64_t v) { (*out->mutable_int64s())[key] = v; },
            [&](double v) { (*out->mutable_doubles())[key] = v; },
            [&](bool v) { (*out->mutable_bools())[key] = v; },
            [&](const Bytes& v) { (*out->mutable_bytes())[key] = v.data; },
            [&](const Timestamp& v) {
              const int64_t ns = v.time_since_epoch().count();
              auto& ts = (*out->mutable_timestamps())[key];
              ts.set_seconds(ns / 1000000000 - (ns % 1000000000 < 0 ? 1 : 0));
              ts.set_nanos(static_cast<int32_t>((ns % 1000000000 + 1000000000) % 1000000000));
            },
            [&](const Duration& v) {
              auto& d = (*out->mutable_durations())[key];
              d.set_seconds(v.count() / 1000000000);
              d.set_nanos(static_cast<int32_t>(v.count() % 1000000000));
            },
            [&](const StringMap& v) {
              auto* entries = (*out->mutable_string_maps())[key].mutable_entries();
              for (const auto& [k, e] : v) {
                (*entries)[words->indexOf(k)] = words->indexOf(e);
              }
            },
        },
        value);
  }
}

GlobalDictionary::GlobalDictionary() : word_count_(api::kGlobalWordCount) {}

bool GlobalDictionary::shrink() {
  uint32_t expected = api::kGlobalWordCount;
  return word_count_.compare_exchange_strong(expected, kFallbackGlobalWordCount);
}

bool isDictionaryRejection(int grpc_code, std::string_view message) {
  constexpr int kInvalidArgument = 3;
  constexpr int kInternal = 13;
  return (grpc_code == kInternal || grpc_code == kInvalidArgument) &&
         absl::StrContains(absl::AsciiStrToLower(absl::string_view(message.data(), message.size())),
                           "global dictionary");
}

bool decompressAttributes(const CompressedAttributes& in,
                          const google::protobuf::RepeatedPtrField<std::string>& words,
                          Attributes* out) {
  // Sets `*text` to the word `index` names; false when it names none.
  const auto wordAt = [&words](int32_t index, std::string* text) {
    auto word = base::wordAt(index, api::kGlobalWords, words);
    if (!word) {
      return false;
    }
    text->assign(word->data(), word->size());
    return true;
  };
  std::string name, value, key;
  for (const auto& [k, v] : in.strings()) {
    if (!wordAt(k, &name) || !wordAt(v, &value)) return false;
    out->setString(name, value);
  }
  for (const auto& [k, v] : in.int64s()) {
    if (!wordAt(k, &name)) return false;
    out->setInt64(name, v);
  }
  for (const auto& [k, v] : in.doubles()) {
    if (!wordAt(k, &name)) return false;
    out->setDouble(name, v);
  }
  for (const auto& [k, v] : in.bools()) {
    if (!wordAt(k, &name)) return false;
    out->setBool(name, v);
  }
  for (const auto& [k, v] : in.bytes()) {
    if (!wordAt(k, &name)) return false;
    out->setBytes(name, v);
  }
  for (const auto& [k, v] : in.timestamps()) {
    if (!wordAt(k, &name)) return false;
    out->setTimestamp(name, Timestamp(Duration(durationNs(v.seconds(), v.nanos()))));
  }
  for (const auto& [k, v] : in.durations()) {
    if (!wordAt(k, &name)) return false;
    out->setDuration(name, Duration(durationNs(v.seconds(), v.nanos())));
  }
  for (const auto& [k, v] : in.string_maps()) {
    if (!wordAt(k, &name)) return false;
    StringMap map;
    for (const auto& [ek, ev] : v.entries()) {
      if (!wordAt(ek, &key) || !wordAt(ev, &value)) return false;
      map.insert_or_assign(key, value);
    }
    out->setStringMap(name, std::move(map));
  }
  return true;
}

}  // namespace mixer::proxy
