// In-process tests of the Check and Report handlers (no network); the integration tests cover
// the same behaviour over gRPC.
#include "mixer/server/mixer_service.h"

#include <gtest/gtest.h>

#include "mixer/api/attribute_encoder.h"
#include "mixer/api/global_dictionary.h"

namespace mixer::server {
namespace {

using istio::mixer::v1::CheckRequest;
using istio::mixer::v1::CheckResponse;
using istio::mixer::v1::ReferencedAttributes;
using istio::mixer::v1::ReportRequest;

class MixerServiceTest : public ::testing::Test {
 protected:
  MixerServiceTest()
      : vocab_(attribute::Vocabulary::builtin()),
        source_(
            std::make_shared<runtime::Dispatcher>(runtime::ConfigSnapshot::empty(vocab_), nullptr)),
        service_(&source_, &metrics_, 4096) {}

  CheckRequest request(std::initializer_list<std::pair<std::string, std::string>> strings) {
    attribute::AttributeBag bag(vocab_);
    for (const auto& [k, v] : strings) {
      bag.set(bag.own(k), attribute::AttributeValue::string(bag.own(v)));
    }
    CheckRequest req;
    api::encodeAttributes(bag, api::kGlobalWordCount, req.mutable_attributes());
    req.set_global_word_count(api::kGlobalWordCount);
    return req;
  }

  std::vector<std::string> names(const ReferencedAttributes& r) {
    std::vector<std::string> out;
    for (const auto& m : r.attribute_matches()) {
      auto n = base::wordAt(m.name(), api::kGlobalWords, r.words());
      EXPECT_TRUE(n.has_value());
      out.push_back((m.condition() == ReferencedAttributes::ABSENCE ? "-" : "") +
                    std::string(n.value_or("")));
    }
    return out;
  }

  ServerMetrics metrics_;
  attribute::VocabularyConstSharedPtr vocab_;
  runtime::FixedDispatcherSource source_;
  MixerService service_;
};

TEST_F(MixerServiceTest, CheckAnswersOkWithIstioDefaultsAndReferences) {
  std::string out;
  const auto s = service_.checkInProcess(
      request({{"destination.service", "a.b.svc"}, {"destination.namespace", "default"}})
          .SerializeAsString(),
      &out);
  ASSERT_TRUE(s.ok()) << s.error_message();
  CheckResponse resp;
  ASSERT_TRUE(resp.ParseFromString(out));
  const auto& p = resp.precondition();
  EXPECT_TRUE(p.has_status());
  EXPECT_EQ(p.status().code(), 0);
  EXPECT_EQ(p.valid_duration().seconds(), 60);
  EXPECT_EQ(p.valid_use_count(), 10000);
  EXPECT_EQ(names(p.referenced_attributes()),
            (std::vector<std::string>{"-context.reporter.kind", "destination.namespace"}));
  EXPECT_TRUE(resp.quotas().empty());
}

TEST_F(MixerServiceTest, UnhandledQuotaGrantsNothingAndIsCounted) {
  auto req = request({{"context.reporter.kind", "outbound"}});
  (*req.mutable_quotas())["requestcount"].set_amount(3);
  std::string out;
  ASSERT_TRUE(service_.checkInProcess(req.SerializeAsString(), &out).ok());
  CheckResponse resp;
  ASSERT_TRUE(resp.ParseFromString(out));
  ASSERT_EQ(resp.quotas().count("requestcount"), 1u);
  const auto& q = resp.quotas().at("requestcount");
  EXPECT_EQ(q.granted_amount(), 0);
  EXPECT_FALSE(q.has_valid_duration());
  EXPECT_EQ(names(q.referenced_attributes()),
            (std::vector<std::string>{"context.reporter.kind", "-source.namespace"}));
  EXPECT_EQ(metrics_.quotaUnmatched().Value(), 1);
}

TEST_F(MixerServiceTest, DictionaryNewerThanOursIsInternalAsInIstio) {
  auto req = request({});
  req.set_global_word_count(223);
  std::string out;
  const auto s = service_.checkInProcess(req.SerializeAsString(), &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_NE(s.error_message().find("mixer knows 222 words, caller knows 223"), std::string::npos);
  ReportRequest report;
  report.set_global_word_count(300);
  EXPECT_EQ(service_.reportInProcess(report.SerializeAsString()).error_code(),
            grpc::StatusCode::INTERNAL);
}

TEST_F(MixerServiceTest, MalformedCheckIsInvalidArgumentWithReason) {
  std::string out;
  const auto s = service_.checkInProcess(std::string("\x0a\x04\x12\x02\x08\x00", 6), &out);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find(
                "attribute 'source.ip' is declared IP_ADDRESS but was sent as a string"),
            std::string::npos)
      << s.error_message();
}

TEST_F(MixerServiceTest, ReportCountsRecordsAndNamesTheBadEntry) {
  ReportRequest report;
  report.add_default_words("svc");
  (*report.add_attributes()->mutable_strings())[152] = -1;
  (*report.add_attributes()->mutable_strings())[152] = -1;
  ASSERT_TRUE(service_.reportInProcess(report.SerializeAsString()).ok());
  EXPECT_EQ(metrics_.reportRecords().Value(), 2);

  (*report.add_attributes()->mutable_strings())[152] = -7;
  const auto s = service_.reportInProcess(report.SerializeAsString());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("report entry 2"), std::string::npos) << s.error_message();
  EXPECT_NE(s.error_message().find("2 earlier entries were accepted"), std::string::npos);
}

}  // namespace
}  // namespace mixer::server
