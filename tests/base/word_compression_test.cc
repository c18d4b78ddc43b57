// Word compression as istio.mixer.v1 uses it, over a small global list of our own: index i >= 0 is
// global word i (only the first `global_word_count` may be used by a sender), index -(k + 1) is the
// message's word k.
#include "base/word_compression.h"

#include <gtest/gtest.h>

#include <array>
#include <climits>
#include <string>
#include <string_view>
#include <vector>

namespace mixer::base {
namespace {

constexpr std::array<std::string_view, 5> kWords = {"source.ip", "GET", "request.path", "200",
                                                    "GET"};
// The words of a message with two words (built at start-up, not in each test).
const std::vector<std::string_view> kMessage = {"m0", "m1"};

const GlobalWords& globals() {
  static const auto* const g = new GlobalWords(kWords);
  return *g;
}

TEST(WordCompressionTest, MessageIndicesAreMinusOneBased) {
  EXPECT_EQ(messageWordIndex(0), -1);
  EXPECT_EQ(messageWordIndex(1), -2);
  EXPECT_EQ(messageWordIndex(41), -42);
  EXPECT_EQ(messageWordPosition(-1), 0u);
  EXPECT_EQ(messageWordPosition(-3), 2u);
  // The most negative index does not overflow.
  EXPECT_EQ(messageWordPosition(INT32_MIN), 2147483647u);
}

TEST(WordCompressionTest, GlobalWordsAreFoundBelowTheLimitOnly) {
  EXPECT_EQ(globals().size(), 5u);
  EXPECT_EQ(globals().indexOf("source.ip", 5), 0);
  EXPECT_EQ(globals().indexOf("request.path", 5), 2);
  EXPECT_EQ(globals().indexOf("request.path", 3), 2);
  EXPECT_EQ(globals().indexOf("request.path", 2), std::nullopt);  // word 2 is past a limit of 2
  EXPECT_EQ(globals().indexOf("POST", 5), std::nullopt);
  // A word listed twice is known by its first index.
  EXPECT_EQ(globals().indexOf("GET", 5), 1);
}

TEST(WordCompressionTest, GlobalWordsTravelAsTheirIndexOthersAsMessageWords) {
  MessageDictionary dict(globals(), 5);
  EXPECT_EQ(dict.indexOf("request.path"), 2);
  EXPECT_EQ(dict.indexOf("source.ip"), 0);  // index 0 is a valid global index
  EXPECT_EQ(dict.indexOf("/reviews"), -1);
  EXPECT_EQ(dict.indexOf("x-user"), -2);
  EXPECT_EQ(dict.indexOf("/reviews"), -1);  // added once, reused
  EXPECT_EQ(dict.indexOf("200"), 3);
  ASSERT_EQ(dict.words().size(), 2u);
  EXPECT_EQ(dict.words()[0], "/reviews");
  EXPECT_EQ(dict.words()[1], "x-user");
  EXPECT_EQ(dict.globalWordCount(), 5u);
}

TEST(WordCompressionTest, ASmallerGlobalWordCountSendsTheRestAsMessageWords) {
  MessageDictionary dict(globals(), 2);  // the sender knows "source.ip" and "GET" only
  EXPECT_EQ(dict.indexOf("GET"), 1);
  EXPECT_EQ(dict.indexOf("request.path"), -1);
  EXPECT_EQ(dict.indexOf("200"), -2);
  ASSERT_EQ(dict.words().size(), 2u);
  EXPECT_EQ(dict.words()[0], "request.path");
  // A count of 0: every word is a message word.
  MessageDictionary none(globals(), 0);
  EXPECT_EQ(none.indexOf("source.ip"), -1);
}

TEST(WordCompressionTest, MessageIndexOfNeverLooksAtTheGlobalWords) {
  MessageDictionary dict(globals(), 5);
  EXPECT_EQ(dict.messageIndexOf("GET"), -1);
  EXPECT_EQ(dict.messageIndexOf("x"), -2);
  EXPECT_EQ(dict.indexOf("x"), -2);
  EXPECT_EQ(dict.messageIndexOf("GET"), -1);
}

// A borrowed dictionary given a keeper stores the keeper's view of a new word, and asks for it
// only once per word.
TEST(WordCompressionTest, ABorrowedDictionaryStoresWhatTheKeeperGivesForANewWord) {
  BorrowedMessageDictionary dict(globals(), 5);
  std::vector<std::string> kept;
  kept.reserve(4);
  int asked = 0;
  auto keep = [&](std::string_view word) {
    ++asked;
    kept.emplace_back(word);
    return std::string_view(kept.back());
  };
  std::string word = "custom.name";
  EXPECT_EQ(dict.messageIndexOf(word, keep), -1);
  EXPECT_EQ(dict.messageIndexOf("custom.name", keep), -1);
  EXPECT_EQ(asked, 1);
  word.assign(word.size(), '#');  // the caller's word changes; the stored one is the copy
  ASSERT_EQ(dict.words().size(), 1u);
  EXPECT_EQ(dict.words()[0], "custom.name");
  EXPECT_EQ(dict.words()[0].data(), kept[0].data());
  EXPECT_EQ(dict.indexOf("custom.name"), -1);
}

TEST(WordCompressionTest, AnOwningDictionaryKeepsCopies) {
  MessageDictionary dict(globals(), 5);
  std::string word = "a-long-word-that-does-not-fit-in-a-small-string";
  EXPECT_EQ(dict.indexOf(word), -1);
  // Enough words for the storage to grow well past its first block.
  for (int i = 0; i < 1000; ++i) {
    EXPECT_EQ(dict.indexOf("w" + std::to_string(i)), -2 - i);
  }
  word.assign(word.size(), '#');
  EXPECT_EQ(dict.words()[0], "a-long-word-that-does-not-fit-in-a-small-string");
  EXPECT_EQ(dict.indexOf("a-long-word-that-does-not-fit-in-a-small-string"), -1);
  EXPECT_EQ(dict.indexOf("w999"), -1001);
}

TEST(WordCompressionTest, ABorrowingDictionaryViewsTheCallersWords) {
  const std::string a = "alpha", b = "beta";
  BorrowedMessageDictionary dict(globals(), 5);
  EXPECT_EQ(dict.indexOf(a), -1);
  EXPECT_EQ(dict.indexOf(b), -2);
  EXPECT_EQ(dict.indexOf(std::string("alpha")), -1);
  ASSERT_EQ(dict.words().size(), 2u);
  EXPECT_EQ(dict.words()[0].data(), a.data());
  EXPECT_EQ(dict.words()[1].data(), b.data());
}

TEST(WordCompressionTest, MovingTheWordsOutEmptiesTheDictionary) {
  MessageDictionary dict(globals(), 5);
  dict.indexOf("one");
  dict.indexOf("GET");
  dict.indexOf("two");
  std::vector<std::string> out;
  dict.moveWordsTo([&out](std::string&& w) { out.push_back(std::move(w)); });
  EXPECT_EQ(out, (std::vector<std::string>{"one", "two"}));
  EXPECT_TRUE(dict.words().empty());
  // A new message starts again at -1.
  EXPECT_EQ(dict.indexOf("two"), -1);
  dict.reset(1);
  EXPECT_TRUE(dict.words().empty());
  EXPECT_EQ(dict.globalWordCount(), 1u);
  EXPECT_EQ(dict.indexOf("GET"), -1);
}

TEST(WordCompressionTest, WordAtResolvesGlobalAndMessageIndices) {
  const auto& message = kMessage;
  EXPECT_EQ(wordAt(0, kWords, message), "source.ip");
  EXPECT_EQ(wordAt(4, kWords, message), "GET");
  EXPECT_EQ(wordAt(-1, kWords, message), "m0");
  EXPECT_EQ(wordAt(-2, kWords, message), "m1");
  // Message words may be owned strings as well.
  const std::vector<std::string> owned = {"o0"};
  EXPECT_EQ(wordAt(-1, kWords, owned), "o0");
}

TEST(WordCompressionTest, WordAtRefusesIndicesThatNameNoWord) {
  const auto& message = kMessage;
  EXPECT_EQ(wordAt(5, kWords, message), std::nullopt);  // one past the global list
  EXPECT_EQ(wordAt(INT32_MAX, kWords, message), std::nullopt);
  EXPECT_EQ(wordAt(-3, kWords, message), std::nullopt);  // message word 2 of 2
  EXPECT_EQ(wordAt(INT32_MIN, kWords, message), std::nullopt);
  EXPECT_EQ(wordAt(-1, kWords, std::vector<std::string>()), std::nullopt);
  // The whole global list is readable whatever count the sender used.
  EXPECT_EQ(wordAt(3, std::span<const std::string_view>(kWords).first(4), message), "200");
  EXPECT_EQ(wordAt(4, std::span<const std::string_view>(kWords).first(4), message), std::nullopt);
}

TEST(WordCompressionTest, CompressedWordsDecompressToThemselves) {
  const std::vector<std::string> text = {"GET",    "/a",  "request.path", "/a",
                                         "200",    "",    "source.ip",    "x-user",
                                         "/a/b/c", "GET", "200",          "unicode-\xc3\xa9"};
  for (uint32_t count : {0u, 2u, 5u}) {
    MessageDictionary dict(globals(), count);
    std::vector<int32_t> indices;
    for (const auto& w : text) {
      indices.push_back(dict.indexOf(w));
    }
    for (size_t i = 0; i < text.size(); ++i) {
      EXPECT_LT(indices[i], static_cast<int32_t>(count)) << text[i];
      EXPECT_EQ(wordAt(indices[i], kWords, dict.words()), text[i]) << count << " " << i;
    }
  }
}

}  // namespace
}  // namespace mixer::base
