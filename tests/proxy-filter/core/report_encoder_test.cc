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

// `encoder`: one that has encoded before (null: a new one).
void expectSameAsBuildRequest(const std::vector<Attributes>& batch, uint32_t global_word_count,
                              ReportEncoder* encoder = nullptr) {
  ReportRequest built;
  ReportBatcher::buildRequest(batch, global_word_count, &built);
  std::string wire;
  ReportEncoder fresh;
  (encoder != nullptr ? encoder : &fresh)->encode(batch, global_word_count, &wire);
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
  const bool delta = ReportEncoder::deltaEncodable(batch);
  EXPECT_EQ(parsed.repeated_attributes_semantics(),
            delta ? ReportRequest::DELTA_ENCODING : ReportRequest::INDEPENDENT_ENCODING);
  EXPECT_EQ(parsed.global_word_count(), global_word_count);
  // And the records decode back to what went in: into one bag per batch with DELTA_ENCODING (a
  // Mixer server's accumulated bag), into a new one per record with INDEPENDENT_ENCODING.
  ASSERT_EQ(parsed.attributes_size(), static_cast<int>(batch.size()));
  Attributes back;
  for (size_t i = 0; i < batch.size(); ++i) {
    if (!delta) {
      back.clear();
    }
    ASSERT_TRUE(decompressAttributes(parsed.attributes(static_cast<int>(i)), parsed.default_words(),
                                     &back));
    EXPECT_EQ(back, batch[i]) << "record " << i;
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
  std::string first;
  encoder.encode(records(), 222, &first);
  expectSameAsBuildRequest({records()[1]}, 222, &encoder);
}

// Without the empty record, every record of records() holds the same names: DELTA_ENCODING, and
// each record after the first carries only what changed, of every value type.
TEST(ReportEncoderTest, RecordsWithTheSameNamesTravelAsDeltas) {
  std::vector<Attributes> batch = records();
  batch.pop_back();
  ASSERT_TRUE(ReportEncoder::deltaEncodable(batch));
  expectSameAsBuildRequest(batch, 222);
  expectSameAsBuildRequest(batch, kFallbackGlobalWordCount);
  std::string wire;
  ReportEncoder().encode(batch, 222, &wire);
  ReportRequest parsed;
  ASSERT_TRUE(parsed.ParseFromString(wire));
  ASSERT_EQ(parsed.attributes_size(), 3);
  const auto& second = parsed.attributes(1);
  // Changed: request.path; response.code; custom.negative; custom.double; connection.mtls;
  // request.time; response.duration; request.headers (a map travels whole when any entry changed).
  EXPECT_EQ(second.strings_size(), 1);
  EXPECT_EQ(second.int64s_size(), 2);
  EXPECT_EQ(second.doubles_size(), 1);
  EXPECT_EQ(second.bools_size(), 1);
  EXPECT_EQ(second.timestamps_size(), 1);
  EXPECT_EQ(second.durations_size(), 1);
  EXPECT_EQ(second.bytes_size(), 0);
  ASSERT_EQ(second.string_maps_size(), 1);
  EXPECT_EQ(second.string_maps().begin()->second.entries_size(), 3);
  // Repeating a record adds an empty one.
  std::vector<Attributes> repeated{batch[0], batch[0], batch[0]};
  ReportEncoder().encode(repeated, 222, &wire);
  ASSERT_TRUE(parsed.ParseFromString(wire));
  EXPECT_EQ(parsed.repeated_attributes_semantics(), ReportRequest::DELTA_ENCODING);
  EXPECT_EQ(parsed.attributes(1).ByteSizeLong(), 0u);
  EXPECT_EQ(parsed.attributes(2).ByteSizeLong(), 0u);
  expectSameAsBuildRequest(repeated, 222);
}

// A delta needs each record to hold the names of the one before, in any order and with more of its
// own; a record that lacks one sends the whole batch independently encoded.
TEST(ReportEncoderTest, WhichBatchesTravelAsDeltas) {
  auto record = [](std::vector<std::pair<std::string, std::string>> strings) {
    Attributes a;
    for (const auto& [name, value] : strings) {
      a.setString(name, value);
    }
    return a;
  };
  const std::vector<Attributes> reordered{record({{"a.x", "1"}, {"b.y", "2"}}),
                                          record({{"b.y", "2"}, {"a.x", "3"}})};
  EXPECT_TRUE(ReportEncoder::deltaEncodable(reordered));
  expectSameAsBuildRequest(reordered, 222);
  const std::vector<Attributes> grown{record({{"a.x", "1"}}),
                                      record({{"c.z", "0"}, {"a.x", "1"}, {"b.y", "2"}}),
                                      record({{"c.z", "0"}, {"a.x", "1"}, {"b.y", "2"}})};
  EXPECT_TRUE(ReportEncoder::deltaEncodable(grown));
  expectSameAsBuildRequest(grown, 222);
  const std::vector<Attributes> dropped{record({{"a.x", "1"}, {"b.y", "2"}}),
                                        record({{"a.x", "1"}, {"c.z", "2"}})};
  EXPECT_FALSE(ReportEncoder::deltaEncodable(dropped));
  expectSameAsBuildRequest(dropped, 222);
  const std::vector<Attributes> shrunk{record({{"a.x", "1"}, {"b.y", "2"}}),
                                       record({{"a.x", "1"}})};
  EXPECT_FALSE(ReportEncoder::deltaEncodable(shrunk));
  expectSameAsBuildRequest(shrunk, 222);
  // A value of another type under the same name is a change.
  std::vector<Attributes> retyped{record({{"a.x", "1"}}), Attributes()};
  retyped[1].setInt64("a.x", 1);
  EXPECT_TRUE(ReportEncoder::deltaEncodable(retyped));
  expectSameAsBuildRequest(retyped, 222);
}

TEST(ReportEncoderTest, AnEmptyBatch) { expectSameAsBuildRequest({}, 222); }

// The encoder remembers, per string position in a record, the word it found there last and its
// index. Records that repeat, shift (an extra header moves every later string one position on),
// swap words between positions or bring a word first seen at another position must still encode
// exactly as buildRequest builds them.
TEST(ReportEncoderTest, RecordsThatRepeatOrShiftTheirStrings) {
  auto request = [](std::string_view path,
                    std::vector<std::pair<std::string, std::string>> headers) {
    Attributes a;
    a.setString("destination.service", "productpage.default.svc.cluster.local");
    a.setString("request.path", path);
    for (const auto& [k, v] : headers) {
      a.setMapEntry("request.headers", k, v);
    }
    a.setString("custom.after", "tail");
    return a;
  };
  std::vector<Attributes> batch;
  batch.push_back(request("/a", {{"x-user", "alice"}, {"x-b", "1"}}));
  batch.push_back(request("/a", {{"x-user", "alice"}, {"x-b", "1"}}));                // the same
  batch.push_back(request("/a", {{"x-a", "0"}, {"x-user", "alice"}, {"x-b", "1"}}));  // shifted
  batch.push_back(request("alice", {{"x-user", "/a"}, {"x-b", "tail"}}));             // swapped
  batch.push_back(request("/a", {{"x-user", "alice"}, {"x-b", "1"}}));
  batch.push_back(request("/new", {}));  // fewer strings than the records before
  batch.push_back(request("/a", {{"x-user", "bob"}, {"x-b", "1"}}));
  EXPECT_FALSE(ReportEncoder::deltaEncodable(batch));  // "/new" has no headers
  expectSameAsBuildRequest(batch, 222);
  expectSameAsBuildRequest(batch, kFallbackGlobalWordCount);
  // Without it the batch travels as deltas, whose left-out maps keep their strings' positions.
  batch.erase(batch.begin() + 5);
  EXPECT_TRUE(ReportEncoder::deltaEncodable(batch));
  expectSameAsBuildRequest(batch, 222);
  expectSameAsBuildRequest(batch, kFallbackGlobalWordCount);
}

// What the encoder remembers views the records of the batch being encoded: it must not carry over
// to the next batch, whose dictionary starts empty (a word remembered from the batch before would
// travel as an index into default_words that the next message does not hold).
TEST(ReportEncoderTest, NothingIsRememberedFromTheBatchBefore) {
  ReportEncoder encoder;
  auto record = [](std::string_view path) {
    Attributes a;
    a.setString("custom.path", path);
    return a;
  };
  std::string first, second;
  {
    std::vector<Attributes> batch{record("/only/in/the/first"), record("/shared/path/here")};
    encoder.encode(batch, 222, &first);
  }  // the first batch's records are gone
  std::vector<Attributes> next{record("/shared/path/here")};
  encoder.encode(next, 222, &second);
  ReportRequest parsed;
  ASSERT_TRUE(parsed.ParseFromString(second));
  ReportRequest built;
  ReportBatcher::buildRequest(next, 222, &built);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(parsed, built))
      << parsed.DebugString();
  ASSERT_EQ(parsed.default_words_size(), 2);  // the name and the path
  EXPECT_EQ(parsed.default_words(1), "/shared/path/here");
}

// A Check is encoded as the message MixerClient built with compressAttributes before: its words
// in attributes.words, in the same order with the same indices, and byte for byte what protobuf
// serializes for it (a CheckRequest with one quota has no map whose order could differ).
istio::mixer::v1::CheckRequest builtCheck(const Attributes& attributes, uint32_t global_word_count,
                                          const std::string& dedup,
                                          const std::vector<ReportEncoder::CheckQuota>& quotas) {
  istio::mixer::v1::CheckRequest request;
  base::MessageDictionary words = messageWords(global_word_count);
  compressAttributes(attributes, &words, request.mutable_attributes());
  moveWords(&words, request.mutable_attributes()->mutable_words());
  request.set_global_word_count(global_word_count);
  request.set_deduplication_id(dedup);
  for (const auto& q : quotas) {
    auto& params = (*request.mutable_quotas())[std::string(q.name)];
    params.set_amount(q.amount);
    params.set_best_effort(q.best_effort);
  }
  return request;
}

void expectSameCheck(const Attributes& attributes, uint32_t global_word_count,
                     const std::vector<ReportEncoder::CheckQuota>& quotas, ReportEncoder* encoder) {
  const istio::mixer::v1::CheckRequest built =
      builtCheck(attributes, global_word_count, "0a1b2c3d-17", quotas);
  std::string wire;
  encoder->encodeCheck(attributes, global_word_count, "0a1b2c3d-17", quotas, &wire);
  istio::mixer::v1::CheckRequest parsed;
  ASSERT_TRUE(parsed.ParseFromString(wire));
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(parsed, built))
      << "encoded:\n"
      << parsed.DebugString() << "\nbuilt:\n"
      << built.DebugString();
  ASSERT_EQ(parsed.attributes().words_size(), built.attributes().words_size());
  for (int i = 0; i < built.attributes().words_size(); ++i) {
    EXPECT_EQ(parsed.attributes().words(i), built.attributes().words(i));
  }
  Attributes back;
  ASSERT_TRUE(decompressAttributes(parsed.attributes(), parsed.attributes().words(), &back));
  EXPECT_EQ(back, attributes);
}

TEST(ReportEncoderTest, EncodesTheCheckRequestCompressAttributesBuilds) {
  ReportEncoder encoder;
  for (const Attributes& a : records()) {
    expectSameCheck(a, 222, {}, &encoder);
    expectSameCheck(a, kFallbackGlobalWordCount, {}, &encoder);
  }
  expectSameCheck(records()[0], 222, {{"requestcount.quota.istio-system", 1, false}}, &encoder);
  expectSameCheck(records()[1], 222,
                  {{"a.quota", 5, true}, {"b.quota", 0, false}, {"c.quota", -1, true}}, &encoder);
}

TEST(ReportEncoderTest, ACheckWithOneOfEachIsWhatProtobufSerializes) {
  // One attribute per map field and one quota: no map whose order protobuf may choose.
  ReportEncoder encoder;
  const std::vector<ReportEncoder::CheckQuota> quotas{{"requestcount.quota.istio-system", 3, true}};
  std::vector<Attributes> checks(4);
  checks[1].setString("request.path", "/a/path/not/in/the/dictionary");
  checks[2].setString("custom.attribute", "GET");
  checks[2].setInt64("response.code", -7);
  checks[2].setMapEntry("request.headers", "x-user", "alice");
  checks[3].setBool("connection.mtls", true);
  checks[3].setTimestamp("request.time", Timestamp(Duration(1700000000123456789LL)));
  for (const Attributes& a : checks) {
    std::string wire;
    encoder.encodeCheck(a, 222, "0a1b2c3d-17", quotas, &wire);
    EXPECT_EQ(wire, builtCheck(a, 222, "0a1b2c3d-17", quotas).SerializeAsString());
  }
}

// Encoding a Check between two batches of Reports leaves nothing behind in either.
TEST(ReportEncoderTest, ChecksAndReportsShareAnEncoder) {
  ReportEncoder encoder;
  std::string wire;
  encoder.encode(records(), 222, &wire);
  expectSameCheck(records()[2], 222, {}, &encoder);
  expectSameAsBuildRequest({records()[1]}, 222, &encoder);
  expectSameCheck(records()[0], kFallbackGlobalWordCount, {}, &encoder);
}

}  // namespace
}  // namespace mixer::proxy
