#include "base/word_compression.h"

namespace mixer::base {

GlobalWords::GlobalWords(std::span<const std::string_view> words) : words_(words) {
  index_.reserve(words.size());
  for (size_t i = 0; i < words.size(); ++i) {
    // A word listed twice keeps its first index.
    index_.emplace(words[i], static_cast<int32_t>(i));
  }
}

}  // namespace mixer::base
