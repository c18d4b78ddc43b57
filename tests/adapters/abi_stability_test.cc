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

  auto errors = adapter->validateParams(Value::map());
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].toString(), "params.deny_user: required: a string shorter than 64 bytes");

  auto handler = adapter->createHandler("h", Value::map({{"deny_user", Value::string("mallory")}}));
  ASSERT_TRUE(handler.ok()) << handler.status();
  Instance alice{"i.checknothing", "checknothing", Value::map({{"user", Value::string("alice")}})};
  Instance mallory{"i.checknothing", "checknothing",
                   Value::map({{"user", Value::string("mallory")}})};
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

}  // namespace
}  // namespace mixer::adapter_host
