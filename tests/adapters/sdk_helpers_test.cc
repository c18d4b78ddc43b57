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

using adapter_host::EncodedValue;
using adapter_host::Value;
using ::testing::ElementsAre;

TEST(ParseDurationTest, AcceptsGoDurations) {
  struct Case {
    const char* text;
    int64_t ns;
  };
  for (const Case& c :
       {Case{"0", 0}, Case{"5s", 5'000'000'000}, Case{"1.5ms", 1'500'000}, Case{"250us", 250'000},
        Case{"250\xc2\xb5s", 250'000}, Case{"7ns", 7}, Case{"1m30s", 90'000'000'000},
        Case{"2h", 7'200'000'000'000}, Case{"1h0m0.5s", 3'600'500'000'000}}) {
    int64_t ns = -1;
    EXPECT_TRUE(parseDuration(c.text, &ns)) << c.text;
    EXPECT_EQ(ns, c.ns) << c.text;
  }
}

TEST(ParseDurationTest, RejectsMalformedAndNegativeDurations) {
  for (const char* text :
       {"", "5", "s", "-1s", "1d", "1s5", "1..5s", "five seconds", "1e3s", "999999999999h"}) {
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
  const Value params = Value::map({{"count", Value::int64(500)},
                                   {"ttl", Value::string("soon")},
                                   {"interval", Value::int64(5)},
                                   {"colour", Value::string("red")}});
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
  const Value params = Value::map({{"ttl", Value::durationNs(3'000)}});
  EncodedValue encoded(params);
  ErrorSink errors(nullptr);
  int64_t ttl = 0;
  EXPECT_TRUE(readDuration(ValueView(encoded.get()).find("ttl"), "ttl", errors, &ttl));
  EXPECT_EQ(ttl, 3'000);
}

TEST(JsonStringTest, EscapesWhatJsonRequiresAndCopiesTheRest) {
  std::string out = "x";
  appendJsonString("plain", &out);
  EXPECT_EQ(out, "x\"plain\"");
  out.clear();
  appendJsonString(std::string_view("a\"b\\c\nd\re\tf\x01g\x1f\0h", 16), &out);
  EXPECT_EQ(out, R"("a\"b\\c\nd\re\tf\u0001g\u001f\u0000h")");
  out.clear();
  appendJsonString("caf\xc3\xa9 /path?q=1", &out);  // UTF-8 and '/' pass through
  EXPECT_EQ(out, "\"caf\xc3\xa9 /path?q=1\"");
  out.clear();
  appendJsonString("", &out);
  EXPECT_EQ(out, "\"\"");
}

// Long strings are scanned a word at a time: a byte to escape is found wherever it falls in or
// across a word, bytes just outside the escaped ranges ('!', '#', '[', ']', 0x20, 0x7f) are copied
// as they are, and a lone byte of 0x80 or more (never well-formed UTF-8 between ASCII letters)
// becomes \ufffd.
TEST(JsonStringTest, FindsEveryByteToEscapeAtEveryPositionOfALongString) {
  auto reference = [](std::string_view s) {
    std::string out = "\"";
    for (unsigned char c : s) {
      if (c == '"' || c == '\\') {
        out += '\\';
        out += static_cast<char>(c);
      } else if (c == '\n') {
        out += "\\n";
      } else if (c == '\r') {
        out += "\\r";
      } else if (c == '\t') {
        out += "\\t";
      } else if (c >= 0x80) {
        out += "\\ufffd";
      } else if (c < 0x20) {
        char u[8];
        std::snprintf(u, sizeof(u), "\\u%04x", c);
        out += u;
      } else {
        out += static_cast<char>(c);
      }
    }
    return out + "\"";
  };
  const std::string special("\"\\\n\r\t\x01\x1f\0", 8);
  const std::string near("!#[] \x7f\xc3\xa9\xff", 9);
  size_t checked = 0;
  for (size_t len : {7, 8, 9, 16, 23, 40}) {
    for (size_t at = 0; at < len; ++at) {
      for (char c : special + near) {
        std::string s(len, 'a');
        s[at] = c;
        std::string out;
        appendJsonString(s, &out);
        ASSERT_EQ(out, reference(s)) << "length " << len << ", byte " << int(c) << " at " << at;
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 1000u);
}

// JSON text is UTF-8: well-formed sequences of every length are copied, wherever they fall in a
// long string; each byte that does not start one becomes \ufffd (the rest are then read again).
TEST(JsonStringTest, CopiesWellFormedUtf8AndReplacesEveryIllFormedByte) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"\xc3\xa9", "\xc3\xa9"},                              // U+00E9
      {"\xe2\x82\xac", "\xe2\x82\xac"},                      // U+20AC
      {"\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"},              // U+1F600
      {"\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf"},              // U+10FFFF, the last code point
      {"\xff", "\\ufffd"},                                   // never in UTF-8
      {"\x80", "\\ufffd"},                                   // a stray continuation byte
      {"\xc3", "\\ufffd"},                                   // truncated
      {"\xc0\xaf", "\\ufffd\\ufffd"},                        // overlong '/'
      {"\xe0\x80\xaf", "\\ufffd\\ufffd\\ufffd"},             // overlong, 3 bytes
      {"\xed\xa0\x80", "\\ufffd\\ufffd\\ufffd"},             // a UTF-16 surrogate, U+D800
      {"\xf4\x90\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd"},  // above U+10FFFF
      {"\xe2\x82", "\\ufffd\\ufffd"},                        // truncated 3-byte sequence
  };
  for (const auto& [in, want] : cases) {
    for (size_t len : {0, 3, 8, 13, 30}) {
      for (size_t at = 0; at <= len; ++at) {
        const std::string s = std::string(at, 'a') + in + std::string(len - at, 'b');
        std::string out;
        appendJsonString(s, &out);
        ASSERT_EQ(out, "\"" + std::string(at, 'a') + want + std::string(len - at, 'b') + "\"")
            << "input bytes at " << at << " of " << len;
      }
    }
  }
  EXPECT_TRUE(isValidUtf8("caf\xc3\xa9"));
  EXPECT_FALSE(isValidUtf8("caf\xc3"));
  EXPECT_EQ(utf8Sanitized("a\xff"
                          "b\xc3\xa9"),
            "a\xef\xbf\xbd"
            "b\xc3\xa9");
}

// A string that views the output buffer itself (which grows while it is appended) is escaped as
// if it were a copy.
TEST(JsonStringTest, AppendsAViewOfItsOwnOutput) {
  std::string out = "a \"long\" value, longer than a small string's inline buffer";
  out.shrink_to_fit();
  const std::string want =
      out + R"("a \"long\" value, longer than a small string's inline buffer")";
  appendJsonString(out, &out);
  EXPECT_EQ(out, want);
  std::string plain = "plain text that needs no escape at all, and is long";
  plain.shrink_to_fit();
  const std::string want_plain = plain + "\"" + plain + "\"";
  appendJsonString(plain, &plain);
  EXPECT_EQ(plain, want_plain);
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
