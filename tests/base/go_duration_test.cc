// base/go_duration.h against Go's time.ParseDuration and Duration.String, with expectations worked
// out by hand from Go's documentation and grammar.
#include "base/go_duration.h"

#include <cstdint>
#include <limits>
#include <optional>

#include "gtest/gtest.h"

namespace mixer::base {
namespace {

constexpr int64_t kUs = 1'000;
constexpr int64_t kMs = 1'000'000;
constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 60 * kMinute;

TEST(GoDurationTest, ParsesGoDocumentedExamples) {
  EXPECT_EQ(parseGoDuration("300ms"), 300 * kMs);
  EXPECT_EQ(parseGoDuration("-1.5h"), -(kHour + 30 * kMinute));
  EXPECT_EQ(parseGoDuration("2h45m"), 2 * kHour + 45 * kMinute);
  EXPECT_EQ(parseGoDuration("1.5\xC2\xB5s"), 1'500);  // "1.5µs", U+00B5 MICRO SIGN
}

TEST(GoDurationTest, ParsesUnitsSignsAndFractions) {
  int64_t ns = 0;
  ASSERT_TRUE(parseGoDuration("1h30m", &ns));
  EXPECT_EQ(ns, kHour + 30 * kMinute);
  ASSERT_TRUE(parseGoDuration("19ms", &ns));
  EXPECT_EQ(ns, 19 * kMs);
  ASSERT_TRUE(parseGoDuration("-1.5s", &ns));
  EXPECT_EQ(ns, -1'500'000'000);
  ASSERT_TRUE(parseGoDuration("+5s", &ns));
  EXPECT_EQ(ns, 5 * kSecond);
  ASSERT_TRUE(parseGoDuration("7ns", &ns));
  EXPECT_EQ(ns, 7);
  ASSERT_TRUE(parseGoDuration("3us", &ns));
  EXPECT_EQ(ns, 3 * kUs);
  ASSERT_TRUE(parseGoDuration("3\xCE\xBCs", &ns));  // U+03BC GREEK SMALL LETTER MU
  EXPECT_EQ(ns, 3 * kUs);
  ASSERT_TRUE(parseGoDuration(".5m", &ns));  // no integer part
  EXPECT_EQ(ns, 30 * kSecond);
  ASSERT_TRUE(parseGoDuration("1.s", &ns));  // no fraction digits
  EXPECT_EQ(ns, kSecond);
  ASSERT_TRUE(parseGoDuration("1m1m", &ns));  // repeated units add up
  EXPECT_EQ(ns, 2 * kMinute);
  ASSERT_TRUE(parseGoDuration("1h0m0.5s", &ns));
  EXPECT_EQ(ns, kHour + 500 * kMs);
  ASSERT_TRUE(parseGoDuration("0.1s", &ns));  // exact, not 99999999 from binary rounding
  EXPECT_EQ(ns, 100 * kMs);
  ASSERT_TRUE(parseGoDuration("1.1h", &ns));
  EXPECT_EQ(ns, kHour + 6 * kMinute);
}

TEST(GoDurationTest, TruncatesFractionsBelowANanosecond) {
  int64_t ns = 0;
  // 1.9 ns and 0.0000000019 s are both 1 ns: Go drops, it does not round.
  ASSERT_TRUE(parseGoDuration("1.9ns", &ns));
  EXPECT_EQ(ns, 1);
  ASSERT_TRUE(parseGoDuration("0.0000000019s", &ns));
  EXPECT_EQ(ns, 1);
  // Digits far past the precision are read and ignored.
  ASSERT_TRUE(parseGoDuration("1.00000000000000000000000000001s", &ns));
  EXPECT_EQ(ns, kSecond);
}

TEST(GoDurationTest, BareZeroIsTheOnlyUnitlessDuration) {
  int64_t ns = 42;
  ASSERT_TRUE(parseGoDuration("0", &ns));
  EXPECT_EQ(ns, 0);
  ASSERT_TRUE(parseGoDuration("-0", &ns));
  EXPECT_EQ(ns, 0);
  ASSERT_TRUE(parseGoDuration("+0", &ns));
  EXPECT_EQ(ns, 0);
  EXPECT_FALSE(parseGoDuration("1", &ns));
  EXPECT_FALSE(parseGoDuration("10", &ns));
  EXPECT_FALSE(parseGoDuration("00", &ns));
  EXPECT_FALSE(parseGoDuration("0.0", &ns));
  EXPECT_FALSE(parseGoDuration("1h5", &ns));
}

TEST(GoDurationTest, RejectsWhatGoRejects) {
  for (const char* text :
       {"",    "1",     "1x",    ".s",   ".",    "-",     "+",           "s",    "1d",
        "1 s", " 1s",   "1s ",   "1S",   "1e3s", "0x10s", "inf",         "-inf", "infs",
        "nan", "1..5s", "1.5.s", "--1s", "+-1s", "1s-1s", "five seconds"}) {
    int64_t ns = 42;
    EXPECT_FALSE(parseGoDuration(text, &ns)) << text;
    EXPECT_EQ(ns, 42) << text;  // untouched
    EXPECT_EQ(parseGoDuration(text), std::nullopt) << text;
  }
}

TEST(GoDurationTest, RejectsValuesBeyondInt64Nanoseconds) {
  int64_t ns = 0;
  // 2562047h is 9,223,369,200 s: it fits; 2562048h (9,223,372,800 s) does not.
  ASSERT_TRUE(parseGoDuration("2562047h", &ns));
  EXPECT_EQ(ns, 9'223'369'200'000'000'000);
  EXPECT_FALSE(parseGoDuration("2562048h", &ns));
  // 2^63 - 1 ns fits; 2^63 ns fits only negated.
  ASSERT_TRUE(parseGoDuration("9223372036854775807ns", &ns));
  EXPECT_EQ(ns, std::numeric_limits<int64_t>::max());
  EXPECT_FALSE(parseGoDuration("9223372036854775808ns", &ns));
  ASSERT_TRUE(parseGoDuration("-9223372036854775808ns", &ns));
  EXPECT_EQ(ns, std::numeric_limits<int64_t>::min());
  EXPECT_FALSE(parseGoDuration("-9223372036854775809ns", &ns));
  EXPECT_FALSE(parseGoDuration("99999999999999999999ns", &ns));
  // Two parts that fit alone but not together.
  EXPECT_FALSE(parseGoDuration("2562047h2562047h", &ns));
}

TEST(GoDurationTest, FormatsLikeGoDurationString) {
  EXPECT_EQ(formatGoDuration(0), "0s");
  EXPECT_EQ(formatGoDuration(1), "1ns");
  EXPECT_EQ(formatGoDuration(999), "999ns");
  EXPECT_EQ(formatGoDuration(1'500), "1.5\xC2\xB5s");
  EXPECT_EQ(formatGoDuration(kMs), "1ms");
  EXPECT_EQ(formatGoDuration(1'500'000), "1.5ms");
  EXPECT_EQ(formatGoDuration(20 * kMs), "20ms");
  EXPECT_EQ(formatGoDuration(kSecond), "1s");
  EXPECT_EQ(formatGoDuration(1'500'000'000), "1.5s");
  EXPECT_EQ(formatGoDuration(10 * kSecond), "10s");
  EXPECT_EQ(formatGoDuration(kMinute), "1m0s");
  EXPECT_EQ(formatGoDuration(2 * kHour), "2h0m0s");
  EXPECT_EQ(formatGoDuration(kHour + 2 * kMinute + 3'500 * kMs), "1h2m3.5s");
  EXPECT_EQ(formatGoDuration(3'600'000'000'001), "1h0m0.000000001s");
  EXPECT_EQ(formatGoDuration(-1'500), "-1.5\xC2\xB5s");
  EXPECT_EQ(formatGoDuration(-kMinute), "-1m0s");
  // The most negative duration, 2^63 ns, and the largest.
  EXPECT_EQ(formatGoDuration(std::numeric_limits<int64_t>::min()), "-2562047h47m16.854775808s");
  EXPECT_EQ(formatGoDuration(std::numeric_limits<int64_t>::max()), "2562047h47m16.854775807s");
}

TEST(GoDurationTest, FormattedDurationsParseBack) {
  for (int64_t v : {int64_t{0}, int64_t{1}, int64_t{1'500}, 19 * kMs, int64_t{-1'500'000'000},
                    kHour + 2 * kMinute + 3 * kSecond, std::numeric_limits<int64_t>::min(),
                    std::numeric_limits<int64_t>::max()}) {
    EXPECT_EQ(parseGoDuration(formatGoDuration(v)), v) << formatGoDuration(v);
  }
}

}  // namespace
}  // namespace mixer::base
