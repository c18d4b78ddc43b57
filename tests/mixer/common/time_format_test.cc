#include "mixer/common/time_format.h"

#include <gtest/gtest.h>

namespace mixer {
namespace {

TEST(GoDurationTest, FormatsLikeGo) {
  EXPECT_EQ(formatGoDuration(0), "0s");
  EXPECT_EQ(formatGoDuration(60'000'000'000), "1m0s");
  EXPECT_EQ(formatGoDuration(10'000'000'000), "10s");
  EXPECT_EQ(formatGoDuration(1'500'000'000), "1.5s");
  EXPECT_EQ(formatGoDuration(20'000'000), "20ms");
  EXPECT_EQ(formatGoDuration(1'500'000), "1.5ms");
  EXPECT_EQ(formatGoDuration(1'500), "1.5µs");
  EXPECT_EQ(formatGoDuration(7), "7ns");
  EXPECT_EQ(formatGoDuration(3'723'000'000'000), "1h2m3s");
  EXPECT_EQ(formatGoDuration(-60'000'000'000), "-1m0s");
}

TEST(GoDurationTest, ParsesGoSyntax) {
  EXPECT_EQ(parseGoDuration("10ms"), 10'000'000);
  EXPECT_EQ(parseGoDuration("1h2m"), 3'720'000'000'000);
  EXPECT_EQ(parseGoDuration("1.5s"), 1'500'000'000);
  EXPECT_EQ(parseGoDuration("-2us"), -2'000);
  EXPECT_EQ(parseGoDuration("0"), 0);
  EXPECT_EQ(parseGoDuration("10"), std::nullopt);
  EXPECT_EQ(parseGoDuration("1d"), std::nullopt);
  EXPECT_EQ(parseGoDuration(""), std::nullopt);
}

TEST(Rfc3339Test, ParsesAndFormats) {
  int64_t s;
  int32_t n;
  ASSERT_TRUE(parseRfc3339("2015-01-02T15:04:35Z", &s, &n));
  EXPECT_EQ(s, 1420211075);
  EXPECT_EQ(n, 0);
  ASSERT_TRUE(parseRfc3339("2015-01-02T16:04:35.25+01:00", &s, &n));
  EXPECT_EQ(s, 1420211075);
  EXPECT_EQ(n, 250000000);
  EXPECT_EQ(formatRfc3339(1420211075, 250000000), "2015-01-02T15:04:35.25Z");
  EXPECT_EQ(formatRfc3339(-62135596800, 0), "0001-01-01T00:00:00Z");
  EXPECT_FALSE(parseRfc3339("2015-02-30T00:00:00Z", &s, &n));
  EXPECT_FALSE(parseRfc3339("2015-01-02 15:04:35Z", &s, &n));
  EXPECT_FALSE(parseRfc3339("2015-01-02T15:04:35", &s, &n));
}

}  // namespace
}  // namespace mixer
