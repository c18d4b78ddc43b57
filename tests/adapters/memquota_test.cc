// memquota: the algorithms with an explicit clock (QuotaStore), then the adapter loaded from the
// build's adapter folder like any third-party adapter.
#include <atomic>
#include <thread>

#include "adapters/memquota/quota_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mixer/adapter_host/adapter_registry.h"
#include "mixer/adapter_host/host_services.h"
#include "mixer/adapter_host/yaml_params.h"

namespace {

using memquota::Algorithm;
using memquota::Dimensions;
using memquota::QuotaSpec;
using memquota::QuotaStore;

constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kMs = 1'000'000;
constexpr int64_t kT0 = 1000 * kSec;  // an arbitrary start, aligned to a second

QuotaSpec spec(int64_t max, int64_t window_ns, Algorithm algo = Algorithm::kRollingWindow) {
  QuotaSpec q;
  q.name = "requestcount";
  q.limit = {max, window_ns, algo};
  return q;
}

TEST(QuotaStoreTest, RollingWindowReturnsQuotaOnlyWhenItsSlotLeavesTheWindow) {
  QuotaStore store({spec(10, 1 * kSec)}, kSec);
  const QuotaSpec& q = *store.find("requestcount");
  EXPECT_EQ(store.alloc(q, {}, 6, false, "", kT0).granted, 6);
  EXPECT_EQ(store.alloc(q, {}, 4, false, "", kT0 + 500 * kMs).granted, 4);
  EXPECT_EQ(store.alloc(q, {}, 1, false, "", kT0 + 999 * kMs).granted, 0);
  // At +1s the first 6 leave the window (their 100ms slot is a whole window old); the 4 remain.
  EXPECT_EQ(store.alloc(q, {}, 7, false, "", kT0 + 1000 * kMs).granted, 0);
  EXPECT_EQ(store.alloc(q, {}, 6, false, "", kT0 + 1000 * kMs).granted, 6);
  EXPECT_EQ(store.alloc(q, {}, 1, false, "", kT0 + 1499 * kMs).granted, 0);
  EXPECT_EQ(store.alloc(q, {}, 4, false, "", kT0 + 1500 * kMs).granted, 4);
}

TEST(QuotaStoreTest, FixedWindowResetsAtTheBoundary) {
  QuotaStore store({spec(3, 1 * kSec, Algorithm::kFixedWindow)}, kSec);
  const QuotaSpec& q = *store.find("requestcount");
  EXPECT_EQ(store.alloc(q, {}, 3, false, "", kT0 + 900 * kMs).granted, 3);
  EXPECT_EQ(store.alloc(q, {}, 1, false, "", kT0 + 999 * kMs).granted, 0);
  EXPECT_EQ(store.alloc(q, {}, 3, false, "", kT0 + 1000 * kMs).granted, 3);  // a rolling one: 0
  EXPECT_EQ(store.alloc(q, {}, 1, false, "", kT0 + 1999 * kMs).granted, 0);
}

TEST(QuotaStoreTest, ZeroValidDurationIsAPlainCounter) {
  QuotaStore store({spec(2, 0)}, kSec);
  const QuotaSpec& q = *store.find("requestcount");
  EXPECT_EQ(store.alloc(q, {}, 2, false, "", kT0).granted, 2);
  EXPECT_EQ(store.alloc(q, {}, 1, false, "", kT0 + 3600 * kSec).granted, 0);
  EXPECT_EQ(store.alloc(q, {}, -1, false, "", kT0 + 3600 * kSec).granted, 0);  // release
  EXPECT_EQ(store.alloc(q, {}, 1, false, "", kT0 + 3600 * kSec).granted, 1);
}

TEST(QuotaStoreTest, BestEffortGrantsWhatIsLeftOtherwiseAllOrNothing) {
  QuotaStore store({spec(5, 10 * kSec)}, kSec);
  const QuotaSpec& q = *store.find("requestcount");
  EXPECT_EQ(store.alloc(q, {}, 3, false, "", kT0).granted, 3);
  EXPECT_EQ(store.alloc(q, {}, 3, false, "", kT0).granted, 0);
  EXPECT_EQ(store.alloc(q, {}, 3, true, "", kT0).granted, 2);
  EXPECT_EQ(store.alloc(q, {}, 1, true, "", kT0).granted, 0);
}

TEST(QuotaStoreTest, ReleaseReturnsNewestSlotsFirst) {
  QuotaStore store({spec(10, 1 * kSec)}, kSec);
  const QuotaSpec& q = *store.find("requestcount");
  EXPECT_EQ(store.alloc(q, {}, 5, false, "", kT0).granted, 5);
  EXPECT_EQ(store.alloc(q, {}, 5, false, "", kT0 + 500 * kMs).granted, 5);
  store.alloc(q, {}, -5, false, "", kT0 + 600 * kMs);  // returns the +500ms grant
  EXPECT_EQ(store.alloc(q, {}, 5, false, "", kT0 + 600 * kMs).granted, 5);
  EXPECT_EQ(store.alloc(q, {}, 1, false, "", kT0 + 900 * kMs).granted, 0);
  // The t0 grant (not the released one) leaves at +1s.
  EXPECT_EQ(store.alloc(q, {}, 5, false, "", kT0 + 1000 * kMs).granted, 5);
}

TEST(QuotaStoreTest, OverridesMatchByDimensionsFirstMatchWinsAndKeysAreSeparate) {
  QuotaSpec q = spec(5, 10 * kSec);
  q.overrides.push_back({{{"source", "reviews"}}, {1, 10 * kSec, Algorithm::kRollingWindow}});
  q.overrides.push_back(
      {{{"source", "reviews"}, {"dest", "ratings"}}, {100, 10 * kSec, Algorithm::kRollingWindow}});
  QuotaStore store({q}, kSec);
  const QuotaSpec& s = *store.find("requestcount.quota.istio-system");
  Dimensions reviews{{"dest", "ratings"}, {"source", "reviews"}};
  Dimensions other{{"dest", "ratings"}, {"source", "productpage"}};
  EXPECT_EQ(QuotaStore::limitFor(s, reviews).max_amount, 1);
  EXPECT_EQ(store.alloc(s, reviews, 1, false, "", kT0).granted, 1);
  EXPECT_EQ(store.alloc(s, reviews, 1, false, "", kT0).granted, 0);
  EXPECT_EQ(store.alloc(s, other, 5, false, "", kT0).granted, 5);  // its own key, default limit
}

TEST(QuotaStoreTest, GrantsTellTheLimitThatAppliedAndWhatIsLeft) {
  QuotaSpec q = spec(3, 10 * kSec);
  q.overrides.push_back({{{"source", "vip"}}, {10, 10 * kSec, Algorithm::kRollingWindow}});
  QuotaStore store({q}, kSec);
  const QuotaSpec& s = *store.find("requestcount");
  memquota::Grant g = store.alloc(s, {}, 2, false, "", kT0);
  EXPECT_EQ(g.limit, 3);
  EXPECT_EQ(g.remaining, 1);
  g = store.alloc(s, {}, 2, false, "", kT0);  // refused: nothing charged
  EXPECT_EQ(g.granted, 0);
  EXPECT_EQ(g.remaining, 1);
  g = store.alloc(s, {{"source", "vip"}}, 4, false, "", kT0);
  EXPECT_EQ(g.limit, 10);
  EXPECT_EQ(g.remaining, 6);
}

TEST(QuotaStoreTest, DeduplicationIdReturnsTheFirstAnswerWithinTheWindow) {
  QuotaStore store({spec(3, 0)}, 1 * kSec);
  const QuotaSpec& q = *store.find("requestcount");
  EXPECT_EQ(store.alloc(q, {}, 2, false, "req-1", kT0).granted, 2);
  EXPECT_EQ(store.alloc(q, {}, 2, false, "req-1", kT0 + 500 * kMs).granted, 2);  // not charged
  EXPECT_EQ(store.alloc(q, {}, 1, false, "req-2", kT0 + 600 * kMs).granted, 1);
  EXPECT_EQ(store.alloc(q, {}, 1, false, "req-3", kT0 + 700 * kMs).granted, 0);
  // Kept at most 2x min_deduplication_duration: long after, req-1 is charged again.
  EXPECT_EQ(store.alloc(q, {}, 3, false, "x", kT0 + 5 * kSec).granted, 0);
  EXPECT_EQ(store.alloc(q, {}, 1, false, "y", kT0 + 7 * kSec).granted, 0);
  EXPECT_EQ(store.alloc(q, {}, 1, false, "req-1", kT0 + 9 * kSec).granted, 0);
}

TEST(QuotaStoreTest, ConcurrentCallersNeverOverGrant) {
  QuotaStore store({spec(10000, 0)}, kSec);
  const QuotaSpec& q = *store.find("requestcount");
  std::atomic<int64_t> granted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      Dimensions dims{{"k", std::to_string(t % 2)}};
      for (int i = 0; i < 10000; ++i) {
        granted += store.alloc(q, dims, 1, false, "", kT0).granted;
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  EXPECT_EQ(granted.load(), 20000);  // two keys, 10000 each
}

// Through the ABI, as mixs runs it.
class MemQuotaAdapterTest : public ::testing::Test {
 protected:
  MemQuotaAdapterTest() : services_(&counters_, &executor_, nullptr), registry_(&services_) {}
  ~MemQuotaAdapterTest() override { executor_.shutdown(); }
  void SetUp() override {
    ASSERT_TRUE(registry_.loadFile(std::string(ADAPTER_DIR) + "/memquota.so").ok());
    adapter_ = registry_.find("memquota");
    ASSERT_NE(adapter_, nullptr);
  }
  static mixer::adapter_host::AbiValue yaml(const std::string& text) {
    std::vector<mixer::adapter_host::ParamError> errors;
    auto v = mixer::adapter_host::valueFromYaml(YAML::Load(text), "params", &errors);
    EXPECT_TRUE(errors.empty());
    return v;
  }
  std::vector<std::string> errors(const std::string& text) {
    std::vector<std::string> out;
    for (const auto& e : adapter_->validateParams(yaml(text))) {
      out.push_back(e.toString());
    }
    return out;
  }

  mixer::adapter_host::InMemoryCounterRegistry counters_;
  mixer::adapter_host::BackgroundExecutor executor_{1};
  mixer::adapter_host::HostServices services_;
  mixer::adapter_host::AdapterRegistry registry_;
  std::shared_ptr<const mixer::adapter_host::LoadedAdapter> adapter_;
};

TEST_F(MemQuotaAdapterTest, GrantsUpToTheLimitPerDimensionsWithIstioCamelCaseParams) {
  auto handler = adapter_->createHandler("handler", yaml(R"(
quotas:
- name: requestcount.quota.istio-system
  maxAmount: 2
  validDuration: 60s
  overrides:
  - dimensions: {destination: ratings}
    maxAmount: 1
minDeduplicationDuration: 10s
)"));
  ASSERT_TRUE(handler.ok()) << handler.status();
  using mixer::adapter_host::AbiValue;
  auto instance = [](const std::string& dest) {
    return mixer::adapter_host::Instance{
        "requestcount.quota.istio-system", "quota",
        AbiValue::map({{"dimensions", AbiValue::map({{"destination", AbiValue::string(dest)}})}})};
  };
  auto call = [&](const std::string& dest, int64_t amount, const std::string& dedup) {
    auto r = (*handler)->quotaAndWait(instance(dest), {amount, false, dedup}, absl::Seconds(1));
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->granted_amount : -1;
  };
  EXPECT_EQ(call("reviews", 1, "a"), 1);
  EXPECT_EQ(call("reviews", 1, "a"), 1);  // deduplicated
  EXPECT_EQ(call("reviews", 1, "b"), 1);
  EXPECT_EQ(call("reviews", 1, "c"), 0);
  EXPECT_EQ(call("ratings", 1, "d"), 1);
  EXPECT_EQ(call("ratings", 1, "e"), 0);
  auto r = (*handler)->quotaAndWait(instance("x"), {1, false, ""}, absl::Seconds(1));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->valid_duration, absl::Seconds(60));
}

TEST_F(MemQuotaAdapterTest, AnInstanceWithoutAQuotaIsNotFound) {
  auto handler = adapter_->createHandler("h", yaml("quotas: [{name: a, maxAmount: 1}]"));
  ASSERT_TRUE(handler.ok());
  mixer::adapter_host::Instance instance{"other.quota.ns", "quota",
                                         mixer::adapter_host::AbiValue::map()};
  auto r = (*handler)->quotaAndWait(instance, {1, false, ""}, absl::Seconds(1));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status.code(), absl::StatusCode::kNotFound);
}

TEST_F(MemQuotaAdapterTest, ValidationReportsEveryErrorWithItsPath) {
  EXPECT_THAT(errors(R"(
quotas:
- name: q
  maxAmount: -1
  validDuration: forever
  rateLimitAlgorithm: SLIDING
  overrides: [{maxAmount: 3}]
- {maxAmount: 1}
minDedupDuration: 1s
)"),
              ::testing::UnorderedElementsAre(
                  "params.minDedupDuration: unknown field 'minDedupDuration'",
                  "params.quotas[0].max_amount: must be between 0 and 9223372036854775807, got -1",
                  "params.quotas[0].valid_duration: invalid duration 'forever' (expected e.g. "
                  "\"5s\", \"100ms\")",
                  "params.quotas[0].rate_limit_algorithm: expected ROLLING_WINDOW or FIXED_WINDOW",
                  "params.quotas[0].overrides[0].dimensions: required: a non-empty map",
                  "params.quotas[1].name: required: a non-empty string"));
  EXPECT_TRUE(errors("quotas: [{name: a, maxAmount: 5, validDuration: 1s}]").empty());
}

}  // namespace
