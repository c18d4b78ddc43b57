#include "proxy-filter/core/attribute_compressor.h"

#include <gtest/gtest.h>

#include "mixer/api/global_dictionary.h"

namespace mixer::proxy {
namespace {

using istio::mixer::v1::CompressedAttributes;

TEST(AttributeCompressorTest, GlobalWordsTravelAsTheirIndexOthersAsMessageWords) {
  Attributes a;
  a.setString("request.path", "/reviews/1");
  a.setInt64("response.code", 200);
  base::MessageDictionary words = messageWords(api::kGlobalWordCount);
  CompressedAttributes out;
  compressAttributes(a, &words, &out);
  ASSERT_EQ(out.strings().size(), 1u);
  EXPECT_EQ(out.strings().begin()->first, 17);  // request.path is global word 17
  EXPECT_EQ(out.strings().begin()->second, -1);
  ASSERT_EQ(words.words().size(), 1u);
  EXPECT_EQ(words.words()[0], "/reviews/1");
  EXPECT_EQ(out.int64s().at(30), 200);  // response.code is global word 30
}

TEST(AttributeCompressorTest, RoundTripsEveryType) {
  Attributes a;
  a.setString("destination.service", "reviews.default.svc");
  a.setInt64("request.size", 42);
  a.setDouble("x.ratio", 0.5);
  a.setBool("connection.mtls", true);
  a.set("source.ip", *ipAddressBytes("10.1.2.3"));
  a.setTimestamp("request.time", Timestamp(Duration(1700000000123456789)));
  a.setDuration("response.duration", std::chrono::milliseconds(20));
  a.setMapEntry("request.headers", ":path", "/x");
  a.setMapEntry("request.headers", "x-custom", "v");
  base::MessageDictionary words = messageWords(api::kGlobalWordCount);
  CompressedAttributes out;
  compressAttributes(a, &words, &out);
  moveWords(&words, out.mutable_words());
  Attributes back;
  ASSERT_TRUE(decompressAttributes(out, out.words(), &back));
  EXPECT_EQ(back, a);
}

TEST(AttributeCompressorTest, TheFallbackDictionaryKeepsOnlyTheFirst111Words) {
  Attributes a;
  a.setString("destination.service", "x");  // global word 152: past the fallback
  a.setString("request.path", "/");         // global word 17: inside it
  base::MessageDictionary words = messageWords(kFallbackGlobalWordCount);
  CompressedAttributes out;
  compressAttributes(a, &words, &out);
  EXPECT_TRUE(out.strings().contains(17));
  EXPECT_FALSE(out.strings().contains(152));
  bool named = false;
  for (const auto& w : words.words()) {
    named = named || w == "destination.service";
  }
  EXPECT_TRUE(named);
  for (const auto& [k, v] : out.strings()) {
    EXPECT_LT(k, static_cast<int32_t>(kFallbackGlobalWordCount));
  }
}

TEST(AttributeCompressorTest, GlobalDictionaryShrinksOnce) {
  GlobalDictionary d;
  EXPECT_EQ(d.wordCount(), 222u);
  EXPECT_TRUE(d.shrink());
  EXPECT_EQ(d.wordCount(), 111u);
  EXPECT_FALSE(d.shrink());
}

TEST(AttributeCompressorTest, RecognizesTheServersDictionaryRejection) {
  EXPECT_TRUE(isDictionaryRejection(
      13, "inconsistent global dictionary versions used: mixer knows 222 words, caller 300"));
  EXPECT_FALSE(isDictionaryRejection(13, "adapter failed"));
  EXPECT_FALSE(isDictionaryRejection(14, "global dictionary"));
}

TEST(AttributeCompressorTest, DecompressRejectsBadIndexes) {
  CompressedAttributes in;
  (*in.mutable_strings())[-5] = 1;
  Attributes out;
  EXPECT_FALSE(decompressAttributes(in, in.words(), &out));
  CompressedAttributes past;
  (*past.mutable_int64s())[5000] = 1;
  EXPECT_FALSE(decompressAttributes(past, past.words(), &out));
}

}  // namespace
}  // namespace mixer::proxy
