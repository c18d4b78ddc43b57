// Timestamps and durations (expr/builtins_time.cc): timestamp(), duration() and the CEL
// accessors, in UTC or a given zone.
#include "gtest/gtest.h"
#include "tests/expr/eval_fixture.h"

namespace expr {
namespace {

class TimeBuiltinsTest : public testing::EvalFixture {};

TEST_F(TimeBuiltinsTest, TimestampFromStringIntAndTimestamp) {
  EXPECT_EQ(eval(R"(timestamp("2015-01-02T15:04:35Z"))"), "2015-01-02T15:04:35Z");
  EXPECT_EQ(eval(R"(timestamp("2015-01-02T16:04:35.25+01:00"))"), "2015-01-02T15:04:35.25Z");
  EXPECT_EQ(eval("timestamp(0)"), "1970-01-01T00:00:00Z");
  EXPECT_EQ(eval("timestamp(-1)"), "1969-12-31T23:59:59Z");
  EXPECT_EQ(eval(R"(timestamp(timestamp("2015-01-02T15:04:35Z")))"), "2015-01-02T15:04:35Z");
  EXPECT_EQ(eval(R"(timestamp("2015-01-02T15:04:35Z"))", Dialect::kCexl), "2015-01-02T15:04:35Z");
}

TEST_F(TimeBuiltinsTest, TimestampErrors) {
  EXPECT_EQ(eval(R"(timestamp("2015-01-02"))"), "error: invalid timestamp '2015-01-02'");
  EXPECT_EQ(eval(R"(timestamp("2015-01-02"))", Dialect::kCexl),
            "error: could not convert '2015-01-02' to TIMESTAMP. expected format: "
            "'2006-01-02T15:04:05Z07:00'");
  // The range is 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z.
  EXPECT_EQ(eval("timestamp(253402300799)"), "9999-12-31T23:59:59Z");
  EXPECT_EQ(eval("timestamp(253402300800)"), "error: timestamp out of range");
  EXPECT_EQ(eval(R"(timestamp(-62135596800) == timestamp("0001-01-01T00:00:00Z"))"), "true");
  EXPECT_EQ(eval("timestamp(-62135596801)"), "error: timestamp out of range");
  EXPECT_EQ(call("timestamp", false, {Value::makeBool(true)}),
            "error: no such overload: timestamp(BOOL)");
}

TEST_F(TimeBuiltinsTest, DurationFromStringAndInt) {
  EXPECT_EQ(eval(R"(duration("1h30m"))"), "1h30m0s");
  EXPECT_EQ(eval(R"(duration("1.5s"))"), "1.5s");
  EXPECT_EQ(eval(R"(duration("-90m"))"), "-1h30m0s");
  EXPECT_EQ(eval("duration(5)"), "5ns");
  EXPECT_EQ(eval(R"(duration(duration("2m")))"), "2m0s");
  EXPECT_EQ(eval(R"(duration("1d"))"), "error: invalid duration '1d'");
  EXPECT_EQ(eval(R"(duration("10"))"), "error: invalid duration '10'");
  EXPECT_EQ(eval(R"(duration("3000000h"))"), "error: invalid duration '3000000h'");
  EXPECT_EQ(call("duration", false, {Value::makeDouble(1.5)}),
            "error: no such overload: duration(DOUBLE)");
  // duration() is CEL only: CEXL reads "10s" literals as durations instead.
  EXPECT_EQ(call("duration", false, {str("1s")}, Dialect::kCexl), "no builtin");
}

// 2015-03-01 was a Sunday, the 60th day of 2015.
constexpr char kSundayNight[] = R"(timestamp("2015-03-01T23:04:05.123Z"))";

TEST_F(TimeBuiltinsTest, TimestampAccessorsInUtc) {
  auto at = [&](std::string_view accessor) {
    return eval(std::string(kSundayNight) + "." + std::string(accessor));
  };
  EXPECT_EQ(at("getFullYear()"), "2015");
  EXPECT_EQ(at("getMonth()"), "2");  // zero-based
  EXPECT_EQ(at("getDate()"), "1");   // one-based
  EXPECT_EQ(at("getDayOfMonth()"), "0");
  EXPECT_EQ(at("getDayOfWeek()"), "0");  // Sunday
  EXPECT_EQ(at("getDayOfYear()"), "59");
  EXPECT_EQ(at("getHours()"), "23");
  EXPECT_EQ(at("getMinutes()"), "4");
  EXPECT_EQ(at("getSeconds()"), "5");
  EXPECT_EQ(at("getMilliseconds()"), "123");
}

TEST_F(TimeBuiltinsTest, TimestampAccessorsInAZone) {
  auto at = [&](std::string_view accessor) {
    return eval(std::string(kSundayNight) + "." + std::string(accessor));
  };
  // +01:00 moves the instant to Monday 2015-03-02 00:04:05.
  EXPECT_EQ(at(R"(getDate("+01:00"))"), "2");
  EXPECT_EQ(at(R"(getDayOfWeek("+01:00"))"), "1");
  EXPECT_EQ(at(R"(getHours("+01:00"))"), "0");
  EXPECT_EQ(at(R"(getDayOfYear("+01:00"))"), "60");
  EXPECT_EQ(at(R"(getHours("-08:00"))"), "15");
  EXPECT_EQ(at(R"(getMinutes("05:30"))"), "34");  // 23:04 + 5:30 = 04:34 the next day
  EXPECT_EQ(at(R"(getHours("UTC"))"), "23");
  EXPECT_EQ(at(R"(getHours("Nowhere/City"))"), "error: unknown time zone 'Nowhere/City'");
  EXPECT_EQ(at(R"(getHours("+0100"))"), "error: unknown time zone '+0100'");
}

TEST_F(TimeBuiltinsTest, DurationAccessorsTruncate) {
  EXPECT_EQ(eval(R"(duration("3h25m45.5s").getHours())"), "3");
  EXPECT_EQ(eval(R"(duration("3h25m45.5s").getMinutes())"), "205");
  EXPECT_EQ(eval(R"(duration("3h25m45.5s").getSeconds())"), "12345");
  EXPECT_EQ(eval(R"(duration("3h25m45.5s").getMilliseconds())"), "500");
  EXPECT_EQ(eval(R"(duration("-90m").getHours())"), "-1");
}

TEST_F(TimeBuiltinsTest, AccessorsOnOtherTypes) {
  EXPECT_EQ(call("getFullYear", true, {Value::makeInt(1)}),
            "error: no such overload: accessor(INT64)");
  // A duration has no calendar fields and no zone.
  EXPECT_EQ(call("getDayOfWeek", true, {Value::makeDuration(1)}),
            "error: no such overload: accessor(DURATION)");
  EXPECT_EQ(call("getHours", true, {Value::makeDuration(1), str("UTC")}),
            "error: no such overload: accessor(DURATION)");
  EXPECT_EQ(call("getHours", true, {Value::makeTimestamp(0, 0), Value::makeInt(1)}),
            "error: no such overload: accessor(TIMESTAMP, INT64)");
}

}  // namespace
}  // namespace expr
