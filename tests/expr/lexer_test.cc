#include "expr/lexer.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace expr {
namespace {

std::vector<Token> tokens(std::string_view src, Dialect d,
                          std::vector<std::string>* texts = nullptr) {
  Lexer lex(src, d);
  std::vector<Token> out;
  for (lex.next(); lex.token() != Token::kEof && lex.token() != Token::kError; lex.next()) {
    out.push_back(lex.token());
    if (texts) texts->push_back(lex.text());
  }
  if (lex.token() == Token::kError) out.push_back(Token::kError);
  return out;
}

TEST(LexerTest, CexlPipeIsAnOperatorCelPipeIsNot) {
  EXPECT_EQ(tokens("a | b", Dialect::kCexl),
            (std::vector<Token>{Token::kIdent, Token::kPipe, Token::kIdent}));
  EXPECT_EQ(tokens("a | b", Dialect::kCel).back(), Token::kError);
}

TEST(LexerTest, CelStringForms) {
  std::vector<std::string> t;
  tokens(R"('a\n' "b" r'\n' b'\xff' '''x'y''' "\u00e9" '\101')", Dialect::kCel, &t);
  ASSERT_EQ(t.size(), 7u);
  EXPECT_EQ(t[0], "a\n");
  EXPECT_EQ(t[1], "b");
  EXPECT_EQ(t[2], "\\n");
  EXPECT_EQ(t[3], "\xff");
  EXPECT_EQ(t[4], "x'y");
  EXPECT_EQ(t[5], "\xc3\xa9");
  EXPECT_EQ(t[6], "A");
}

TEST(LexerTest, GoStringForms) {
  std::vector<std::string> t;
  tokens("\"a\\tb\" `raw\\n` 'c'", Dialect::kCexl, &t);
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t[0], "a\tb");
  EXPECT_EQ(t[1], "raw\\n");
  EXPECT_EQ(t[2], "c");
}

TEST(LexerTest, Numbers) {
  std::vector<std::string> t;
  EXPECT_EQ(tokens("12 0x1F 3u 1.5 1e3 .5", Dialect::kCel, &t),
            (std::vector<Token>{Token::kInt, Token::kInt, Token::kUint, Token::kFloat,
                                Token::kFloat, Token::kFloat}));
  EXPECT_EQ(t[2], "3");
}

TEST(LexerTest, IllegalCharacterReportsPosition) {
  Lexer lex("a ==\n  @", Dialect::kCexl);
  lex.next();
  lex.next();
  lex.next();
  ASSERT_EQ(lex.token(), Token::kError);
  EXPECT_EQ(lex.pos().line, 2);
  EXPECT_EQ(lex.pos().column, 3);
  EXPECT_EQ(lex.text(), "illegal character U+0040 '@'");
}

TEST(LexerTest, CommentsAreSkipped) {
  EXPECT_EQ(tokens("a // comment\n + b", Dialect::kCel),
            (std::vector<Token>{Token::kIdent, Token::kPlus, Token::kIdent}));
}

}  // namespace
}  // namespace expr
