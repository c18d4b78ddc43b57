// base/json_string.h: JSON string literals. Expectations from RFC 8259 (what must be escaped)
// and Unicode's table 3-7 (well-formed UTF-8), worked out by hand.
#include "base/json_string.h"

#include <cstdio>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace mixer::base {
namespace {

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

TEST(JsonStringTest, QuotesIntoANewString) {
  EXPECT_EQ(jsonQuote(""), R"("")");
  EXPECT_EQ(jsonQuote("say \"hi\"\n"), R"("say \"hi\"\n")");
  EXPECT_EQ(jsonQuote("a\x7f b"), "\"a\x7f b\"");  // DEL is not a control character to JSON
}

TEST(JsonStringTest, HtmlSafeAlsoEscapesAngleBracketsAndAmpersands) {
  EXPECT_EQ(jsonQuote("<a href='x'>&</a>"), R"("<a href='x'>&</a>")");
  EXPECT_EQ(jsonQuote("<a href='x'>&</a>", JsonEscaping::kHtmlSafe),
            R"("\u003ca href='x'\u003e\u0026\u003c/a\u003e")");
  // The rest is escaped as without the option, in short and long strings.
  EXPECT_EQ(jsonQuote("\"\\\n\x01"
                      "caf\xc3\xa9\xff",
                      JsonEscaping::kHtmlSafe),
            "\"\\\"\\\\\\n\\u0001caf\xc3\xa9\\ufffd\"");
  const std::string long_text = "a plain run of more than eight bytes, then <";
  EXPECT_EQ(jsonQuote(long_text, JsonEscaping::kHtmlSafe),
            "\"a plain run of more than eight bytes, then \\u003c\"");
  std::string out = "x";
  appendJsonString("&", &out, JsonEscaping::kHtmlSafe);
  EXPECT_EQ(out, R"(x"\u0026")");
}

}  // namespace
}  // namespace mixer::base
