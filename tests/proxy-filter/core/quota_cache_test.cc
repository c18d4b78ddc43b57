#include "proxy-filter/core/quota_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

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

// Threads charging one quota at once, every fetch answered at once with what it asked: each
// request is allowed, each decision after the first answer is the prefetch object's (best effort),
// and no unit is lost or spent twice: what was granted equals what was spent plus what is left.
TEST(QuotaCacheTest, ConcurrentRequestsSpendExactlyWhatWasGranted) {
  QuotaCache cache;
  const Attributes a = to("a");
  auto first = cache.check("q", 1, a, 0);
  cache.onResult("q", a, first, grant(1), 0);  // the first request's own unit

  constexpr int kThreads = 4;
  constexpr int kRequests = 20000;
  std::atomic<int64_t> granted{0}, spent{0}, denied{0}, not_prefetched{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRequests; ++i) {
        const int64_t now = (t * kRequests + i) % 900 * kMs / 1000;  // all within 1 s
        auto d = cache.check("q", 1, a, now);
        not_prefetched += d.prefetch == nullptr || !d.best_effort;
        if (d.outcome == Outcome::kDenied) {
          ++denied;
          continue;
        }
        if (d.fetch_amount > 0) {
          cache.onResult("q", a, d, grant(d.fetch_amount), now);
          granted += d.fetch_amount;
        }
        ++spent;  // allowed locally, or by its own (full) grant
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(denied.load(), 0);
  EXPECT_EQ(not_prefetched.load(), 0);
  EXPECT_EQ(spent.load(), int64_t{kThreads} * kRequests);
  // Drain what is left without answering refills; the first request waiting for a fetch ends it.
  int64_t left = 0;
  while (true) {
    auto d = cache.check("q", 1, a, 950 * kMs);
    if (d.outcome != Outcome::kAllowed) {
      cache.onAbandoned(d);
      break;
    }
    if (d.fetch_amount > 0) {
      cache.onAbandoned(d);
    }
    ++left;
  }
  EXPECT_EQ(granted.load(), spent.load() + left);
}

}  // namespace
}  // namespace mixer::proxy
