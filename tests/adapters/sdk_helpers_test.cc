// The param helpers of the C++ SDK layer (adapter.h), used by every adapter's validate().
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mixer/adapter_host/value.h"
#include "mixer/adapter_sdk/adapter.h"

namespace mixer::adapter_sdk {
namespace {

using adapter_host::AbiValue;
using adapter_host::EncodedValue;
using ::testing::ElementsAre;

TEST(ParseDurationTest, AcceptsGoDurations) {
  struct Case {
    const char* text;
    int64_t ns;
  };
  for (const Case& c :
       {Case{"0", 0}, Case{"5s", 5'000'000'000}, Case{"1.5ms", 1'500'000}, Case{"250us", 250'000},
        Case{"250\xc2\xb5s", 250'000}, Case{"7ns", 7}, Case{"1m30s", 90'000'000'000},
        Case{"2h", 7'200'000'000'000}, Case{"1h0m0.5s", 3'600'500'000'000},
        // Go's grammar, base/go_duration.h: a sign, the Greek mu, a fraction below a nanosecond
        // (truncated).
        Case{"+5s", 5'000'000'000}, Case{"-0s", 0}, Case{"250\xce\xbcs", 250'000},
        Case{"1.9ns", 1}}) {
    int64_t ns = -1;
    EXPECT_TRUE(parseDuration(c.text, &ns)) << c.text;
    EXPECT_EQ(ns, c.ns) << c.text;
  }
}

TEST(FormatDurationTest, FormatsLikeGo) {
  EXPECT_EQ(formatDuration(0), "0s");
  EXPECT_EQ(formatDuration(1'500'000), "1.5ms");
  EXPECT_EQ(formatDuration(7'200'000'000'000), "2h0m0s");
}

TEST(ParseDurationTest, RejectsMalformedAndNegativeDurations) {
  for (const char* text : {"", "5", "s", "-1s", "1d", "1s5", "1..5s", "five seconds", "1e3s",
                           "999999999999h", "inf", "-1ns"}) {
    int64_t ns = 0;
    EXPECT_FALSE(parseDuration(text, &ns)) << text;
  }
}

class CollectingSink {
 public:
  CollectingSink() : sink_{sizeof(mixer_error_sink), 0, this, &CollectingSink::add} {}
  const mixer_error_sink* get() const { return &sink_; }
  std::vector<std::string> errors;

 private:
  static void add(void* ctx, const char* path, const char* message) {
    static_cast<CollectingSink*>(ctx)->errors.push_back(std::string(path) + ": " + message);
  }
  mixer_error_sink sink_;
};

TEST(ParamHelpersTest, ReportEveryErrorWithItsPath) {
  const AbiValue params = AbiValue::map({{"count", AbiValue::int64(500)},
                                         {"ttl", AbiValue::string("soon")},
                                         {"interval", AbiValue::int64(5)},
                                         {"colour", AbiValue::string("red")}});
  EncodedValue encoded(params);
  ValueView view(encoded.get());
  CollectingSink collected;
  ErrorSink errors(collected.get());
  int64_t count = 1, ttl = 0, interval = 0, absent = 42;
  checkKnownKeys(view, {"count", "ttl", "interval", "absent"}, "", errors);
  EXPECT_FALSE(readInt(view.find("count"), "count", 0, 100, errors, &count));
  EXPECT_FALSE(readDuration(view.find("ttl"), "ttl", errors, &ttl));
  EXPECT_FALSE(readDuration(view.find("interval"), "interval", errors, &interval));
  EXPECT_TRUE(readInt(view.find("absent"), "absent", 0, 100, errors, &absent));
  EXPECT_EQ(absent, 42);  // absent params keep their default
  EXPECT_EQ(count, 1);
  EXPECT_EQ(errors.count(), 4);
  EXPECT_THAT(
      collected.errors,
      ElementsAre("colour: unknown field 'colour'", "count: must be between 0 and 100, got 500",
                  "ttl: invalid duration 'soon' (expected e.g. \"5s\", \"100ms\")",
                  "interval: expected a duration, got int64"));
  EXPECT_EQ(joinPath(indexPath("quotas", 2), "max_amount"), "quotas[2].max_amount");
  EXPECT_EQ(joinPath("", "x"), "x");
}

TEST(ParamHelpersTest, DurationValuesAreAccepted) {
  const AbiValue params = AbiValue::map({{"ttl", AbiValue::durationNs(3'000)}});
  EncodedValue encoded(params);
  ErrorSink errors(nullptr);
  int64_t ttl = 0;
  EXPECT_TRUE(readDuration(ValueView(encoded.get()).find("ttl"), "ttl", errors, &ttl));
  EXPECT_EQ(ttl, 3'000);
}

// The escaper is base/json_string.h's (tests/base/json_string_test.cc); the SDK's names reach it.
TEST(JsonStringTest, TheSdkNameIsTheBaseEscaper) {
  std::string out = "x";
  appendJsonString("a\"b\xff", &out);
  EXPECT_EQ(out, R"(x"a\"b\ufffd")");
  EXPECT_TRUE(isValidUtf8("caf\xc3\xa9"));
  EXPECT_FALSE(isValidUtf8("caf\xc3"));
  EXPECT_EQ(utf8Sanitized("a\xff"), "a\xef\xbf\xbd");
}

TEST(IpAddressTest, FormatsBothFamiliesAndMappedAddressesOnRequest) {
  auto text = [](std::string_view raw, bool mapped_as_v4 = false) {
    std::string out;
    appendIpAddress(raw, &out, mapped_as_v4);
    return out;
  };
  EXPECT_EQ(text(std::string_view("\x0a\x2c\x01\x07", 4)), "10.44.1.7");
  EXPECT_EQ(text(std::string_view("\x00\x00\x00\x00", 4)), "0.0.0.0");
  EXPECT_EQ(text(std::string_view("\xff\xc8\x5f\x09", 4)), "255.200.95.9");
  const std::string mapped("\0\0\0\0\0\0\0\0\0\0\xff\xff\xc0\xa8\x00\x01", 16);
  EXPECT_EQ(text(mapped), "::ffff:192.168.0.1");
  EXPECT_EQ(text(mapped, /*mapped_as_v4=*/true), "192.168.0.1");
  const std::string v6("\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
  EXPECT_EQ(text(v6, true), "2001:db8::1");
  EXPECT_EQ(text("abc"), "abc");  // not an address: as it is
}

}  // namespace
}  // namespace mixer::adapter_sdk
