#include "proxy-filter/core/quota_prefetch.h"

#include <gtest/gtest.h>

namespace mixer::proxy {
namespace {

constexpr int64_t kMs = 1000000;

TEST(QuotaPrefetchTest, AnEmptyPrefetchWaitsForAFetchOfTheMinimum) {
  QuotaPrefetch p;
  auto d = p.check(1, 0);
  EXPECT_TRUE(d.wait_for_fetch);
  EXPECT_EQ(d.fetch_amount, 10);  // max(amount, min_prefetch)
  p.onGrant(10, 10, 0, 1, 0);
  EXPECT_EQ(p.available(0), 9);  // the waiting request took its unit
}

TEST(QuotaPrefetchTest, RefillsInTheBackgroundBelowHalfTheDesiredAmount) {
  QuotaPrefetch p;
  p.check(1, 0);
  p.onGrant(10, 10, 0, 1, 0);  // 9 available
  int fetches = 0;
  for (int i = 1; i <= 5; ++i) {
    auto d = p.check(1, i * kMs);
    EXPECT_TRUE(d.allowed);
    EXPECT_FALSE(d.wait_for_fetch);
    fetches += d.fetch_amount > 0;
  }
  // 4 left after 5 more: below desired/2 = 5 only at the fifth, which fetches in the background.
  EXPECT_EQ(fetches, 1);
  EXPECT_EQ(p.available(6 * kMs), 4);
  // While that fetch is in flight no other goes out.
  auto d = p.check(1, 7 * kMs);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.fetch_amount, 0);
}

TEST(QuotaPrefetchTest, TheFetchAmountFollowsTheRecentRate) {
  QuotaPrefetch p;
  p.check(1, 0);
  p.onGrant(10, 1000, 0, 1, 0);
  for (int i = 0; i < 100; ++i) {
    p.check(1, i * kMs);
  }
  // 101 requests in the last second: desired = 101; 898 available is not below half.
  auto d = p.check(1, 200 * kMs);
  EXPECT_EQ(d.fetch_amount, 0);
  // Spending the rest, the rate rises while the grant falls: a single fetch goes out once
  // available < desired / 2 (near 330 left, at a rate near 670), sized by the rate.
  int fetches = 0;
  int64_t amount = 0;
  for (int i = 0; i < 850; ++i) {
    auto e = p.check(1, 300 * kMs);
    EXPECT_TRUE(e.allowed);
    if (e.fetch_amount > 0) {
      ++fetches;
      amount = e.fetch_amount;
    }
  }
  EXPECT_EQ(fetches, 1);
  EXPECT_GT(amount, 600);
  EXPECT_LT(amount, 700);
}

TEST(QuotaPrefetchTest, AShortGrantClosesUntilCloseWait) {
  QuotaPrefetch p;
  p.check(1, 0);
  p.onGrant(10, 2, 0, 1, 0);  // asked 10, got 2: closed, one unit kept
  EXPECT_TRUE(p.closed());
  EXPECT_TRUE(p.check(1, 1 * kMs).allowed);
  auto denied = p.check(1, 2 * kMs);
  EXPECT_FALSE(denied.allowed);
  EXPECT_EQ(denied.fetch_amount, 0);  // within close_wait: no fetch
  auto probe = p.check(1, 501 * kMs);
  EXPECT_TRUE(probe.wait_for_fetch);
  EXPECT_EQ(probe.fetch_amount, 1);
  p.onGrant(1, 1, 0, 1, 501 * kMs);  // a full grant reopens
  EXPECT_FALSE(p.closed());
}

TEST(QuotaPrefetchTest, GrantsExpire) {
  QuotaPrefetch p;
  p.check(1, 0);
  p.onGrant(10, 10, 100 * kMs, 1, 0);
  EXPECT_EQ(p.available(99 * kMs), 9);
  EXPECT_EQ(p.available(100 * kMs), 0);
}

TEST(QuotaPrefetchTest, ANetworkFailureGrantsTheRequestForAMinute) {
  QuotaPrefetch p;
  auto d = p.check(1, 0);
  p.onFailure(d.fetch_amount, 1, 0);
  EXPECT_EQ(p.available(59000 * kMs), 9);
  EXPECT_EQ(p.available(60000 * kMs), 0);
}

}  // namespace
}  // namespace mixer::proxy
