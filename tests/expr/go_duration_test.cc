#include "expr/go_duration.h"

#include <cstdint>
#include <limits>

#include "gtest/gtest.h"

namespace expr {
namespace {

TEST(GoDurationTest, ParsesUnitsSignsAndFractions) {
  int64_t ns = 0;
  ASSERT_TRUE(parseGoDuration("1h30m", &ns));
  EXPECT_EQ(ns, 5'400'000'000'000);
  ASSERT_TRUE(parseGoDuration("19ms", &ns));
  EXPECT_EQ(ns, 19'000'000);
  ASSERT_TRUE(parseGoDuration("-1.5s", &ns));
  EXPECT_EQ(ns, -1'500'000'000);
  ASSERT_TRUE(parseGoDuration("+5s", &ns));
  EXPECT_EQ(ns, 5'000'000'000);
  ASSERT_TRUE(parseGoDuration("1.5h", &ns));
  EXPECT_EQ(ns, 5'400'000'000'000);
  ASSERT_TRUE(parseGoDuration("7ns", &ns));
  EXPECT_EQ(ns, 7);
  ASSERT_TRUE(parseGoDuration("3us", &ns));
  EXPECT_EQ(ns, 3'000);
  ASSERT_TRUE(parseGoDuration("3\xC2\xB5s", &ns));  // micro sign
  EXPECT_EQ(ns, 3'000);
  ASSERT_TRUE(parseGoDuration("3\xCE\xBCs", &ns));  // Greek mu
  EXPECT_EQ(ns, 3'000);
  ASSERT_TRUE(parseGoDuration(".5m", &ns));
  EXPECT_EQ(ns, 30'000'000'000);
  ASSERT_TRUE(parseGoDuration("1m1m", &ns));  // repeated units add up
  EXPECT_EQ(ns, 120'000'000'000);
}

TEST(GoDurationTest, BareZeroIsTheOnlyUnitlessDuration) {
  int64_t ns = 42;
  ASSERT_TRUE(parseGoDuration("0", &ns));
  EXPECT_EQ(ns, 0);
  ASSERT_TRUE(parseGoDuration("-0", &ns));
  EXPECT_EQ(ns, 0);
  EXPECT_FALSE(parseGoDuration("10", &ns));
  EXPECT_FALSE(parseGoDuration("1h5", &ns));
}

TEST(GoDurationTest, RejectsMalformedText) {
  int64_t ns = 42;
  EXPECT_FALSE(parseGoDuration("", &ns));
  EXPECT_FALSE(parseGoDuration("-", &ns));
  EXPECT_FALSE(parseGoDuration("1d", &ns));
  EXPECT_FALSE(parseGoDuration("s", &ns));
  EXPECT_FALSE(parseGoDuration(".s", &ns));
  EXPECT_FALSE(parseGoDuration("1 s", &ns));
  EXPECT_FALSE(parseGoDuration("1S", &ns));
  EXPECT_EQ(ns, 42);
}

TEST(GoDurationTest, RejectsValuesBeyondInt64Nanoseconds) {
  int64_t ns = 0;
  // 2562047h is 9,223,369,200 s: it fits; 2562048h (9,223,372,800 s) does not.
  ASSERT_TRUE(parseGoDuration("2562047h", &ns));
  EXPECT_EQ(ns, 9'223'369'200'000'000'000);
  EXPECT_FALSE(parseGoDuration("2562048h", &ns));
  EXPECT_FALSE(parseGoDuration("9223372036854775808ns", &ns));
}

TEST(GoDurationTest, FormatsLikeGoDurationString) {
  EXPECT_EQ(formatGoDuration(0), "0s");
  EXPECT_EQ(formatGoDuration(1), "1ns");
  EXPECT_EQ(formatGoDuration(999), "999ns");
  EXPECT_EQ(formatGoDuration(1'500), "1.5\xC2\xB5s");
  EXPECT_EQ(formatGoDuration(1'000'000), "1ms");
  EXPECT_EQ(formatGoDuration(20'000'000), "20ms");
  EXPECT_EQ(formatGoDuration(1'500'000'000), "1.5s");
  EXPECT_EQ(formatGoDuration(60'000'000'000), "1m0s");
  EXPECT_EQ(formatGoDuration(3'723'000'000'000), "1h2m3s");
  EXPECT_EQ(formatGoDuration(3'600'000'000'001), "1h0m0.000000001s");
  EXPECT_EQ(formatGoDuration(-1'500), "-1.5\xC2\xB5s");
  EXPECT_EQ(formatGoDuration(-60'000'000'000), "-1m0s");
  // The most negative duration: 2^63 ns.
  EXPECT_EQ(formatGoDuration(std::numeric_limits<int64_t>::min()), "-2562047h47m16.854775808s");
  EXPECT_EQ(formatGoDuration(std::numeric_limits<int64_t>::max()), "2562047h47m16.854775807s");
}

TEST(GoDurationTest, FormattedDurationsParseBack) {
  for (int64_t v : {int64_t{1}, int64_t{1'500}, int64_t{19'000'000}, int64_t{-1'500'000'000},
                    int64_t{3'723'000'000'000}}) {
    int64_t back = 0;
    ASSERT_TRUE(parseGoDuration(formatGoDuration(v), &back)) << formatGoDuration(v);
    EXPECT_EQ(back, v);
  }
}

}  // namespace
}  // namespace expr
