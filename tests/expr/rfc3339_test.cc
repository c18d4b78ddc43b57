#include "expr/rfc3339.h"

#include "gtest/gtest.h"

namespace expr {
namespace {

TEST(Rfc3339Test, ParsesUtcAndOffsets) {
  Timestamp ts;
  ASSERT_TRUE(parseRfc3339("2015-01-02T15:04:35Z", &ts));
  EXPECT_EQ(ts.seconds, 1420211075);
  EXPECT_EQ(ts.nanos, 0);
  ASSERT_TRUE(parseRfc3339("2015-01-02T16:04:35.5+01:00", &ts));
  EXPECT_EQ(ts.seconds, 1420211075);
  EXPECT_EQ(ts.nanos, 500000000);
  ASSERT_TRUE(parseRfc3339("1969-12-31T23:59:59.999999999Z", &ts));
  EXPECT_EQ(ts.seconds, -1);
  EXPECT_EQ(ts.nanos, 999999999);
}

TEST(Rfc3339Test, RejectsOtherShapes) {
  Timestamp ts;
  EXPECT_FALSE(parseRfc3339("242233", &ts));
  EXPECT_FALSE(parseRfc3339("2015-01-02", &ts));
  EXPECT_FALSE(parseRfc3339("2015-01-02 15:04:35Z", &ts));
  EXPECT_FALSE(parseRfc3339("2015-01-02T15:04:35", &ts));  // no zone
  EXPECT_FALSE(parseRfc3339("2015/01/02T15:04:35Z", &ts));
}

TEST(Rfc3339Test, FormatsInUtcWithATrimmedFraction) {
  EXPECT_EQ(formatRfc3339(Timestamp{1420211075, 0}), "2015-01-02T15:04:35Z");
  EXPECT_EQ(formatRfc3339(Timestamp{1420211075, 500000000}), "2015-01-02T15:04:35.5Z");
  EXPECT_EQ(formatRfc3339(Timestamp{1420211075, 1}), "2015-01-02T15:04:35.000000001Z");
  EXPECT_EQ(formatRfc3339(Timestamp{-1, 0}), "1969-12-31T23:59:59Z");
  EXPECT_EQ(formatRfc3339(Timestamp{0, 0}), "1970-01-01T00:00:00Z");
}

// Known bug, disabled until fixed: Go's RFC 3339 layout pads the year to four digits;
// absl's %Y does not, so year 1 prints as "1-01-01T00:00:00Z".
TEST(Rfc3339Test, DISABLED_PadsTheYearToFourDigits) {
  EXPECT_EQ(formatRfc3339(Timestamp{-62135596800, 0}), "0001-01-01T00:00:00Z");
}

TEST(Rfc3339Test, RoundTrip) {
  Timestamp ts;
  ASSERT_TRUE(parseRfc3339("2015-01-02T15:04:35.5+01:00", &ts));
  EXPECT_EQ(formatRfc3339(ts), "2015-01-02T14:04:35.5Z");
}

}  // namespace
}  // namespace expr
