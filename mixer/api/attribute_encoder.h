// Encoding of attributes into the istio.mixer.v1 compressed form, as Istio's clients do it, with
// base's word compression over Istio's global dictionary: a word found among the first
// `global_word_count` global words travels as its index; any other word is added to the message
// dictionary and travels as -(position + 1).
#pragma once

#include <cstdint>
#include <string>

#include "base/word_compression.h"
#include "mixer/api/global_dictionary.h"
#include "mixer/attribute/attribute_bag.h"
#include "mixer/attribute/references.h"
#include "mixer/v1/mixer.pb.h"

namespace mixer::api {

// Encodes every attribute of `bag` into `out`, using (and growing) `dict` (made with
// globalWords()). The caller puts dict.words() into out->words (Check) or
// ReportRequest.default_words (a batch).
void encodeAttributes(const attribute::AttributeBag& bag, base::MessageDictionary* dict,
                      istio::mixer::v1::CompressedAttributes* out);

// Convenience: encodes with a fresh dictionary stored in out->words.
void encodeAttributes(const attribute::AttributeBag& bag, uint32_t global_word_count,
                      istio::mixer::v1::CompressedAttributes* out);

// Encodes references as Istio's server does: EXACT for present, ABSENCE for absent, map keys as
// word indexes, with the client's global word count.
void encodeReferences(const attribute::AttributeReferences& refs, uint32_t global_word_count,
                      istio::mixer::v1::ReferencedAttributes* out);

// The same, as the bytes of a ReferencedAttributes message (no tag or length) appended to `out`:
// what encodeReferences() into an empty message serializes to.
void appendReferences(const attribute::AttributeReferences& refs, uint32_t global_word_count,
                      std::string* out);

}  // namespace mixer::api
