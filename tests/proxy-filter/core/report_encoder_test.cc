#include "proxy-filter/core/report_encoder.h"

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include "proxy-filter/core/report_batcher.h"

namespace mixer::proxy {
namespace {

using istio::mixer::v1::ReportRequest;

// Every value type, global and non-global words, maps sharing words with other attributes,
// negative int64s, durations and timestamps.
std::vector<Attributes> records() {
  std::vector<Attributes> out;
  for (int i = 0; i < 3; ++i) {
    Attributes a;
    a.setString("destination.service", "productpage.default.svc.cluster.local");
    a.setString("request.path", "/books/" + std::to_string(i));
    a.setString("request.method", "GET");  // a global word as a value
    a.setString("custom.attribute", "");
    a.setInt64("response.code", 200 + i);
    a.setInt64("custom.negative", -5 - i);
    a.setDouble("custom.double", 0.25 * i);
    a.setBool("connection.mtls", i % 2 == 0);
    a.setBytes("source.ip", std::string("\x0a\x00\x00\x07", 4));
    a.setBytes("destination.ip", std::string(16, '\x01'));
    a.setTimestamp("request.time", Timestamp(Duration(1700000000123456789LL + i)));
    a.setTimestamp("custom.before_epoch", Timestamp(Duration(-1500000001LL)));
    a.setDuration("response.duration", Duration(8000000 + i));
    a.setDuration("custom.negative_duration", Duration(-2500000000LL));
    a.setDuration("custom.zero_duration", Duration(0));
    a.setMapEntry("request.headers", ":authority", "bookinfo");
    a.setMapEntry("request.headers", "x-user", i == 1 ? "alice" : "bob");
    a.setMapEntry("request.headers", "x-request-id", "/books/" + std::to_string(i));
    a.setMapEntry("response.headers", "x-user", "GET");
    out.push_back(std::move(a));
  }
  out.emplace_back();  // an empty record
  return out;
}

void expectSameAsBuildRequest(const std::vector<Attributes>& batch, uint32_t global_word_count) {
  ReportRequest built;
  ReportBatcher::buildRequest(batch, global_word_count, &built);
  std::string wire;
  ReportEncoder encoder;
  encoder.encode(batch, global_word_count, &wire);
  ReportRequest parsed;
  ASSERT_TRUE(parsed.ParseFromString(wire));
  // The same words in the same order, the same indices, the same values.
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(parsed, built))
      << "encoded:\n"
      << parsed.DebugString() << "\nbuilt:\n"
      << built.DebugString();
  ASSERT_EQ(parsed.default_words_size(), built.default_words_size());
  for (int i = 0; i < built.default_words_size(); ++i) {
    EXPECT_EQ(parsed.default_words(i), built.default_words(i));
  }
  EXPECT_EQ(parsed.repeated_attributes_semantics(), ReportRequest::INDEPENDENT_ENCODING);
  EXPECT_EQ(parsed.global_word_count(), global_word_count);
  // And the records decode back to what went in.
  ASSERT_EQ(parsed.attributes_size(), static_cast<int>(batch.size()));
  for (size_t i = 0; i < batch.size(); ++i) {
    Attributes back;
    ASSERT_TRUE(decompressAttributes(parsed.attributes(static_cast<int>(i)), parsed.default_words(),
                                     &back));
    EXPECT_EQ(back, batch[i]);
  }
}

TEST(ReportEncoderTest, EncodesTheMessageBuildRequestBuilds) {
  expectSameAsBuildRequest(records(), 222);
}

TEST(ReportEncoderTest, EncodesWithTheFallbackDictionary) {
  // With 111 global words, words past them (e.g. destination.service, 152) become default words.
  expectSameAsBuildRequest(records(), kFallbackGlobalWordCount);
}

TEST(ReportEncoderTest, AnEncoderIsReusable) {
  ReportEncoder encoder;
  std::string first, second;
  encoder.encode(records(), 222, &first);
  encoder.encode({records()[1]}, 222, &second);
  ReportRequest parsed;
  ASSERT_TRUE(parsed.ParseFromString(second));
  ReportRequest built;
  ReportBatcher::buildRequest({records()[1]}, 222, &built);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(parsed, built));
}

TEST(ReportEncoderTest, AnEmptyBatch) { expectSameAsBuildRequest({}, 222); }

}  // namespace
}  // namespace mixer::proxy
