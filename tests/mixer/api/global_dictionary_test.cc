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

// The compiled-in list must match the reference file line for line, when it is available.
TEST(GlobalDictionaryTest, MatchesReferenceYaml) {
  const char* shared = std::getenv("MIXER_SHARED_DIR");
  if (shared == nullptr) {
    GTEST_SKIP() << "MIXER_SHARED_DIR not set";
  }
  std::ifstream in(std::string(shared) + "/reference/istio-1.4-global-dictionary.yaml");
  if (!in) {
    GTEST_SKIP() << "reference dictionary not present";
  }
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
