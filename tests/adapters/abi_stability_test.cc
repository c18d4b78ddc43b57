// The ABI stays append-only: the 1.0 layout is unchanged in the current header, and an adapter
// built against the frozen 1.0 header keeps working in the current host.
#include <cstddef>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mixer/adapter_host/adapter_registry.h"
#include "mixer/adapter_host/host_services.h"

extern "C" {
extern const long long mixer_abi_layout_v1_0[];
extern const size_t mixer_abi_layout_v1_0_count;
}

namespace mixer::adapter_host {
namespace {

struct Entry {
  const char* what;
  long long value;
};

#define FIELD(s, f) {#s "." #f, static_cast<long long>(offsetof(s, f))},
#define EXACT_SIZE(s) {"sizeof(" #s ")", static_cast<long long>(sizeof(s))},
#define CONSTANT(c) {#c, static_cast<long long>(c)},
const Entry kCurrent[] = {
#include "abi/layout_fields.inc"
};
#undef FIELD
#undef EXACT_SIZE
#undef CONSTANT

TEST(AbiStabilityTest, VersionOneLayoutIsUnchanged) {
  ASSERT_EQ(mixer_abi_layout_v1_0_count, sizeof(kCurrent) / sizeof(kCurrent[0]));
  for (size_t i = 0; i < mixer_abi_layout_v1_0_count; ++i) {
    EXPECT_EQ(kCurrent[i].value, mixer_abi_layout_v1_0[i])
        << kCurrent[i].what << " changed since ABI 1.0; only appending is allowed";
  }
}

class AbiFixtureTest : public ::testing::TestWithParam<std::string> {
 protected:
  AbiFixtureTest() : services_(&counters_, &executor_, nullptr), registry_(&services_) {}
  ~AbiFixtureTest() override { executor_.shutdown(); }

  InMemoryCounterRegistry counters_;
  BackgroundExecutor executor_{1};
  HostServices services_;
  AdapterRegistry registry_;
};

TEST_P(AbiFixtureTest, LoadsValidatesChecksAndReports) {
  const std::string name = GetParam();
  absl::Status loaded = registry_.loadFile(std::string(ABI_FIXTURE_DIR) + "/" + name + ".so");
  ASSERT_TRUE(loaded.ok()) << loaded;
  auto adapter = registry_.find(name);
  ASSERT_NE(adapter, nullptr);
  EXPECT_EQ(adapter->info().kindsString(), "check,report");
  if (name == "abi_v1_0") {
    EXPECT_EQ(adapter->info().abiVersionString(), "1.0");
  }

  auto errors = adapter->validateParams(AbiValue::map());
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].toString(), "params.deny_user: required: a string shorter than 64 bytes");

  auto handler =
      adapter->createHandler("h", AbiValue::map({{"deny_user", AbiValue::string("mallory")}}));
  ASSERT_TRUE(handler.ok()) << handler.status();
  Instance alice{"i.checknothing", "checknothing",
                 AbiValue::map({{"user", AbiValue::string("alice")}})};
  Instance mallory{"i.checknothing", "checknothing",
                   AbiValue::map({{"user", AbiValue::string("mallory")}})};
  auto allowed = (*handler)->checkAndWait(alice, absl::Seconds(1));
  ASSERT_TRUE(allowed.ok()) << allowed.status();
  EXPECT_TRUE(allowed->status.ok());
  EXPECT_EQ(allowed->valid_duration, absl::Seconds(2));
  EXPECT_EQ(allowed->valid_use_count, 4);
  auto denied = (*handler)->checkAndWait(mallory, absl::Seconds(1));
  ASSERT_TRUE(denied.ok()) << denied.status();
  EXPECT_EQ(denied->status.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(std::string(denied->status.message()), "denied mallory");
  EXPECT_TRUE((*handler)->reportAndWait({&alice, &mallory}, absl::Seconds(1)).ok());
}

INSTANTIATE_TEST_SUITE_P(Builds, AbiFixtureTest, ::testing::Values("abi_v1_0", "abi_current"));

// ABI 1.2's generate hook: an adapter built against 1.0 does not serve it (its descriptor ends
// before the field); one built for 1.2 is called and its outputs cross back.
TEST_F(AbiFixtureTest, OnlyAnAdapterBuiltForOneTwoServesGenerate) {
  ASSERT_TRUE(registry_.loadFile(std::string(ABI_FIXTURE_DIR) + "/abi_v1_0.so").ok());
  ASSERT_TRUE(registry_.loadFile(std::string(ABI_FIXTURE_DIR) + "/abi_generator.so").ok());
  auto old = registry_.find("abi_v1_0");
  ASSERT_NE(old, nullptr);
  EXPECT_FALSE(old->serves(MIXER_KIND_GENERATE));
  auto old_handler =
      old->createHandler("h", AbiValue::map({{"deny_user", AbiValue::string("mallory")}}));
  ASSERT_TRUE(old_handler.ok()) << old_handler.status();
  Instance in{"i.kubernetes", "kubernetes", AbiValue::map()};
  EncodedInstance encoded_in(in);
  auto refused = (*old_handler)->generateAndWait(*encoded_in.get(), absl::Seconds(1));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnimplemented) << refused.status();

  auto gen = registry_.find("abi_generator");
  ASSERT_NE(gen, nullptr);
  EXPECT_EQ(gen->info().kindsString(), "generate");
  EXPECT_EQ(gen->info().abiVersionString(),
            std::to_string(MIXER_ADAPTER_ABI_VERSION_MAJOR) + "." +
                std::to_string(MIXER_ADAPTER_ABI_VERSION_MINOR));  // built against this header
  auto handler = gen->createHandler(
      "g", AbiValue::map({{"labels", AbiValue::map({{"app", AbiValue::string("reviews")}})}}));
  ASSERT_TRUE(handler.ok()) << handler.status();
  Instance instance{
      "attributes.kubernetes", "kubernetes",
      AbiValue::map({{"source_uid", AbiValue::string("kubernetes://reviews-v2.prod")},
                     {"source_ip", AbiValue::ipAddress(std::string("\x0a\x01\x00\x02", 4))}})};
  EncodedInstance encoded(instance);
  auto outputs = (*handler)->generateAndWait(*encoded.get(), absl::Seconds(1));
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  ASSERT_NE(outputs->find("source_pod_name"), nullptr);
  EXPECT_EQ(outputs->find("source_pod_name")->stringValue(), "reviews-v2");
  EXPECT_EQ(outputs->find("source_namespace")->stringValue(), "prod");
  EXPECT_EQ(outputs->find("source_pod_ip")->stringValue(), std::string("\x0a\x01\x00\x02", 4));
  ASSERT_NE(outputs->find("source_labels"), nullptr);
  EXPECT_EQ(outputs->find("source_labels")->find("app")->stringValue(), "reviews");

  auto failing = gen->createHandler("f", AbiValue::map({{"fail", AbiValue::boolean(true)}}));
  ASSERT_TRUE(failing.ok()) << failing.status();
  auto failed = (*failing)->generateAndWait(*encoded.get(), absl::Seconds(1));
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kUnavailable) << failed.status();
}

}  // namespace
}  // namespace mixer::adapter_host
