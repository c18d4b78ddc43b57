// base/str_cat.h: strCat and strAppend.
#include "base/str_cat.h"

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "absl/strings/string_view.h"
#include "gtest/gtest.h"

namespace mixer::base {
namespace {

TEST(StrCatTest, ConcatenatesEveryKindOfPiece) {
  const std::string s = "str";
  const std::string_view v = "view";
  const absl::string_view av = "absl";
  const char* c = "chars";
  EXPECT_EQ(strCat(), "");
  EXPECT_EQ(strCat(s, "/", v, "/", av, "/", c, '!'), "str/view/absl/chars!");
  EXPECT_EQ(strCat(true, " ", false), "true false");
}

TEST(StrCatTest, WritesNumbersInDecimal) {
  EXPECT_EQ(strCat(0, " ", -42, " ", 42u, " ", int64_t{-9'000'000'000}), "0 -42 42 -9000000000");
  EXPECT_EQ(strCat(std::numeric_limits<int64_t>::min()), "-9223372036854775808");
  EXPECT_EQ(strCat(std::numeric_limits<uint64_t>::max()), "18446744073709551615");
  EXPECT_EQ(strCat(static_cast<unsigned char>(7)), "7");  // a number, not a character
  // Floating point: the shortest text that reads back as the same value.
  EXPECT_EQ(strCat(0.1), "0.1");
  EXPECT_EQ(strCat(1.5, " ", -2.0), "1.5 -2");
  EXPECT_EQ(strCat(1e20), "1e+20");
  EXPECT_EQ(strCat(0.1f), "0.1");
}

TEST(StrAppendTest, AppendsToTheString) {
  std::string out = "a";
  strAppend(&out, "b", std::string_view("c"), 1, '2');
  EXPECT_EQ(out, "abc12");
  strAppend(&out);
  EXPECT_EQ(out, "abc12");
}

}  // namespace
}  // namespace mixer::base
