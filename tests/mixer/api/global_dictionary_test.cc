#include "mixer/api/global_dictionary.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace mixer::api {
namespace {

TEST(GlobalDictionaryTest, HasIstio14WordsAtTheirIndexes) {
  ASSERT_EQ(kGlobalWords.size(), 222u);
  EXPECT_EQ(kGlobalWords[0], "source.ip");
  EXPECT_EQ(kGlobalWords[17], "request.path");
  EXPECT_EQ(kGlobalWords[30], "response.code");
  EXPECT_EQ(kGlobalWords[131], "context.protocol");
  EXPECT_EQ(kGlobalWords[152], "destination.service");
  EXPECT_EQ(kGlobalWords[221], "context.proxy_version");
}

TEST(GlobalDictionaryTest, KeepsYamlQuotesLiterallyAsIstioGeneratorsDo) {
  // Istio's generators copy "- " lines verbatim, so the quoted YAML scalar keeps its quotes.
  EXPECT_EQ(kGlobalWords[94], "'200'");
  EXPECT_EQ(kGlobalWords[136], "200");
  EXPECT_EQ(globalWordIndex("200"), 136);
  EXPECT_EQ(globalWordIndex("'200'"), 94);
}

TEST(GlobalDictionaryTest, IndexHonoursTheClientWordCount) {
  EXPECT_EQ(globalWordIndex("destination.service"), 152);
  EXPECT_EQ(globalWordIndex("destination.service", 152), std::nullopt);
  EXPECT_EQ(globalWordIndex("destination.service", 153), 152);
  EXPECT_EQ(globalWordIndex("not-a-word"), std::nullopt);
}

TEST(GlobalDictionaryTest, WordsAreUnique) {
  for (uint32_t i = 0; i < kGlobalWordCount; ++i) {
    EXPECT_EQ(globalWordIndex(kGlobalWords[i]), static_cast<int32_t>(i)) << kGlobalWords[i];
  }
}

// The compiled-in list must match Istio's file (mixer/api/data/README.md) line for line.
TEST(GlobalDictionaryTest, MatchesIstioYaml) {
  std::ifstream in(GLOBAL_DICTIONARY_YAML);
  ASSERT_TRUE(in) << "cannot read " << GLOBAL_DICTIONARY_YAML;
  std::vector<std::string> words;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("- ", 0) == 0) {
      words.push_back(line.substr(2));
    }
  }
  ASSERT_EQ(words.size(), kGlobalWordCount);
  for (size_t i = 0; i < words.size(); ++i) {
    EXPECT_EQ(kGlobalWords[i], words[i]) << "index " << i;
  }
}

}  // namespace
}  // namespace mixer::api
