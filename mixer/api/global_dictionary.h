// The global dictionary of the istio.mixer.v1 wire format: Istio 1.4's 222 words, in order.
// An attribute name or string value equal to one of these words travels as its index.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include "base/word_compression.h"

namespace mixer::api {

inline constexpr uint32_t kGlobalWordCount = 222;

// The words, exactly as Istio's generators emit them: quoted YAML lines keep their quotes, so
// word 94 is "'200'" (with the quotes) while word 136 is "200".
extern const std::array<std::string_view, kGlobalWordCount> kGlobalWords;

// The words with their index, for base's word compression. Thread-safe.
const base::GlobalWords& globalWords();

// Returns the index of `word` in the first `limit` global words, if present. Thread-safe.
std::optional<int32_t> globalWordIndex(std::string_view word, uint32_t limit = kGlobalWordCount);

}  // namespace mixer::api
