#include "absl/container/flat_hash_map.h"
#include "mixer/api/global_dictionary.h"

namespace mixer::api {

std::optional<int32_t> globalWordIndex(std::string_view word, uint32_t limit) {
  static const auto* const index = [] {
    auto* m = new absl::flat_hash_map<std::string_view, int32_t>();
    for (uint32_t i = 0; i < kGlobalWordCount; ++i) {
      m->emplace(kGlobalWords[i], static_cast<int32_t>(i));
    }
    return m;
  }();
  auto it = index->find(word);
  if (it == index->end() || static_cast<uint32_t>(it->second) >= limit) {
    return std::nullopt;
  }
  return it->second;
}

}  // namespace mixer::api
