// The SDK's quota params (quota_params.h), shared by memquota and redisquota: what valid params
// read as, every error with its path and text, and the rules where the two adapters differ.
#include "mixer/adapter_sdk/quota_params.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mixer/adapter_host/value.h"
#include "mixer/adapter_host/yaml_params.h"

namespace mixer::adapter_sdk {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

class QuotaParamsTest : public ::testing::Test {
 protected:
  // Reads the `quotas` of the YAML params `text` with `rules`; errors land in errors_.
  std::vector<QuotaParams> read(const std::string& text, const QuotaParamsRules& rules = {}) {
    std::vector<adapter_host::ParamError> yaml_errors;
    value_ = adapter_host::valueFromYaml(YAML::Load(text), "params", &yaml_errors);
    EXPECT_THAT(yaml_errors, IsEmpty());
    encoded_ = std::make_unique<adapter_host::EncodedValue>(value_);
    errors_.clear();
    mixer_error_sink sink{sizeof(mixer_error_sink), 0, this, &QuotaParamsTest::collect};
    ErrorSink errors(&sink);
    std::vector<QuotaParams> out =
        readQuotaParams(ValueView(encoded_->get()).find("quotas"), rules, errors);
    EXPECT_EQ(errors.count(), static_cast<int>(errors_.size()));
    return out;
  }
  static void collect(void* ctx, const char* path, const char* message) {
    static_cast<QuotaParamsTest*>(ctx)->errors_.push_back(std::string(path) + ": " + message);
  }

  adapter_host::AbiValue value_;
  std::unique_ptr<adapter_host::EncodedValue> encoded_;
  std::vector<std::string> errors_;
};

TEST_F(QuotaParamsTest, ReadsQuotasWithOverridesInEitherSpelling) {
  QuotaParamsRules rules;
  rules.override_valid_duration = true;
  std::vector<QuotaParams> q = read(R"(
quotas:
- name: requestcount.quota.istio-system
  maxAmount: 500
  valid_duration: 1s
  bucketDuration: 100ms
  rateLimitAlgorithm: FIXED_WINDOW
  overrides:
  - dimensions: {destination: ratings, code: 200}
    max_amount: 10
  - dimensions: {source: admin}
    validDuration: 5s
- name: other
  rate_limit_algorithm: 1
)",
                                    rules);
  EXPECT_THAT(errors_, IsEmpty());
  ASSERT_EQ(q.size(), 2u);
  EXPECT_EQ(q[0].path, "quotas[0]");
  EXPECT_EQ(q[0].name, "requestcount.quota.istio-system");
  EXPECT_EQ(q[0].max_amount, 500);
  EXPECT_EQ(q[0].valid_duration_ns, 1'000'000'000);
  EXPECT_EQ(q[0].bucket_duration_ns, 100'000'000);
  EXPECT_EQ(q[0].algorithm, QuotaAlgorithm::kFixedWindow);
  ASSERT_EQ(q[0].overrides.size(), 2u);
  // Dimensions are text, sorted by name.
  EXPECT_THAT(q[0].overrides[0].dimensions,
              ElementsAre(Pair("code", "200"), Pair("destination", "ratings")));
  EXPECT_EQ(q[0].overrides[0].max_amount, 10);
  EXPECT_EQ(q[0].overrides[0].valid_duration_ns, std::nullopt);  // left to the adapter
  EXPECT_EQ(q[0].overrides[1].max_amount, std::nullopt);
  EXPECT_EQ(q[0].overrides[1].valid_duration_ns, 5'000'000'000);
  EXPECT_EQ(q[1].algorithm, QuotaAlgorithm::kRollingWindow);  // the enum's number
  EXPECT_EQ(q[1].max_amount, 0);
  EXPECT_EQ(q[1].valid_duration_ns, 0);
}

TEST_F(QuotaParamsTest, TheAlgorithmDefaultsByRule) {
  QuotaParamsRules rules;
  rules.default_algorithm = QuotaAlgorithm::kFixedWindow;
  EXPECT_EQ(read("quotas: [{name: a}]", rules).at(0).algorithm, QuotaAlgorithm::kFixedWindow);
  rules.default_algorithm = QuotaAlgorithm::kRollingWindow;
  EXPECT_EQ(read("quotas: [{name: a}]", rules).at(0).algorithm, QuotaAlgorithm::kRollingWindow);
}

TEST_F(QuotaParamsTest, ReportsEveryErrorWithItsPath) {
  QuotaParamsRules rules;
  rules.override_valid_duration = true;
  std::vector<QuotaParams> q = read(R"(
quotas:
- name: q
  maxAmount: -1
  validDuration: forever
  bucketDuration: 7
  rateLimitAlgorithm: SLIDING
  colour: red
  overrides:
  - {maxAmount: 3, validDuration: soon}
  - dimensions: {}
  - just text
- {maxAmount: 1}
- name: q
- 42
- name: r
  overrides: {dimensions: {a: b}}
)",
                                    rules);
  EXPECT_THAT(
      errors_,
      UnorderedElementsAre(
          "quotas[0].colour: unknown field 'colour'",
          "quotas[0].max_amount: must be between 0 and 9223372036854775807, got -1",
          "quotas[0].valid_duration: invalid duration 'forever' (expected e.g. \"5s\", \"100ms\")",
          "quotas[0].bucket_duration: expected a duration, got int64",
          "quotas[0].rate_limit_algorithm: expected ROLLING_WINDOW or FIXED_WINDOW",
          "quotas[0].overrides[0].valid_duration: invalid duration 'soon' (expected e.g. \"5s\", "
          "\"100ms\")",
          "quotas[0].overrides[0].dimensions: required: a non-empty map",
          "quotas[0].overrides[1].dimensions: required: a non-empty map",
          "quotas[0].overrides[2]: expected a map {dimensions, max_amount, valid_duration}",
          "quotas[1].name: required: a non-empty string", "quotas[2].name: duplicate quota 'q'",
          "quotas[3]: expected a map {name, max_amount, valid_duration, overrides}",
          "quotas[4].overrides: expected a list"));
  // Entries that are maps are read (paths keep their index); the others are left out.
  ASSERT_EQ(q.size(), 4u);
  EXPECT_EQ(q[3].path, "quotas[4]");
  EXPECT_EQ(q[3].name, "r");
}

TEST_F(QuotaParamsTest, RulesSetRequiredQuotasTheMaxAmountLimitAndOverrideFields) {
  QuotaParamsRules rules;
  rules.required = true;
  rules.max_amount_limit = 100;
  rules.default_algorithm = QuotaAlgorithm::kFixedWindow;
  read("{}", rules);
  EXPECT_THAT(errors_, ElementsAre("quotas: required: a non-empty list"));
  read("quotas: []", rules);
  EXPECT_THAT(errors_, ElementsAre("quotas: required: a non-empty list"));
  read(R"(
quotas:
- name: a
  maxAmount: 101
  rateLimitAlgorithm: SLIDING
  overrides:
  - {dimensions: {u: v}, maxAmount: 200, validDuration: 1s}
  - 7
)",
       rules);
  EXPECT_THAT(errors_,
              UnorderedElementsAre(
                  "quotas[0].max_amount: must be between 0 and 100, got 101",
                  "quotas[0].rate_limit_algorithm: expected FIXED_WINDOW or ROLLING_WINDOW",
                  "quotas[0].overrides[0].max_amount: must be between 0 and 100, got 200",
                  "quotas[0].overrides[0].validDuration: unknown field 'validDuration'",
                  "quotas[0].overrides[1]: expected a map {dimensions, max_amount}"));
}

TEST_F(QuotaParamsTest, AbsentOrMistypedQuotasWithoutTheRequiredRule) {
  EXPECT_THAT(read("{}"), IsEmpty());
  EXPECT_THAT(errors_, IsEmpty());
  EXPECT_THAT(read("quotas: {name: a}"), IsEmpty());
  EXPECT_THAT(errors_, ElementsAre("quotas: expected a list"));
}

TEST(QuotaDimensionsTest, EveryValueTypeHasItsText) {
  using adapter_host::AbiValue;
  const AbiValue map = AbiValue::map({{"s", AbiValue::string("x")},
                                      {"i", AbiValue::int64(-3)},
                                      {"b", AbiValue::boolean(true)},
                                      {"d", AbiValue::durationNs(5)},
                                      {"l", AbiValue::list({AbiValue::string("y")})}});
  adapter_host::EncodedValue encoded(map);
  EXPECT_THAT(readQuotaDimensions(ValueView(encoded.get())),
              ElementsAre(Pair("b", "true"), Pair("d", "5"), Pair("i", "-3"), Pair("l", ""),
                          Pair("s", "x")));
  EXPECT_THAT(readQuotaDimensions(ValueView()), IsEmpty());
}

}  // namespace
}  // namespace mixer::adapter_sdk
