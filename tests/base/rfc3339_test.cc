// base/rfc3339.h: RFC 3339 as Go's time.RFC3339Nano reads and writes it. Epoch seconds worked out
// by hand: 2015-01-02 is 16437 days after 1970-01-01, 16437 * 86400 + 15:04:35 = 1420211075;
// 0001-01-01 is 719162 days before it, -719162 * 86400 = -62135596800.
#include "base/rfc3339.h"

#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace mixer::base {
namespace {

TEST(Rfc3339Test, ParsesUtcAndOffsets) {
  int64_t s = 0;
  int32_t n = 0;
  ASSERT_TRUE(parseRfc3339("2015-01-02T15:04:35Z", &s, &n));
  EXPECT_EQ(s, 1420211075);
  EXPECT_EQ(n, 0);
  ASSERT_TRUE(parseRfc3339("2015-01-02T16:04:35.5+01:00", &s, &n));
  EXPECT_EQ(s, 1420211075);
  EXPECT_EQ(n, 500000000);
  ASSERT_TRUE(parseRfc3339("2015-01-02T14:34:35.25-00:30", &s, &n));
  EXPECT_EQ(s, 1420211075);
  EXPECT_EQ(n, 250000000);
  ASSERT_TRUE(parseRfc3339("1969-12-31T23:59:59.999999999Z", &s, &n));
  EXPECT_EQ(s, -1);
  EXPECT_EQ(n, 999999999);
  ASSERT_TRUE(parseRfc3339("0001-01-01T00:00:00Z", &s, &n));
  EXPECT_EQ(s, -62135596800);
  ASSERT_TRUE(parseRfc3339("2016-02-29T00:00:00Z", &s, &n));  // a leap day
  EXPECT_EQ(s, 1456704000);
  // RFC 3339 allows lower-case 't' and 'z'.
  ASSERT_TRUE(parseRfc3339("2015-01-02t15:04:35z", &s, &n));
  EXPECT_EQ(s, 1420211075);
  // Digits past nanoseconds are dropped.
  ASSERT_TRUE(parseRfc3339("2015-01-02T15:04:35.1234567891Z", &s, &n));
  EXPECT_EQ(n, 123456789);
}

TEST(Rfc3339Test, RejectsOtherShapes) {
  for (const char* text : {"",
                           "242233",
                           "2015-01-02",
                           "2015-01-02 15:04:35Z",
                           "2015-01-02T15:04:35",
                           "2015/01/02T15:04:35Z",
                           "2015-1-02T15:04:35Z",
                           "15-01-02T15:04:35Z",
                           "2015-01-02T15:04:35.Z",
                           "2015-01-02T15:04:35+0100",
                           "2015-01-02T15:04:35+01",
                           "2015-01-02T15:04:35+24:00",
                           "2015-01-02T15:04:35+01:60",
                           "2015-01-02T15:04:35ZZ",
                           "2015-01-02T15:04:35Z ",
                           "2015-02-30T00:00:00Z",
                           "2015-02-29T00:00:00Z",
                           "2015-13-01T00:00:00Z",
                           "2015-01-02T24:00:00Z",
                           "2015-01-02T15:60:00Z",
                           "2015-01-02T15:04:60Z"}) {
    int64_t s = 7;
    int32_t n = 7;
    EXPECT_FALSE(parseRfc3339(text, &s, &n)) << text;
    EXPECT_EQ(s, 7) << text;
    EXPECT_EQ(n, 7) << text;
  }
}

TEST(Rfc3339Test, FormatsInUtcWithATrimmedFraction) {
  EXPECT_EQ(formatRfc3339(1420211075, 0), "2015-01-02T15:04:35Z");
  EXPECT_EQ(formatRfc3339(1420211075, 500000000), "2015-01-02T15:04:35.5Z");
  EXPECT_EQ(formatRfc3339(1420211075, 250000000), "2015-01-02T15:04:35.25Z");
  EXPECT_EQ(formatRfc3339(1420211075, 1), "2015-01-02T15:04:35.000000001Z");
  EXPECT_EQ(formatRfc3339(-1, 0), "1969-12-31T23:59:59Z");
  EXPECT_EQ(formatRfc3339(-1, 999999999), "1969-12-31T23:59:59.999999999Z");
  EXPECT_EQ(formatRfc3339(0, 0), "1970-01-01T00:00:00Z");
}

// Go's layout pads the year to four digits (absl's plain %Y printed year 1 as "1").
TEST(Rfc3339Test, PadsTheYearToFourDigits) {
  EXPECT_EQ(formatRfc3339(-62135596800, 0), "0001-01-01T00:00:00Z");
  // 0999-12-31T23:59:59Z: 1000-01-01 is 354285 days before the epoch.
  EXPECT_EQ(formatRfc3339(-354285LL * 86400 - 1, 0), "0999-12-31T23:59:59Z");
}

TEST(Rfc3339Test, RoundTrip) {
  int64_t s = 0;
  int32_t n = 0;
  ASSERT_TRUE(parseRfc3339("2015-01-02T15:04:35.5+01:00", &s, &n));
  EXPECT_EQ(formatRfc3339(s, n), "2015-01-02T14:04:35.5Z");
  for (const char* text : {"0001-01-01T00:00:00Z", "0999-12-31T23:59:59.000000001Z",
                           "9999-12-31T23:59:59.999999999Z", "1970-01-01T00:00:00Z"}) {
    ASSERT_TRUE(parseRfc3339(text, &s, &n)) << text;
    EXPECT_EQ(formatRfc3339(s, n), text);
  }
}

// The header-only formatter (which the adapter SDK ships) prints what absl's RFC 3339 layout
// prints, over instants spread across years 1 to 9999, with and without a fraction.
TEST(Rfc3339Test, AppendMatchesAbslFormatTimeFromYear1To9999) {
  const int64_t first = -62135596800;  // 0001-01-01T00:00:00Z
  const int64_t last = 253402300799;   // 9999-12-31T23:59:59Z
  const int64_t step = 9'876'543'211;  // about 313 years, not a whole number of days
  int checked = 0;
  for (int64_t s = first; s <= last; s += step / 97) {
    for (int32_t n : {0, 1, 500000000, 123456789, 999999999}) {
      const absl::Time t = absl::FromUnixSeconds(s) + absl::Nanoseconds(n);
      const std::string want = absl::FormatTime("%E4Y-%m-%dT%H:%M:%E*SZ", t, absl::UTCTimeZone());
      std::string got = "prefix:";
      appendRfc3339(s, n, &got);
      ASSERT_EQ(got, "prefix:" + want) << s << " " << n;
      ++checked;
    }
  }
  EXPECT_GT(checked, 2000);
}

// Nanos outside 0..999999999 carry into the seconds (stdio passes a whole nanosecond count).
TEST(Rfc3339Test, AppendCarriesNanosIntoSeconds) {
  std::string out;
  appendRfc3339(0, 1'420'211'075'500'000'000, &out);
  EXPECT_EQ(out, "2015-01-02T15:04:35.5Z");
  out.clear();
  appendRfc3339(0, -1, &out);
  EXPECT_EQ(out, "1969-12-31T23:59:59.999999999Z");
  out.clear();
  appendRfc3339(253402300800, 0, &out);  // past 9999: the year as its number
  EXPECT_EQ(out, "10000-01-01T00:00:00Z");
}

}  // namespace
}  // namespace mixer::base
