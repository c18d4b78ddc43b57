// Word compression as istio.mixer.v1.CompressedAttributes uses it. Every attribute name and string
// travels as a sint32 word index:
//   - index i >= 0 names word i of a global dictionary both sides know (the sender may use only its
//     first `global_word_count` words: the count it announces);
//   - index -1, -2, ... names word 0, 1, ... of the message's own words, which travel with it.
// The global dictionary itself is a parameter (Istio's list lives in mixer/api).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "absl/container/flat_hash_map.h"

namespace mixer::base {

// The index of the message word at `position`: -(position + 1).
inline constexpr int32_t messageWordIndex(size_t position) {
  return -static_cast<int32_t>(position) - 1;
}

// The position among the message words that a negative index names.
inline constexpr uint64_t messageWordPosition(int32_t index) {
  return static_cast<uint64_t>(-static_cast<int64_t>(index) - 1);
}

// The word that `index` names, given the global words and the message's words (any container of
// strings with size() and operator[]: std::vector<std::string_view>, a protobuf repeated string
// field, ...). nullopt when it names no word: a global index past the list, or a message index past
// the message's words.
template <class MessageWords>
inline std::optional<std::string_view> wordAt(int32_t index,
                                              std::span<const std::string_view> global_words,
                                              const MessageWords& message_words) {
  if (index >= 0) {
    if (static_cast<size_t>(index) >= global_words.size()) {
      return std::nullopt;
    }
    return global_words[static_cast<size_t>(index)];
  }
  const uint64_t position = messageWordPosition(index);
  if (position >= static_cast<uint64_t>(message_words.size())) {
    return std::nullopt;
  }
  return std::string_view(message_words[static_cast<size_t>(position)]);
}

// A global dictionary: its words in order, and their indices by hashing. Immutable, thread-safe.
class GlobalWords {
 public:
  // `words` must outlive this object.
  explicit GlobalWords(std::span<const std::string_view> words);

  std::span<const std::string_view> words() const { return words_; }
  uint32_t size() const { return static_cast<uint32_t>(words_.size()); }

  // The index of `word` when it is among the first `limit` words.
  std::optional<int32_t> indexOf(std::string_view word, uint32_t limit) const {
    auto it = index_.find(word);
    if (it == index_.end() || static_cast<uint32_t>(it->second) >= limit) {
      return std::nullopt;
    }
    return it->second;
  }

 private:
  std::span<const std::string_view> words_;
  absl::flat_hash_map<std::string_view, int32_t> index_;
};

// The dictionary of one message being compressed: hands out a word's global index when it is among
// the first `global_word_count` global words, otherwise its message index, adding the word to the
// message's words on first use. Not thread-safe.
//
// `Word` is std::string (the dictionary keeps copies of its words) or std::string_view (the words
// are borrowed: what they view must outlive the dictionary's use).
template <class Word>
class BasicMessageDictionary {
  static_assert(std::is_same_v<Word, std::string> || std::is_same_v<Word, std::string_view>);

 public:
  // Owned words sit in a deque so that the index's keys, views of them, stay valid as it grows.
  using Words = std::conditional_t<std::is_same_v<Word, std::string>, std::deque<std::string>,
                                   std::vector<std::string_view>>;

  BasicMessageDictionary(const GlobalWords& global, uint32_t global_word_count)
      : global_(&global), global_word_count_(global_word_count) {}

  // The index that `word` travels as.
  int32_t indexOf(std::string_view word) {
    if (auto g = global_->indexOf(word, global_word_count_)) {
      return *g;
    }
    return messageIndexOf(word);
  }

  // The message index of `word`, for a caller that knows it is not among the first
  // global_word_count global words.
  int32_t messageIndexOf(std::string_view word) {
    if constexpr (std::is_same_v<Word, std::string>) {
      // Looked up first: the key to insert must view the stored copy, not the caller's word.
      if (auto it = index_.find(word); it != index_.end()) {
        return it->second;
      }
      const int32_t index = messageWordIndex(words_.size());
      words_.emplace_back(word);
      index_.emplace(std::string_view(words_.back()), index);
      return index;
    } else {
      auto [it, inserted] = index_.try_emplace(word, messageWordIndex(words_.size()));
      if (inserted) {
        words_.push_back(word);
      }
      return it->second;
    }
  }

  // A borrowed dictionary's messageIndexOf() for a word that may not outlive the message: when the
  // word is new, `keep(word)` gives the view to store (a copy the caller keeps alive).
  template <class Keep>
  int32_t messageIndexOf(std::string_view word, Keep&& keep) {
    static_assert(std::is_same_v<Word, std::string_view>, "an owning dictionary copies anyway");
    if (auto it = index_.find(word); it != index_.end()) {
      return it->second;
    }
    const std::string_view kept = keep(word);
    const int32_t index = messageWordIndex(words_.size());
    words_.push_back(kept);
    index_.emplace(kept, index);
    return index;
  }

  uint32_t globalWordCount() const { return global_word_count_; }
  const Words& words() const { return words_; }

  // Hands every word, in order, to `sink` (as an rvalue when owned) and empties the dictionary.
  template <class Sink>
  void moveWordsTo(Sink&& sink) {
    for (auto& word : words_) {
      sink(std::move(word));
    }
    clear();
  }

  // Forgets the words; a reused dictionary keeps its allocations where the containers do.
  void clear() {
    words_.clear();
    index_.clear();
  }

  // Starts a new message with another global word count.
  void reset(uint32_t global_word_count) {
    clear();
    global_word_count_ = global_word_count;
  }

 private:
  const GlobalWords* global_;
  uint32_t global_word_count_;
  Words words_;
  absl::flat_hash_map<std::string_view, int32_t> index_;
};

using MessageDictionary = BasicMessageDictionary<std::string>;
using BorrowedMessageDictionary = BasicMessageDictionary<std::string_view>;

}  // namespace mixer::base
