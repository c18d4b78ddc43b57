// Tokenizer for both dialects.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "expr/ast.h"

namespace expr {

enum class Token : uint8_t {
  kEof,
  kError,  // text holds the message
  kIdent,
  kQuotedIdent,  // CEL `field name` (text holds the name)
  kInt,          // text holds the digits (with 0x prefix when hex)
  kUint,         // text holds the digits without the suffix
  kFloat,        // text holds the literal
  kString,       // text holds the decoded value
  kBytes,        // text holds the decoded value
  kLParen,
  kRParen,
  kLBracket,
  kRBracket,
  kLBrace,
  kRBrace,
  kDot,
  kComma,
  kColon,
  kQuestion,
  kPlus,
  kMinus,
  kStar,
  kSlash,
  kPercent,
  kBang,
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
  kAndAnd,
  kOrOr,
  kPipe,     // CEXL default operator
  kAssign,   // '=' (only to report a helpful error)
  kOtherOp,  // a Go operator CEXL does not support (&, ^, <<, >>, &^); text holds it
};

class Lexer {
 public:
  Lexer(std::string_view source, Dialect dialect) : src_(source), dialect_(dialect) {}

  // Advances to the next token.
  void next();
  Token token() const { return token_; }
  const std::string& text() const { return text_; }
  SourcePosition pos() const { return tok_pos_; }
  // Position of an arbitrary offset.
  SourcePosition positionOf(size_t offset) const;

 private:
  void lexNumber();
  void lexString(size_t prefix_len, bool raw, bool bytes);
  void lexGoString(char quote);
  bool decodeEscape(size_t* i, bool bytes, std::string* out);
  void fail(size_t offset, std::string message);

  std::string_view src_;
  Dialect dialect_;
  size_t i_ = 0;
  int32_t line_ = 1;
  size_t line_start_ = 0;
  Token token_ = Token::kEof;
  std::string text_;
  SourcePosition tok_pos_;
};

// Appends the UTF-8 encoding of a code point.
void appendUtf8(uint32_t cp, std::string* out);

}  // namespace expr
