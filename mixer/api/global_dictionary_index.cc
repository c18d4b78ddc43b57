#include "mixer/api/global_dictionary.h"

namespace mixer::api {

const base::GlobalWords& globalWords() {
  static const auto* const words = new base::GlobalWords(kGlobalWords);
  return *words;
}

std::optional<int32_t> globalWordIndex(std::string_view word, uint32_t limit) {
  return globalWords().indexOf(word, limit);
}

}  // namespace mixer::api
