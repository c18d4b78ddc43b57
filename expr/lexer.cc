#include "expr/lexer.h"
#include "expr/str_util.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace expr {
namespace {

bool isIdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isHex(char c) { return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
int hexValue(char c) {
  if (isDigit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

}  // namespace

void appendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

SourcePosition Lexer::positionOf(size_t offset) const {
  SourcePosition p;
  p.offset = static_cast<int32_t>(offset);
  size_t line_start = 0;
  for (size_t k = 0; k < offset && k < src_.size(); ++k) {
    if (src_[k] == '\n') {
      ++p.line;
      line_start = k + 1;
    }
  }
  p.column = static_cast<int32_t>(offset - line_start + 1);
  return p;
}

void Lexer::fail(size_t offset, std::string message) {
  token_ = Token::kError;
  tok_pos_ = positionOf(offset);
  text_ = std::move(message);
  i_ = src_.size();
}

void Lexer::next() {
  text_.clear();
  // Skip whitespace and comments.
  while (i_ < src_.size()) {
    char c = src_[i_];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v') {
      if (c == '\n') {
        ++line_;
        line_start_ = i_ + 1;
      }
      ++i_;
    } else if (c == '/' && i_ + 1 < src_.size() && src_[i_ + 1] == '/') {
      while (i_ < src_.size() && src_[i_] != '\n') ++i_;
    } else {
      break;
    }
  }
  tok_pos_.offset = static_cast<int32_t>(i_);
  tok_pos_.line = line_;
  tok_pos_.column = static_cast<int32_t>(i_ - line_start_ + 1);
  if (i_ >= src_.size()) {
    token_ = Token::kEof;
    return;
  }
  const char c = src_[i_];
  const char n = i_ + 1 < src_.size() ? src_[i_ + 1] : '\0';
  if (dialect_ == Dialect::kCel && (c == 'r' || c == 'R' || c == 'b' || c == 'B')) {
    // String prefixes: r, b, rb, br (any case).
    bool raw = false, bytes = false;
    size_t k = i_;
    for (int j = 0; j < 2 && k < src_.size(); ++j) {
      char p = src_[k];
      if ((p == 'r' || p == 'R') && !raw) {
        raw = true;
        ++k;
      } else if ((p == 'b' || p == 'B') && !bytes) {
        bytes = true;
        ++k;
      } else {
        break;
      }
    }
    if (k < src_.size() && (src_[k] == '"' || src_[k] == '\'')) {
      lexString(k - i_, raw, bytes);
      return;
    }
  }
  if (isIdentStart(c)) {
    size_t start = i_;
    while (i_ < src_.size() && (isIdentStart(src_[i_]) || isDigit(src_[i_]))) ++i_;
    token_ = Token::kIdent;
    text_.assign(src_.substr(start, i_ - start));
    return;
  }
  if (isDigit(c) || (c == '.' && isDigit(n))) {
    lexNumber();
    return;
  }
  if (c == '"' || c == '\'') {
    if (dialect_ == Dialect::kCexl) {
      lexGoString(c);
    } else {
      lexString(0, false, false);
    }
    return;
  }
  if (c == '`' && dialect_ == Dialect::kCel) {
    size_t end = src_.find('`', i_ + 1);
    if (end == std::string_view::npos || end == i_ + 1) {
      return fail(i_, "quoted field name not terminated");
    }
    token_ = Token::kQuotedIdent;
    text_.assign(src_.substr(i_ + 1, end - i_ - 1));
    i_ = end + 1;
    return;
  }
  if (c == '`' && dialect_ == Dialect::kCexl) {
    size_t end = src_.find('`', i_ + 1);
    if (end == std::string_view::npos) return fail(i_, "raw string literal not terminated");
    token_ = Token::kString;
    for (size_t k = i_ + 1; k < end; ++k) {
      if (src_[k] == '\n') {
        ++line_;
        line_start_ = k + 1;
      }
      if (src_[k] != '\r') text_.push_back(src_[k]);
    }
    i_ = end + 1;
    return;
  }
  auto op = [&](Token t, size_t len) {
    token_ = t;
    text_.assign(src_.substr(i_, len));
    i_ += len;
  };
  switch (c) {
    case '(':
      return op(Token::kLParen, 1);
    case ')':
      return op(Token::kRParen, 1);
    case '[':
      return op(Token::kLBracket, 1);
    case ']':
      return op(Token::kRBracket, 1);
    case '{':
      return op(Token::kLBrace, 1);
    case '}':
      return op(Token::kRBrace, 1);
    case '.':
      return op(Token::kDot, 1);
    case ',':
      return op(Token::kComma, 1);
    case ':':
      return op(Token::kColon, 1);
    case '?':
      return op(Token::kQuestion, 1);
    case '+':
      return op(Token::kPlus, 1);
    case '-':
      return op(Token::kMinus, 1);
    case '*':
      return op(Token::kStar, 1);
    case '/':
      return op(Token::kSlash, 1);
    case '%':
      return op(Token::kPercent, 1);
    case '!':
      return n == '=' ? op(Token::kNe, 2) : op(Token::kBang, 1);
    case '=':
      return n == '=' ? op(Token::kEq, 2) : op(Token::kAssign, 1);
    case '<':
      if (n == '=') return op(Token::kLe, 2);
      if (n == '<' && dialect_ == Dialect::kCexl) return op(Token::kOtherOp, 2);
      return op(Token::kLt, 1);
    case '>':
      if (n == '=') return op(Token::kGe, 2);
      if (n == '>' && dialect_ == Dialect::kCexl) return op(Token::kOtherOp, 2);
      return op(Token::kGt, 1);
    case '&':
      if (n == '&') return op(Token::kAndAnd, 2);
      if (dialect_ == Dialect::kCexl) return op(Token::kOtherOp, n == '^' ? 2 : 1);
      break;
    case '|':
      if (n == '|') return op(Token::kOrOr, 2);
      if (dialect_ == Dialect::kCexl) return op(Token::kPipe, 1);
      break;
    case '^':
      if (dialect_ == Dialect::kCexl) return op(Token::kOtherOp, 1);
      break;
    default:
      break;
  }
  unsigned char uc = static_cast<unsigned char>(c);
  if (uc >= 0x20 && uc < 0x7f) {
    return fail(i_, absl::StrFormat("illegal character U+%04X '%c'", uc, c));
  }
  return fail(i_, absl::StrFormat("illegal character 0x%02X", uc));
}

void Lexer::lexNumber() {
  size_t start = i_;
  const size_t len = src_.size();
  if (src_[i_] == '0' && i_ + 1 < len && (src_[i_ + 1] == 'x' || src_[i_ + 1] == 'X')) {
    i_ += 2;
    size_t digits = i_;
    while (i_ < len && isHex(src_[i_])) ++i_;
    if (i_ == digits) return fail(start, "hexadecimal literal has no digits");
    text_.assign(src_.substr(start, i_ - start));
    token_ = Token::kInt;
  } else {
    bool is_float = false;
    while (i_ < len && isDigit(src_[i_])) ++i_;
    if (i_ < len && src_[i_] == '.' && i_ + 1 < len && isDigit(src_[i_ + 1])) {
      is_float = true;
      ++i_;
      while (i_ < len && isDigit(src_[i_])) ++i_;
    } else if (dialect_ == Dialect::kCexl && i_ < len && src_[i_] == '.' &&
               !(i_ + 1 < len && isIdentStart(src_[i_ + 1]))) {
      // Go accepts "1." as a float.
      is_float = true;
      ++i_;
    }
    if (i_ < len && (src_[i_] == 'e' || src_[i_] == 'E')) {
      size_t k = i_ + 1;
      if (k < len && (src_[k] == '+' || src_[k] == '-')) ++k;
      if (k < len && isDigit(src_[k])) {
        is_float = true;
        i_ = k;
        while (i_ < len && isDigit(src_[i_])) ++i_;
      }
    }
    text_.assign(src_.substr(start, i_ - start));
    token_ = is_float ? Token::kFloat : Token::kInt;
  }
  if (token_ == Token::kInt && dialect_ == Dialect::kCel && i_ < len &&
      (src_[i_] == 'u' || src_[i_] == 'U')) {
    ++i_;
    token_ = Token::kUint;
  }
  if (i_ < len && (isIdentStart(src_[i_]) || isDigit(src_[i_]))) {
    return fail(start,
                strCat("malformed number literal '", src_.substr(start, i_ + 1 - start), "'"));
  }
}

bool Lexer::decodeEscape(size_t* pi, bool bytes, std::string* out) {
  size_t i = *pi;  // at the backslash
  if (i + 1 >= src_.size()) {
    fail(i, "unterminated escape sequence");
    return false;
  }
  char e = src_[i + 1];
  i += 2;
  switch (e) {
    case 'a':
      out->push_back('\a');
      break;
    case 'b':
      out->push_back('\b');
      break;
    case 'f':
      out->push_back('\f');
      break;
    case 'n':
      out->push_back('\n');
      break;
    case 'r':
      out->push_back('\r');
      break;
    case 't':
      out->push_back('\t');
      break;
    case 'v':
      out->push_back('\v');
      break;
    case '\\':
      out->push_back('\\');
      break;
    case '?':
      out->push_back('?');
      break;
    case '"':
      out->push_back('"');
      break;
    case '\'':
      out->push_back('\'');
      break;
    case '`':
      out->push_back('`');
      break;
    case 'x':
    case 'X':
    case 'u':
    case 'U': {
      int digits = (e == 'x' || e == 'X') ? 2 : (e == 'u' ? 4 : 8);
      if (i + digits > src_.size()) {
        fail(*pi, "invalid escape sequence");
        return false;
      }
      uint32_t cp = 0;
      for (int k = 0; k < digits; ++k) {
        if (!isHex(src_[i + k])) {
          fail(*pi, "invalid escape sequence");
          return false;
        }
        cp = cp * 16 + hexValue(src_[i + k]);
      }
      i += digits;
      if (digits == 2 && bytes) {
        out->push_back(static_cast<char>(cp));
      } else {
        if ((cp >= 0xD800 && cp < 0xE000) || cp > 0x10FFFF) {
          fail(*pi, "invalid unicode code point in escape sequence");
          return false;
        }
        if (bytes && digits != 2) {
          fail(*pi, "unicode escape in bytes literal");
          return false;
        }
        appendUtf8(cp, out);
      }
      break;
    }
    default:
      if (e >= '0' && e <= '3') {
        if (i + 2 > src_.size() || src_[i] < '0' || src_[i] > '7' || src_[i + 1] < '0' ||
            src_[i + 1] > '7') {
          fail(*pi, "invalid octal escape sequence");
          return false;
        }
        uint32_t cp = (e - '0') * 64 + (src_[i] - '0') * 8 + (src_[i + 1] - '0');
        i += 2;
        if (bytes) {
          out->push_back(static_cast<char>(cp));
        } else {
          appendUtf8(cp, out);
        }
        break;
      }
      fail(*pi, strCat("invalid escape sequence '\\", std::string(1, e), "'"));
      return false;
  }
  *pi = i;
  return true;
}

void Lexer::lexString(size_t prefix_len, bool raw, bool bytes) {
  size_t start = i_;
  size_t i = i_ + prefix_len;
  char q = src_[i];
  bool triple = i + 2 < src_.size() && src_[i + 1] == q && src_[i + 2] == q;
  i += triple ? 3 : 1;
  std::string out;
  while (true) {
    if (i >= src_.size()) return fail(start, "string literal not terminated");
    char c = src_[i];
    if (c == q && (!triple || (i + 2 < src_.size() && src_[i + 1] == q && src_[i + 2] == q))) {
      i += triple ? 3 : 1;
      break;
    }
    if (!triple && (c == '\n' || c == '\r')) return fail(start, "string literal not terminated");
    if (c == '\n') {
      ++line_;
      line_start_ = i + 1;
    }
    if (c == '\\' && !raw) {
      if (!decodeEscape(&i, bytes, &out)) return;
      continue;
    }
    out.push_back(c);
    ++i;
  }
  i_ = i;
  token_ = bytes ? Token::kBytes : Token::kString;
  text_ = std::move(out);
}

void Lexer::lexGoString(char quote) {
  size_t start = i_;
  size_t i = i_ + 1;
  std::string out;
  while (true) {
    if (i >= src_.size() || src_[i] == '\n') {
      return fail(start,
                  quote == '"' ? "string literal not terminated" : "rune literal not terminated");
    }
    char c = src_[i];
    if (c == quote) {
      ++i;
      break;
    }
    if (c == '\\') {
      if (!decodeEscape(&i, false, &out)) return;
      continue;
    }
    out.push_back(c);
    ++i;
  }
  i_ = i;
  if (quote == '\'') {
    // A Go rune literal: exactly one character.
    size_t cps = 0;
    for (unsigned char ch : out) cps += (ch & 0xC0) != 0x80;
    if (cps != 1) return fail(start, "illegal rune literal");
  }
  token_ = Token::kString;
  text_ = std::move(out);
}

}  // namespace expr
