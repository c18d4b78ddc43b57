#include "mixer/api/request_decoder.h"

#include <gtest/gtest.h>

#include "mixer/api/attribute_encoder.h"
#include "tests/testing/wire_builder.h"

namespace mixer::api {
namespace {

using attribute::AttributeBag;
using attribute::AttributeValue;
using attribute::StringMapEntry;
using attribute::ValueType;
using testing::lenEntry;
using testing::secondsNanos;
using testing::sintEntry;
using testing::varintEntry;
using testing::WireBuilder;

constexpr int32_t kSourceIp = 0;
constexpr int32_t kRequestPath = 17;
constexpr int32_t kResponseCode = 30;
constexpr int32_t kDestinationService = 152;

// The global index of a word (tests look them up rather than hard-code them).
int32_t g(std::string_view word) { return *globalWordIndex(word); }

std::string checkRequest(const std::string& attributes, uint32_t gwc = 222) {
  return WireBuilder().lenField(1, attributes).varintField(2, gwc).bytes();
}

class RequestDecoderTest : public ::testing::Test {
 protected:
  // Keeps a copy of the request: the bag's values are views into it.
  absl::Status decodeCheck(const std::string& bytes) {
    request_ = bytes;
    view_.clear();
    bag_.clear();
    if (auto s = parseCheckRequest(request_, &view_); !s.ok()) {
      return s;
    }
    return decodeCheckAttributes(&view_, &bag_);
  }
  std::string str(std::string_view name) {
    const AttributeValue* v = bag_.find(name);
    return v == nullptr ? "<absent>" : std::string(v->stringValue());
  }

  std::string request_;
  CheckRequestView view_;
  AttributeBag bag_{attribute::Vocabulary::builtin()};
};

// Bytes written out by hand from the index rule: destination.service (global word 152) is
// "a.b.svc", message word 0 (index -1); request.path (global word 17) is "/x", message word 1 (-2).
TEST_F(RequestDecoderTest, DecodesHandWrittenGoldenCheckRequest) {
  const std::string golden(
      "\x0a\x1a"  // CheckRequest.attributes, 26 bytes
      "\x0a\x07"
      "a.b.svc"  //   words[0]
      "\x0a\x02"
      "/x"                            //   words[1]
      "\x12\x05\x08\xb0\x02\x10\x01"  // strings {152 (zigzag 304): -1 (zigzag 1)}
      "\x12\x04\x08\x22\x10\x03"      //   strings {17 (zigzag 34): -2 (zigzag 3)}
      "\x10\xde\x01"                  // global_word_count 222
      "\x1a\x02"
      "d1",  // deduplication_id "d1"
      35);
  ASSERT_TRUE(decodeCheck(golden).ok()) << decodeCheck(golden);
  EXPECT_EQ(view_.global_word_count, 222u);
  EXPECT_EQ(view_.deduplication_id, "d1");
  EXPECT_EQ(str("destination.service"), "a.b.svc");
  EXPECT_EQ(str("request.path"), "/x");
  EXPECT_EQ(bag_.size(), 2u);

  // The same bytes parse to the same message with the protobuf library.
  istio::mixer::v1::CheckRequest parsed;
  ASSERT_TRUE(parsed.ParseFromString(golden));
  EXPECT_EQ(parsed.attributes().strings().at(kDestinationService), -1);
  EXPECT_EQ(parsed.attributes().strings().at(kRequestPath), -2);
  EXPECT_EQ(parsed.deduplication_id(), "d1");
}

TEST_F(RequestDecoderTest, StringsAreViewsIntoTheRequest) {
  const std::string bytes = checkRequest(
      WireBuilder().lenField(1, "svc").lenField(2, sintEntry(kDestinationService, -1)).bytes());
  ASSERT_TRUE(decodeCheck(bytes).ok());
  const AttributeValue* v = bag_.find("destination.service");
  ASSERT_NE(v, nullptr);
  const char* p = v->stringValue().data();
  EXPECT_GE(p, request_.data());
  EXPECT_LT(p, request_.data() + request_.size());
}

TEST_F(RequestDecoderTest, DecodesEveryValueType) {
  double d = 2.5;
  uint64_t dbits;
  memcpy(&dbits, &d, 8);
  const std::string ip("\x0a\x00\x00\x01", 4);
  const std::string map = WireBuilder()
                              .lenField(1, sintEntry(-2, -3))   // "x-a": "1"
                              .lenField(1, sintEntry(-4, 136))  // "x-b": "200" (global)
                              .bytes();
  const std::string attrs =
      WireBuilder()
          .lenField(1, "my.double")
          .lenField(1, "x-a")
          .lenField(1, "1")
          .lenField(1, "x-b")
          .lenField(1, "my.bytes")
          .lenField(2, sintEntry(kDestinationService, 136))
          .lenField(3, varintEntry(kResponseCode, 404))
          .lenField(4, WireBuilder().sint32Field(1, -1).fixed64Field(2, dbits).bytes())
          .lenField(5, varintEntry(g("connection.mtls"), 1))
          .lenField(6, lenEntry(g("request.time"), secondsNanos(1500000000, 5)))
          .lenField(7, lenEntry(g("response.duration"), secondsNanos(1, 500000000)))
          .lenField(8, lenEntry(kSourceIp, ip))
          .lenField(8, lenEntry(-5, "\x01\x02"))
          .lenField(9, lenEntry(g("request.headers"), map))
          .bytes();
  const auto s = decodeCheck(checkRequest(attrs));
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(str("destination.service"), "200");
  EXPECT_EQ(bag_.find("response.code")->int64Value(), 404);
  EXPECT_EQ(bag_.find("my.double")->type(), ValueType::kDouble);
  EXPECT_EQ(bag_.find("my.double")->doubleValue(), 2.5);
  EXPECT_TRUE(bag_.find("connection.mtls")->boolValue());
  EXPECT_EQ(bag_.find("request.time")->timestampValue(), (attribute::Timestamp{1500000000, 5}));
  EXPECT_EQ(bag_.find("response.duration")->durationValue(), (attribute::Duration{1, 500000000}));
  EXPECT_EQ(bag_.find("source.ip")->type(), ValueType::kIpAddress);
  EXPECT_EQ(bag_.find("source.ip")->stringValue(), ip);
  EXPECT_EQ(bag_.find("my.bytes")->type(), ValueType::kBytes);
  const AttributeValue* headers = bag_.find("request.headers");
  ASSERT_NE(headers, nullptr);
  ASSERT_EQ(headers->mapSize(), 2u);
  std::string_view hv;
  EXPECT_TRUE(headers->mapFind("x-a", &hv));
  EXPECT_EQ(hv, "1");
  EXPECT_TRUE(headers->mapFind("x-b", &hv));
  EXPECT_EQ(hv, "200");
  EXPECT_FALSE(headers->mapFind("x-c", &hv));
}

TEST_F(RequestDecoderTest, RoundTripsThroughTheEncoder) {
  AttributeBag in(attribute::Vocabulary::builtin());
  in.set("destination.service", AttributeValue::string("reviews.default.svc.cluster.local"));
  in.set("request.path", AttributeValue::string("/api"));  // a non-global value word
  in.set("request.size", AttributeValue::int64(-7));
  in.set("custom.attr", AttributeValue::string("GET"));  // an undeclared name, global value
  in.set("source.ip",
         AttributeValue::bytes(std::string_view("\x7f\0\0\x01", 4), ValueType::kIpAddress));
  in.set("response.duration", AttributeValue::duration({0, 2000000}));
  in.set("request.time", AttributeValue::timestamp({1700000000, 0}));
  const StringMapEntry entries[] = {{":path", "/api"}, {"user-agent", "curl"}};
  in.set("request.headers", in.makeStringMap(entries));

  istio::mixer::v1::CheckRequest req;
  encodeAttributes(in, kGlobalWordCount, req.mutable_attributes());
  req.set_global_word_count(kGlobalWordCount);
  const std::string bytes = req.SerializeAsString();  // the bag views these bytes
  ASSERT_TRUE(decodeCheck(bytes).ok());
  EXPECT_EQ(bag_.size(), in.size());
  in.forEach([&](std::string_view name, const AttributeValue& v) {
    const AttributeValue* got = bag_.find(name);
    ASSERT_NE(got, nullptr) << name;
    EXPECT_TRUE(got->equals(v)) << name;
  });
}

TEST_F(RequestDecoderTest, MergesRepeatedAttributesFieldLikeProtobuf) {
  // Two CheckRequest.attributes occurrences merge: words concatenate, so -2 names the second
  // message's first word.
  const std::string bytes = WireBuilder()
                                .lenField(1, WireBuilder().lenField(1, "a").bytes())
                                .lenField(1, WireBuilder()
                                                 .lenField(1, "b")
                                                 .lenField(2, sintEntry(kDestinationService, -2))
                                                 .bytes())
                                .bytes();
  ASSERT_TRUE(decodeCheck(bytes).ok());
  EXPECT_EQ(str("destination.service"), "b");
}

TEST_F(RequestDecoderTest, ParsesQuotasLastOneWins) {
  auto quota = [](std::string_view name, int64_t amount, bool best_effort) {
    return WireBuilder()
        .lenField(1, name)
        .lenField(2, WireBuilder().varintField(1, amount).varintField(2, best_effort).bytes())
        .bytes();
  };
  const std::string bytes = WireBuilder()
                                .lenField(4, quota("rq", 1, false))
                                .lenField(4, quota("other", 3, true))
                                .lenField(4, quota("rq", 5, true))
                                .bytes();
  ASSERT_TRUE(decodeCheck(bytes).ok());
  ASSERT_EQ(view_.quotas.size(), 2u);
  EXPECT_EQ(view_.quotas[0].name, "rq");
  EXPECT_EQ(view_.quotas[0].amount, 5);
  EXPECT_TRUE(view_.quotas[0].best_effort);
  EXPECT_EQ(view_.quotas[1].name, "other");
}

TEST_F(RequestDecoderTest, EmptyRequestIsValid) {
  ASSERT_TRUE(decodeCheck("").ok());
  EXPECT_EQ(bag_.size(), 0u);
  EXPECT_EQ(view_.global_word_count, 0u);
}

TEST_F(RequestDecoderTest, SkipsUnknownFields) {
  const std::string attrs = WireBuilder()
                                .varintField(50, 7)
                                .lenField(1, "x")
                                .lenField(2, sintEntry(kDestinationService, -1))
                                .bytes();
  const std::string bytes = WireBuilder().lenField(1, attrs).fixed64Field(99, 1).bytes();
  ASSERT_TRUE(decodeCheck(bytes).ok());
  EXPECT_EQ(str("destination.service"), "x");
}

struct MalformedCase {
  const char* name;
  std::string attributes;  // CompressedAttributes bytes
  const char* reason;      // expected substring of the error
};

class MalformedTest : public RequestDecoderTest,
                      public ::testing::WithParamInterface<MalformedCase> {};

TEST_P(MalformedTest, IsRejectedWithAReason) {
  const auto s = decodeCheck(checkRequest(GetParam().attributes));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(s.message()).find(GetParam().reason), std::string::npos) << s.message();
}

INSTANTIATE_TEST_SUITE_P(
    Table, MalformedTest,
    ::testing::Values(
        MalformedCase{"global_name_out_of_range",
                      WireBuilder().lenField(2, sintEntry(300, 136)).bytes(),
                      "attribute name: word index 300 is out of range: the global dictionary has "
                      "222 words"},
        MalformedCase{"message_name_missing",
                      WireBuilder().lenField(1, "a").lenField(2, sintEntry(-3, 136)).bytes(),
                      "attribute name: word index -3 refers to message word 2, but the message "
                      "has 1 words"},
        MalformedCase{"value_word_missing",
                      WireBuilder().lenField(2, sintEntry(kDestinationService, -1)).bytes(),
                      "value of attribute 'destination.service': word index -1"},
        MalformedCase{"value_global_out_of_range",
                      WireBuilder().lenField(2, sintEntry(kRequestPath, 222)).bytes(),
                      "value of attribute 'request.path': word index 222 is out of range"},
        MalformedCase{"declared_type_mismatch",
                      WireBuilder().lenField(3, varintEntry(kDestinationService, 5)).bytes(),
                      "attribute 'destination.service' is declared STRING but was sent as an "
                      "INT64"},
        MalformedCase{"string_for_int",
                      WireBuilder().lenField(2, sintEntry(kResponseCode, 136)).bytes(),
                      "attribute 'response.code' is declared INT64 but was sent as a string"},
        MalformedCase{"ip_wrong_length",
                      WireBuilder().lenField(8, lenEntry(kSourceIp, "abc")).bytes(),
                      "attribute 'source.ip' (IP_ADDRESS) has 3 bytes, want 4 or 16"},
        MalformedCase{"timestamp_nanos_out_of_range",
                      WireBuilder()
                          .lenField(6, lenEntry(g("request.time"), secondsNanos(0, 1000000000)))
                          .bytes(),
                      "attribute 'request.time': timestamp (seconds=0, nanos=1000000000) is "
                      "outside"},
        MalformedCase{"duration_sign_mismatch",
                      WireBuilder()
                          .lenField(7, lenEntry(g("response.duration"), secondsNanos(5, -1)))
                          .bytes(),
                      "attribute 'response.duration': invalid duration"},
        MalformedCase{
            "map_key_missing",
            WireBuilder()
                .lenField(9, lenEntry(g("request.headers"),
                                      WireBuilder().lenField(1, sintEntry(-9, 136)).bytes()))
                .bytes(),
            "key of attribute 'request.headers': word index -9"},
        MalformedCase{
            "map_value_missing",
            WireBuilder()
                .lenField(1, "k")
                .lenField(9, lenEntry(g("request.headers"),
                                      WireBuilder().lenField(1, sintEntry(-1, 500)).bytes()))
                .bytes(),
            "value of attribute 'request.headers'[k]: word index 500"},
        MalformedCase{"map_wrong_type",
                      WireBuilder().lenField(9, lenEntry(kRequestPath, "")).bytes(),
                      "attribute 'request.path' is declared STRING but was sent as a STRING_MAP"},
        MalformedCase{"truncated_field", std::string("\x12\x09\x08\x01", 4),
                      "truncated field 2 (strings)"},
        MalformedCase{"wrong_wire_type", WireBuilder().varintField(2, 1).bytes(),
                      "field 2 (strings) has wire type 0, want 2"},
        MalformedCase{
            "bad_entry_value_type",
            WireBuilder()
                .lenField(3, WireBuilder().sint32Field(1, kResponseCode).lenField(2, "x").bytes())
                .bytes(),
            "bad map entry in field 3 (int64s)"},
        MalformedCase{"group_wire_type", std::string("\x0b", 1), "bad field tag"},
        MalformedCase{"overlong_varint",
                      std::string("\x12\x0b\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 13),
                      "bad map entry"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST_F(RequestDecoderTest, RejectsMalformedTopLevel) {
  EXPECT_EQ(decodeCheck(std::string("\x0a\x05\x01", 3)).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(decodeCheck(WireBuilder().lenField(2, "x").bytes()).code(),
            absl::StatusCode::kInvalidArgument);
  const auto s = decodeCheck(WireBuilder().lenField(4, "\x12\x01").bytes());
  EXPECT_NE(std::string(s.message()).find("field 4 (quotas)"), std::string::npos) << s;
}

class ReportDecoderTest : public ::testing::Test {
 protected:
  // Decodes every entry the way the server does and returns destination.service / request.size
  // as seen by each entry ("-" when absent).
  std::vector<std::string> decodeAll(const std::string& bytes) {
    ReportRequestView view;
    EXPECT_TRUE(parseReportRequest(bytes, &view).ok());
    std::vector<std::string> seen;
    bag_.clear();
    for (size_t i = 0; i < view.records.size(); ++i) {
      if (view.semantics == ReportRequestView::Semantics::Independent) {
        bag_.clear();
      }
      auto s = decodeReportRecord(&view, i, &bag_);
      EXPECT_TRUE(s.ok()) << s;
      const AttributeValue* svc = bag_.find("destination.service");
      const AttributeValue* size = bag_.find("request.size");
      seen.push_back(std::string(svc ? svc->stringValue() : "-") + "/" +
                     (size ? std::to_string(size->int64Value()) : "-"));
    }
    return seen;
  }
  AttributeBag bag_{attribute::Vocabulary::builtin()};
};

TEST_F(ReportDecoderTest, DeltaEncodingAccumulates) {
  const std::string bytes =
      WireBuilder()
          .lenField(1, WireBuilder().lenField(2, sintEntry(kDestinationService, -1)).bytes())
          .lenField(1, WireBuilder().lenField(3, varintEntry(g("request.size"), 10)).bytes())
          .lenField(2, "svc-a")  // default_words
          .bytes();
  EXPECT_EQ(decodeAll(bytes), (std::vector<std::string>{"svc-a/-", "svc-a/10"}));
}

TEST_F(ReportDecoderTest, IndependentEncodingStartsEachEntryEmpty) {
  const std::string bytes =
      WireBuilder()
          .lenField(1, WireBuilder().lenField(2, sintEntry(kDestinationService, -1)).bytes())
          .lenField(1, WireBuilder().lenField(3, varintEntry(g("request.size"), 10)).bytes())
          .lenField(2, "svc-a")
          .varintField(4, 1)
          .bytes();
  EXPECT_EQ(decodeAll(bytes), (std::vector<std::string>{"svc-a/-", "-/10"}));
}

TEST_F(ReportDecoderTest, EntryWordsTakePrecedenceOverDefaultWords) {
  const std::string bytes =
      WireBuilder()
          .lenField(1, WireBuilder()
                           .lenField(1, "own")
                           .lenField(2, sintEntry(kDestinationService, -1))
                           .bytes())
          .lenField(1, WireBuilder().lenField(2, sintEntry(kDestinationService, -1)).bytes())
          .lenField(2, "default")
          .varintField(4, 1)
          .bytes();
  EXPECT_EQ(decodeAll(bytes), (std::vector<std::string>{"own/-", "default/-"}));
}

TEST_F(ReportDecoderTest, ErrorsNameTheEntry) {
  const std::string bytes =
      WireBuilder()
          .lenField(1, "")
          .lenField(1, WireBuilder().lenField(2, sintEntry(kDestinationService, -4)).bytes())
          .bytes();
  ReportRequestView view;
  ASSERT_TRUE(parseReportRequest(bytes, &view).ok());
  ASSERT_TRUE(decodeReportRecord(&view, 0, &bag_).ok());
  const auto s = decodeReportRecord(&view, 1, &bag_);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(s.message())
                .find("report entry 1: value of attribute "
                      "'destination.service': word index -4"),
            std::string::npos)
      << s;
}

TEST_F(ReportDecoderTest, RejectsUnknownSemantics) {
  ReportRequestView view;
  const auto s = parseReportRequest(WireBuilder().varintField(4, 7).bytes(), &view);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(s.message()).find("repeated_attributes_semantics 7"), std::string::npos);
}

}  // namespace
}  // namespace mixer::api
