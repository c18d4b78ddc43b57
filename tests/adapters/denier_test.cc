// The denier adapter, loaded from the build's adapter folder like any third-party adapter.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mixer/adapter_host/adapter_registry.h"
#include "mixer/adapter_host/host_services.h"
#include "mixer/adapter_host/yaml_params.h"

namespace mixer::adapter_host {
namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

class DenierTest : public ::testing::Test {
 protected:
  DenierTest() : services_(&counters_, &executor_, nullptr), registry_(&services_) {}
  ~DenierTest() override { executor_.shutdown(); }

  void SetUp() override {
    ASSERT_TRUE(registry_.loadFile(std::string(ADAPTER_DIR) + "/denier.so").ok());
    denier_ = registry_.find("denier");
    ASSERT_NE(denier_, nullptr);
  }

  static AbiValue yaml(const std::string& text) {
    std::vector<ParamError> errors;
    AbiValue v = valueFromYaml(YAML::Load(text), "params", &errors);
    EXPECT_TRUE(errors.empty());
    return v;
  }
  absl::StatusOr<AdapterCheckResult> check(const AbiValue& params) {
    auto handler = denier_->createHandler("deny", params);
    EXPECT_TRUE(handler.ok()) << handler.status();
    if (!handler.ok()) {
      return handler.status();
    }
    Instance instance{"denyrequest.checknothing", "checknothing", AbiValue::map()};
    return (*handler)->checkAndWait(instance, absl::Seconds(1));
  }
  std::vector<std::string> errors(const AbiValue& params) {
    std::vector<std::string> out;
    for (const ParamError& e : denier_->validateParams(params)) {
      out.push_back(e.toString());
    }
    return out;
  }

  InMemoryCounterRegistry counters_;
  BackgroundExecutor executor_{1};
  HostServices services_;
  AdapterRegistry registry_;
  std::shared_ptr<const LoadedAdapter> denier_;
};

TEST_F(DenierTest, DescribesItselfAsIstiosDenier) {
  EXPECT_EQ(denier_->info().kindsString(), "check,quota");
  EXPECT_THAT(denier_->info().templates, ElementsAre("checknothing", "listentry", "quota"));
}

TEST_F(DenierTest, DefaultsAreFailedPreconditionForFiveSecondsAndAThousandUses) {
  auto result = check(AbiValue());
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(result->valid_duration, absl::Seconds(5));
  EXPECT_EQ(result->valid_use_count, 1000);
}

// The handler of Istio's bookinfo sample (mixer-rule-deny-label.yaml).
TEST_F(DenierTest, ReturnsTheConfiguredStatus) {
  auto result = check(yaml("status: {code: 7, message: Not allowed}"));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->status.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(std::string(result->status.message()), "Not allowed");
}

TEST_F(DenierTest, ReturnsTheConfiguredValidDurationAndUseCount) {
  auto result = check(yaml("status: {code: 16}\nvalid_duration: 1m30s\nvalid_use_count: 3"));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->status.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(result->valid_duration, absl::Seconds(90));
  EXPECT_EQ(result->valid_use_count, 3);
}

TEST_F(DenierTest, AStatusWithoutACodeAllows) {
  auto result = check(yaml("status: {message: fine}"));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->status.ok());
}

TEST_F(DenierTest, ValidationReportsEveryErrorWithItsPath) {
  EXPECT_THAT(errors(yaml("status: {code: 17, message: 5}\nvalid_duration: forever\n"
                          "valid_use_count: -1\nvalid_uses: 3")),
              UnorderedElementsAre(
                  "params.valid_uses: unknown field 'valid_uses'",
                  "params.status.code: must be between 0 and 16, got 17",
                  "params.status.message: expected a string",
                  "params.valid_duration: invalid duration 'forever' (expected e.g. \"5s\", "
                  "\"100ms\")",
                  "params.valid_use_count: must be between 0 and 2147483647, got -1"));
  EXPECT_THAT(errors(yaml("status: 7")),
              ElementsAre("params.status: expected a map {code, message}"));
  EXPECT_TRUE(errors(yaml("status: {code: 7}\nvalid_duration: 10s")).empty());
  EXPECT_FALSE(denier_->createHandler("bad", yaml("status: {code: 99}")).ok());
}

TEST_F(DenierTest, QuotaGrantsNothing) {
  auto handler = denier_->createHandler("deny", AbiValue());
  ASSERT_TRUE(handler.ok());
  Instance instance{"requestcount.quota", "quota", AbiValue::map()};
  auto result =
      (*handler)->quotaAndWait(instance, AdapterQuotaArgs{5, true, "d1"}, absl::Seconds(1));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->granted_amount, 0);
}

TEST_F(DenierTest, DoesNotServeReport) {
  auto handler = denier_->createHandler("deny", AbiValue());
  ASSERT_TRUE(handler.ok());
  Instance instance{"i.reportnothing", "reportnothing", AbiValue::map()};
  EXPECT_EQ((*handler)->reportAndWait({&instance}, absl::Seconds(1)).code(),
            absl::StatusCode::kUnimplemented);
}

}  // namespace
}  // namespace mixer::adapter_host
