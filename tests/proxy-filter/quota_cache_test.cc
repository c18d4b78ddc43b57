#include "proxy-filter/core/quota_cache.h"

#include <gtest/gtest.h>

namespace mixer::proxy {
namespace {

using istio::mixer::v1::CheckResponse;
using istio::mixer::v1::ReferencedAttributes;
using Outcome = QuotaCache::Decision::Outcome;

constexpr int64_t kMs = 1000000;

// A quota answer granting `granted`, keyed by destination.service (global word 152).
CheckResponse::QuotaResult grant(int64_t granted, bool regex = false) {
  CheckResponse::QuotaResult r;
  r.set_granted_amount(granted);
  r.mutable_valid_duration()->set_seconds(60);
  auto* m = r.mutable_referenced_attributes()->add_attribute_matches();
  m->set_name(152);
  m->set_condition(regex ? ReferencedAttributes::REGEX : ReferencedAttributes::EXACT);
  return r;
}

Attributes to(const std::string& service) {
  Attributes a;
  a.setString("destination.service", service);
  return a;
}

TEST(QuotaCacheTest, TheFirstRequestGoesToTheServerWithItsOwnAmountNotBestEffort) {
  QuotaCache cache;
  auto d = cache.check("requestcount", 3, to("a"), 0);
  EXPECT_EQ(d.outcome, Outcome::kRemote);
  EXPECT_EQ(d.fetch_amount, 3);
  EXPECT_FALSE(d.best_effort);
  EXPECT_EQ(d.prefetch, nullptr);
}

TEST(QuotaCacheTest, AnAnswerCreatesAPrefetchPerKeyedValue) {
  QuotaCache cache;
  auto first = cache.check("requestcount", 1, to("a"), 0);
  cache.onResult("requestcount", to("a"), first, grant(1), 0);
  // a: the prefetch object exists and asks for a best-effort refill of the minimum.
  auto second = cache.check("requestcount", 1, to("a"), 1 * kMs);
  EXPECT_EQ(second.outcome, Outcome::kRemote);
  EXPECT_TRUE(second.best_effort);
  EXPECT_EQ(second.fetch_amount, 10);
  ASSERT_NE(second.prefetch, nullptr);
  cache.onResult("requestcount", to("a"), second, grant(10), 1 * kMs);
  auto third = cache.check("requestcount", 1, to("a"), 2 * kMs);
  EXPECT_EQ(third.outcome, Outcome::kAllowed);
  // b has another value of the referenced attribute: its own first request.
  auto other = cache.check("requestcount", 1, to("b"), 2 * kMs);
  EXPECT_EQ(other.outcome, Outcome::kRemote);
  EXPECT_EQ(other.prefetch, nullptr);
  // Another quota name shares nothing either.
  EXPECT_EQ(cache.check("bytes", 1, to("a"), 2 * kMs).prefetch, nullptr);
}

TEST(QuotaCacheTest, AShortGrantDeniesLocally) {
  QuotaCache cache;
  auto first = cache.check("q", 1, to("a"), 0);
  cache.onResult("q", to("a"), first, grant(1), 0);
  auto refill = cache.check("q", 1, to("a"), 1 * kMs);
  cache.onResult("q", to("a"), refill, grant(1), 1 * kMs);  // asked 10, got 1: closed
  EXPECT_EQ(cache.check("q", 1, to("a"), 2 * kMs).outcome, Outcome::kDenied);
}

TEST(QuotaCacheTest, RegexReferencedAnswersKeepGoingToTheServer) {
  QuotaCache cache;
  auto first = cache.check("q", 1, to("a"), 0);
  cache.onResult("q", to("a"), first, grant(1, /*regex=*/true), 0);
  auto again = cache.check("q", 1, to("a"), 1 * kMs);
  EXPECT_EQ(again.outcome, Outcome::kRemote);
  EXPECT_EQ(again.prefetch, nullptr);
}

TEST(QuotaCacheTest, ANetworkFailureGrantsWhatWasAsked) {
  QuotaCache cache;
  auto first = cache.check("q", 1, to("a"), 0);
  cache.onResult("q", to("a"), first, grant(1), 0);
  auto refill = cache.check("q", 1, to("a"), 1 * kMs);
  cache.onFailure(refill, 1 * kMs);  // 10 asked: the waiting request's unit, 9 kept
  int allowed = 0;
  for (int i = 0; i < 9; ++i) {
    allowed += cache.check("q", 1, to("a"), 2 * kMs).outcome == Outcome::kAllowed;
  }
  EXPECT_EQ(allowed, 9);
}

}  // namespace
}  // namespace mixer::proxy
