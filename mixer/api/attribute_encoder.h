// Encoding of attributes into the istio.mixer.v1 compressed form, as Istio's clients do it: a
// word found among the first `global_word_count` global words travels as its index; any other
// word is added to the message dictionary and travels as -(position + 1).
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "mixer/attribute/attribute_bag.h"
#include "mixer/attribute/references.h"
#include "mixer/v1/mixer.pb.h"

namespace mixer::api {

// The per-message dictionary. Not thread-safe.
class MessageDictionary {
 public:
  explicit MessageDictionary(uint32_t global_word_count = kGlobalWordCount)
      : global_word_count_(global_word_count) {}

  // The index for `word`: global when possible, else its message word (added on first use).
  int32_t indexOf(std::string_view word);
  // Like indexOf, but never global index 0: for fields where 0 means "unset" (map_key).
  int32_t nonZeroIndexOf(std::string_view word);

  const std::deque<std::string>& words() const { return words_; }
  uint32_t globalWordCount() const { return global_word_count_; }

 private:
  uint32_t global_word_count_;
  std::deque<std::string> words_;  // stable addresses: index_ keys view them
  absl::flat_hash_map<std::string_view, int32_t> index_;
};

// Encodes every attribute of `bag` into `out`, using (and growing) `dict`. The caller puts
// dict.words() into out->words (Check) or ReportRequest.default_words (a batch).
void encodeAttributes(const attribute::AttributeBag& bag, MessageDictionary* dict,
                      istio::mixer::v1::CompressedAttributes* out);

// Convenience: encodes with a fresh dictionary stored in out->words.
void encodeAttributes(const attribute::AttributeBag& bag, uint32_t global_word_count,
                      istio::mixer::v1::CompressedAttributes* out);

// Encodes references as Istio's server does: EXACT for present, ABSENCE for absent, map keys as
// word indexes, with the client's global word count.
void encodeReferences(const attribute::AttributeReferences& refs, uint32_t global_word_count,
                      istio::mixer::v1::ReferencedAttributes* out);

// Resolves a word index of a message (for readers of responses): nullptr-free, returns false when
// the index names no word.
bool resolveWord(int32_t index, const google::protobuf::RepeatedPtrField<std::string>& words,
                 std::string* out);

}  // namespace mixer::api
