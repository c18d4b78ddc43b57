#include "expr/glob.h"

#include "gtest/gtest.h"

namespace expr {
namespace {

TEST(GlobTest, TrailingStarIsAPrefixMatch) {
  EXPECT_TRUE(globMatch("reviews.default", "reviews.*"));
  EXPECT_TRUE(globMatch("reviews.", "reviews.*"));
  EXPECT_FALSE(globMatch("ratings.default", "reviews.*"));
  EXPECT_TRUE(globMatch("anything", "*"));
  EXPECT_TRUE(globMatch("", "*"));
}

TEST(GlobTest, LeadingStarIsASuffixMatch) {
  EXPECT_TRUE(globMatch("x.svc.local", "*.svc.local"));
  EXPECT_FALSE(globMatch("x.svc.local.evil", "*.svc.local"));
  EXPECT_TRUE(globMatch(".svc.local", "*.svc.local"));
}

TEST(GlobTest, TrailingStarWinsOverALeadingOne) {
  // "*a*" is the prefix "*a", not "contains a".
  EXPECT_TRUE(globMatch("*a-prefix", "*a*"));
  EXPECT_FALSE(globMatch("bab", "*a*"));
}

TEST(GlobTest, OtherwiseExactAndAnInnerStarIsLiteral) {
  EXPECT_TRUE(globMatch("abc", "abc"));
  EXPECT_FALSE(globMatch("abcd", "abc"));
  EXPECT_FALSE(globMatch("Abc", "abc"));
  EXPECT_FALSE(globMatch("abc", "a*c"));
  EXPECT_TRUE(globMatch("a*c", "a*c"));
  EXPECT_TRUE(globMatch("", ""));
}

}  // namespace
}  // namespace expr
