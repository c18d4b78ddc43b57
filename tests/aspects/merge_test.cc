// aspects/merge.h: how one call's answers combine, as Istio combined them.
#include "aspects/merge.h"

#include <gtest/gtest.h>

namespace mixer::aspects {
namespace {

TEST(CheckMergeTest, NoAnswerGivesIstiosDefaults) {
  CheckMerge m;
  EXPECT_EQ(m.statusCode(), 0);
  EXPECT_EQ(m.validDurationNanos(), 60'000'000'000);
  EXPECT_EQ(m.validUseCount(), 10000);
  EXPECT_EQ(m.takeMessage(), "");
}

TEST(CheckMergeTest, TheShortestDurationAndFewestUsesOfAnyAnswerWin) {
  CheckMerge m;
  m.addValidity(5'000'000'000, 100);
  m.addValidity(2'000'000'000, 300);
  m.addValidity(9'000'000'000, 7);
  EXPECT_EQ(m.validDurationNanos(), 2'000'000'000);
  EXPECT_EQ(m.validUseCount(), 7);
  // One answer longer than the defaults is still what the call may be cached for.
  CheckMerge one;
  one.addValidity(300'000'000'000, 50'000);
  EXPECT_EQ(one.validDurationNanos(), 300'000'000'000);
  EXPECT_EQ(one.validUseCount(), 50'000);
}

TEST(CheckMergeTest, TheFirstFailureDecidesAndEveryFailureIsListed) {
  CheckMerge m;
  EXPECT_TRUE(m.addFailure(7, "denyall.denier.istio-system", "Not allowed"));
  EXPECT_FALSE(m.addFailure(16, "auth.handler.istio-system", "no token"));
  EXPECT_EQ(m.statusCode(), 7);
  EXPECT_EQ(m.takeMessage(),
            "denyall.denier.istio-system:Not allowed, auth.handler.istio-system:no token");
}

TEST(QuotaDeduplicationIdTest, IsTheRequestIdThenTheQuotaNameOrNothing) {
  EXPECT_EQ(quotaDeduplicationId("req-1", "requestcount.quota.istio-system"),
            "req-1requestcount.quota.istio-system");
  EXPECT_EQ(quotaDeduplicationId("", "requestcount.quota.istio-system"), "");
}

}  // namespace
}  // namespace mixer::aspects
