#include "mixer/api/attribute_encoder.h"

#include <gtest/gtest.h>

namespace mixer::api {
namespace {

using attribute::AttributeBag;
using attribute::AttributeReferences;
using attribute::AttributeValue;
using istio::mixer::v1::ReferencedAttributes;

TEST(MessageDictionaryTest, UsesGlobalIndexesBelowTheClientWordCountElseMessageWords) {
  base::MessageDictionary full(globalWords(), kGlobalWordCount);
  EXPECT_EQ(full.indexOf("destination.service"), 152);
  EXPECT_EQ(full.indexOf("my.word"), -1);
  EXPECT_EQ(full.indexOf("other"), -2);
  EXPECT_EQ(full.indexOf("my.word"), -1);  // reused
  ASSERT_EQ(full.words().size(), 2u);

  // A client that knows only the first 111 words (Istio's fallback) sends the rest as words.
  base::MessageDictionary short_dict(globalWords(), 111);
  EXPECT_EQ(short_dict.indexOf("request.path"), 17);
  EXPECT_EQ(short_dict.indexOf("destination.service"), -1);
  EXPECT_EQ(short_dict.words().front(), "destination.service");
}

TEST(AttributeEncoderTest, EncodesLikeIstioClients) {
  AttributeBag bag(attribute::Vocabulary::builtin());
  bag.set("destination.service", AttributeValue::string("svc.ns"));
  bag.set("request.method", AttributeValue::string("GET"));
  bag.set("response.code", AttributeValue::int64(200));
  istio::mixer::v1::CompressedAttributes out;
  encodeAttributes(bag, kGlobalWordCount, &out);
  ASSERT_EQ(out.words_size(), 1);
  EXPECT_EQ(out.words(0), "svc.ns");
  EXPECT_EQ(out.strings().at(152), -1);
  const int32_t method = *globalWordIndex("request.method");
  EXPECT_EQ(out.strings().at(method), *globalWordIndex("GET"));
  EXPECT_EQ(out.int64s().at(30), 200);
}

TEST(AttributeEncoderTest, EncodesReferencesWithConditionsAndMapKeys) {
  AttributeReferences refs;
  refs.add("destination.service", true);
  refs.add("context.reporter.kind", false);
  refs.addMapKey("request.headers", "x-custom", true);
  refs.addMapKey("request.headers", "source.ip", false);  // global word 0 as a map key
  ReferencedAttributes out;
  encodeReferences(refs, kGlobalWordCount, &out);
  ASSERT_EQ(out.attribute_matches_size(), 4);
  EXPECT_EQ(out.attribute_matches(0).name(), 152);
  EXPECT_EQ(out.attribute_matches(0).condition(), ReferencedAttributes::EXACT);
  EXPECT_EQ(out.attribute_matches(0).map_key(), 0);
  EXPECT_EQ(out.attribute_matches(1).condition(), ReferencedAttributes::ABSENCE);
  EXPECT_EQ(base::wordAt(out.attribute_matches(2).map_key(), kGlobalWords, out.words()),
            "x-custom");
  // Index 0 means "no key" to Istio's clients, so "source.ip" must travel as a message word.
  EXPECT_LT(out.attribute_matches(3).map_key(), 0);
  EXPECT_EQ(base::wordAt(out.attribute_matches(3).map_key(), kGlobalWords, out.words()),
            "source.ip");
  EXPECT_EQ(out.attribute_matches(3).condition(), ReferencedAttributes::ABSENCE);
}

TEST(AttributeEncoderTest, ReferencesHonourTheClientWordCount) {
  AttributeReferences refs;
  refs.add("destination.service", true);
  ReferencedAttributes out;
  encodeReferences(refs, 100, &out);
  ASSERT_EQ(out.words_size(), 1);
  EXPECT_EQ(out.words(0), "destination.service");
  EXPECT_EQ(out.attribute_matches(0).name(), -1);
}

// A reference that carries its name's global index (as the dispatcher's do) travels as that
// index when the client knows it, and as a message word when it does not or when the name is in
// no dictionary (-1).
TEST(AttributeEncoderTest, ReferencesCarryingTheirGlobalIndex) {
  const int32_t service = *globalWordIndex("destination.service");
  AttributeReferences refs;
  refs.add("destination.service", true, service);
  refs.addMapKey("request.headers", "x-custom", true, *globalWordIndex("request.headers"));
  refs.add("my.attribute", false, -1);
  ReferencedAttributes all;
  encodeReferences(refs, kGlobalWordCount, &all);
  ASSERT_EQ(all.attribute_matches_size(), 3);
  EXPECT_EQ(all.attribute_matches(0).name(), service);
  EXPECT_EQ(all.attribute_matches(1).name(), *globalWordIndex("request.headers"));
  EXPECT_EQ(base::wordAt(all.attribute_matches(1).map_key(), kGlobalWords, all.words()),
            "x-custom");
  EXPECT_EQ(base::wordAt(all.attribute_matches(2).name(), kGlobalWords, all.words()),
            "my.attribute");

  ReferencedAttributes short_client;
  encodeReferences(refs, static_cast<uint32_t>(service), &short_client);
  EXPECT_LT(short_client.attribute_matches(0).name(), 0);
  EXPECT_EQ(
      base::wordAt(short_client.attribute_matches(0).name(), kGlobalWords, short_client.words()),
      "destination.service");
}

// The hand-written encoding of a quota's references (the Check path's) is byte for byte what
// protobuf serializes of encodeReferences(): global and message words, names first seen as map
// keys, global word 0 as a name (not written: proto3's default) and as a map key (a message
// word), a client knowing fewer global words, names with and without their carried index.
TEST(AttributeEncoderTest, AppendReferencesWritesWhatEncodeReferencesSerializes) {
  AttributeReferences refs;
  refs.add("destination.service", true);
  refs.add("source.ip", false, 0);
  refs.add("context.reporter.kind", false, *globalWordIndex("context.reporter.kind"));
  refs.addMapKey("request.headers", "x-custom", true);
  refs.addMapKey("request.headers", "source.ip", false);
  refs.addMapKey("my.labels", "x-custom", true, -1);
  refs.add("my.attribute", true, -1);
  refs.add("x-custom", false);
  for (uint32_t count : {kGlobalWordCount, 111u, 1u, 0u}) {
    ReferencedAttributes message;
    encodeReferences(refs, count, &message);
    std::string bytes = "prefix";
    appendReferences(refs, count, &bytes);
    EXPECT_EQ(bytes, "prefix" + message.SerializeAsString()) << "global word count " << count;
  }
  AttributeReferences none;
  std::string empty;
  appendReferences(none, kGlobalWordCount, &empty);
  EXPECT_TRUE(empty.empty());
}

TEST(AttributeReferencesTest, DeduplicatesAndRestoresToAMark) {
  AttributeReferences refs;
  refs.add("a", true);
  refs.add("a", true);
  refs.addMapKey("m", "k", false);
  refs.addMapKey("m", "k", false);
  EXPECT_EQ(refs.items().size(), 2u);
  const size_t mark = refs.mark();
  refs.add("b", false);
  EXPECT_EQ(refs.items().size(), 3u);
  refs.restore(mark);
  EXPECT_EQ(refs.items().size(), 2u);
}

}  // namespace
}  // namespace mixer::api
