#include "expr/parser.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "expr/lexer.h"
#include "expr/str_util.h"

namespace expr {

std::string formatError(const SourcePosition& pos, std::string_view message) {
  return strCat(pos.line, ":", pos.column, ": ", message);
}

namespace {

constexpr char kPositionPayload[] = "expr.PositionedError";

}  // namespace

absl::Status positionedError(const SourcePosition& pos, std::string_view message) {
  absl::Status status = absl::InvalidArgumentError(formatError(pos, message));
  // Three int32 fields (offset, line, column) in host byte order, then the message.
  std::string payload(3 * sizeof(int32_t), '\0');
  const int32_t fields[3] = {pos.offset, pos.line, pos.column};
  std::memcpy(payload.data(), fields, sizeof(fields));
  payload.append(message);
  status.SetPayload(kPositionPayload, absl::Cord(payload));
  return status;
}

std::optional<PositionedError> positionedErrorOf(const absl::Status& status) {
  const auto payload = status.GetPayload(kPositionPayload);
  if (!payload) return std::nullopt;
  const std::string bytes(*payload);
  int32_t fields[3];
  if (bytes.size() < sizeof(fields)) return std::nullopt;
  std::memcpy(fields, bytes.data(), sizeof(fields));
  return PositionedError{SourcePosition{fields[0], fields[1], fields[2]},
                         bytes.substr(sizeof(fields))};
}

namespace {

const absl::flat_hash_set<std::string_view>& celReserved() {
  static const auto* words = new absl::flat_hash_set<std::string_view>{
      "as",  "break", "const",   "continue",  "else",   "for", "function", "if",   "import",
      "let", "loop",  "package", "namespace", "return", "var", "void",     "while"};
  return *words;
}

std::string_view describe(Token t, const std::string& text) {
  switch (t) {
    case Token::kEof:
      return "end of expression";
    case Token::kString:
      return "string literal";
    case Token::kBytes:
      return "bytes literal";
    case Token::kInt:
    case Token::kUint:
    case Token::kFloat:
      return "number literal";
    default:
      return text;
  }
}

class Parser {
 public:
  Parser(std::string_view src, const ParseOptions& options)
      : lex_(src, options.dialect), options_(options), cexl_(options.dialect == Dialect::kCexl) {}

  absl::StatusOr<NodePtr> run() {
    lex_.next();
    NodePtr root = parseExpr();
    if (!failed_ && lex_.token() != Token::kEof) {
      if (cexl_ && lex_.token() == Token::kAssign) {
        error(lex_.pos(), "expected '==', found '='");
      } else {
        error(lex_.pos(), strCat("unexpected ", describe(lex_.token(), lex_.text())));
      }
    }
    if (failed_) return positionedError(error_.pos, error_.message);
    return root;
  }

 private:
  void error(SourcePosition pos, std::string_view msg) {
    if (failed_) return;
    failed_ = true;
    error_ = PositionedError{pos, std::string(msg)};
  }
  bool at(Token t) const { return lex_.token() == t; }
  bool expect(Token t, std::string_view what) {
    if (at(t)) {
      lex_.next();
      return true;
    }
    if (at(Token::kError)) {
      error(lex_.pos(), lex_.text());
    } else {
      error(lex_.pos(), strCat("expected ", what, ", found ", describe(lex_.token(), lex_.text())));
    }
    return false;
  }

  NodePtr make(Node::Kind kind, SourcePosition pos) {
    auto n = std::make_unique<Node>();
    n->kind = kind;
    n->pos = pos;
    return n;
  }
  // Finishes a node: computes its height and enforces the depth limit.
  NodePtr seal(NodePtr n) {
    int32_t h = 0;
    for (const auto& c : n->children) h = std::max(h, c->height);
    n->height = h + 1;
    if (n->height > options_.max_depth) {
      error(n->pos, strCat("expression nested too deeply (limit ", options_.max_depth, ")"));
    }
    return n;
  }
  NodePtr call(std::string_view fn, SourcePosition pos, NodePtr a, NodePtr b = nullptr) {
    NodePtr n = make(Node::Kind::kCall, pos);
    n->name = fn;
    n->children.push_back(std::move(a));
    if (b) n->children.push_back(std::move(b));
    return seal(std::move(n));
  }
  NodePtr bad() { return make(Node::Kind::kLiteral, lex_.pos()); }

  struct DepthGuard {
    Parser* p;
    explicit DepthGuard(Parser* parser) : p(parser) { ++p->depth_; }
    ~DepthGuard() { --p->depth_; }
  };

  NodePtr parseExpr() {
    DepthGuard guard(this);
    if (depth_ > options_.max_depth) {
      error(lex_.pos(), strCat("expression nested too deeply (limit ", options_.max_depth, ")"));
      return bad();
    }
    NodePtr cond = parseOr();
    if (failed_ || cexl_ || !at(Token::kQuestion)) return cond;
    SourcePosition pos = lex_.pos();
    lex_.next();
    NodePtr a = parseOr();
    if (failed_ || !expect(Token::kColon, "':'")) return bad();
    NodePtr b = parseExpr();
    NodePtr n = make(Node::Kind::kCall, pos);
    n->name = "_?_:_";
    n->children.push_back(std::move(cond));
    n->children.push_back(std::move(a));
    n->children.push_back(std::move(b));
    return seal(std::move(n));
  }

  NodePtr parseOr() {
    NodePtr left = parseAnd();
    while (!failed_ && at(Token::kOrOr)) {
      SourcePosition pos = lex_.pos();
      lex_.next();
      left = call("_||_", pos, std::move(left), parseAnd());
    }
    return left;
  }

  NodePtr parseAnd() {
    NodePtr left = parseRelation();
    while (!failed_ && at(Token::kAndAnd)) {
      SourcePosition pos = lex_.pos();
      lex_.next();
      left = call("_&&_", pos, std::move(left), parseRelation());
    }
    return left;
  }

  NodePtr parseRelation() {
    NodePtr left = parseAdditive();
    while (!failed_) {
      std::string_view fn;
      switch (lex_.token()) {
        case Token::kEq:
          fn = "_==_";
          break;
        case Token::kNe:
          fn = "_!=_";
          break;
        case Token::kLt:
          fn = "_<_";
          break;
        case Token::kLe:
          fn = "_<=_";
          break;
        case Token::kGt:
          fn = "_>_";
          break;
        case Token::kGe:
          fn = "_>=_";
          break;
        case Token::kIdent:
          if (!cexl_ && lex_.text() == "in") fn = "@in";
          break;
        default:
          break;
      }
      if (fn.empty()) return left;
      SourcePosition pos = lex_.pos();
      lex_.next();
      left = call(fn, pos, std::move(left), parseAdditive());
    }
    return left;
  }

  NodePtr parseAdditive() {
    NodePtr left = parseMultiplicative();
    while (!failed_) {
      std::string_view fn;
      if (at(Token::kPlus))
        fn = "_+_";
      else if (at(Token::kMinus))
        fn = "_-_";
      else if (at(Token::kPipe))
        fn = "_|_";
      else if (at(Token::kOtherOp) && lex_.text() == "^")
        fn = "_^_";
      if (fn.empty()) return left;
      SourcePosition pos = lex_.pos();
      lex_.next();
      if (fn == "_|_" && at(Token::kEof)) {
        error(lex_.pos(), "expected operand, found end of expression");
        return left;
      }
      left = call(fn, pos, std::move(left), parseMultiplicative());
    }
    return left;
  }

  NodePtr parseMultiplicative() {
    NodePtr left = parseUnary();
    while (!failed_) {
      std::string fn;
      if (at(Token::kStar))
        fn = "_*_";
      else if (at(Token::kSlash))
        fn = "_/_";
      else if (at(Token::kPercent))
        fn = "_%_";
      else if (at(Token::kOtherOp) && lex_.text() != "^")
        fn = strCat("_", lex_.text(), "_");
      if (fn.empty()) return left;
      SourcePosition pos = lex_.pos();
      lex_.next();
      left = call(fn, pos, std::move(left), parseUnary());
    }
    return left;
  }

  NodePtr parseUnary() {
    SourcePosition pos = lex_.pos();
    if (at(Token::kBang) || at(Token::kMinus) || (cexl_ && at(Token::kPlus))) {
      std::string fn = at(Token::kBang) ? "!_" : (at(Token::kMinus) ? "-_" : "+_");
      lex_.next();
      if (!cexl_ && fn == "-_" && (at(Token::kInt) || at(Token::kFloat))) {
        // Fold the sign into the literal so that the most negative int64 is expressible.
        NodePtr lit = parseLiteral(/*negative=*/true);
        return parseMemberSuffix(std::move(lit));
      }
      DepthGuard guard(this);
      if (depth_ > options_.max_depth * 4) {
        error(pos, strCat("expression nested too deeply (limit ", options_.max_depth, ")"));
        return bad();
      }
      NodePtr operand = parseUnary();
      return call(fn, pos, std::move(operand));
    }
    return parseMemberSuffix(parsePrimary());
  }

  NodePtr parseLiteral(bool negative) {
    NodePtr n = make(Node::Kind::kLiteral, lex_.pos());
    const std::string& t = lex_.text();
    if (at(Token::kInt)) {
      n->literal_type = ValueType::kInt64;
      bool hex = t.size() > 2 && (t[1] == 'x' || t[1] == 'X');
      if (hex && cexl_) {
        // Istio parses integer literals with strconv.ParseInt(v, 10, 64).
        error(n->pos, strCat("invalid integer literal '", t, "'"));
        return n;
      }
      uint64_t mag = 0;
      bool ok = hex ? simpleAtoi(std::string_view(t).substr(2), &mag, 16) : simpleAtoi(t, &mag);
      uint64_t limit = negative ? (uint64_t{1} << 63) : (uint64_t{1} << 63) - 1;
      if (!ok || mag > limit) {
        error(n->pos, strCat("integer literal out of range: ", negative ? "-" : "", t));
        return n;
      }
      n->int_value = negative ? static_cast<int64_t>(0 - mag) : static_cast<int64_t>(mag);
    } else if (at(Token::kUint)) {
      n->literal_type = ValueType::kUint64;
      bool hex = t.size() > 2 && (t[1] == 'x' || t[1] == 'X');
      bool ok = hex ? simpleAtoi(std::string_view(t).substr(2), &n->uint_value, 16)
                    : simpleAtoi(t, &n->uint_value);
      if (!ok) {
        error(n->pos, strCat("unsigned integer literal out of range: ", t));
        return n;
      }
    } else if (at(Token::kFloat)) {
      n->literal_type = ValueType::kDouble;
      errno = 0;
      n->double_value = std::strtod(t.c_str(), nullptr);
      if (negative) n->double_value = -n->double_value;
    }
    lex_.next();
    return n;
  }

  NodePtr parsePrimary() {
    SourcePosition pos = lex_.pos();
    switch (lex_.token()) {
      case Token::kError:
        error(pos, lex_.text());
        return bad();
      case Token::kInt:
      case Token::kUint:
      case Token::kFloat:
        return parseLiteral(false);
      case Token::kString:
      case Token::kBytes: {
        NodePtr n = make(Node::Kind::kLiteral, pos);
        n->literal_type = at(Token::kString) ? ValueType::kString : ValueType::kBytes;
        n->text = lex_.text();
        lex_.next();
        return n;
      }
      case Token::kLParen: {
        lex_.next();
        NodePtr e = parseExpr();
        if (failed_ || !expect(Token::kRParen, "')'")) return bad();
        return e;
      }
      case Token::kLBracket:
        if (!cexl_) return parseList();
        break;
      case Token::kLBrace:
        if (!cexl_) return parseMap();
        break;
      case Token::kDot:
        if (!cexl_) {
          lex_.next();
          if (!at(Token::kIdent)) {
            error(lex_.pos(), "expected identifier after '.'");
            return bad();
          }
          return parseIdentOrCall(pos, ".");
        }
        break;
      case Token::kIdent:
        return parseIdentOrCall(pos, "");
      default:
        break;
    }
    if (at(Token::kEof)) {
      error(pos, "expected operand, found end of expression");
    } else {
      error(pos, strCat("expected operand, found '", lex_.text(), "'"));
    }
    return bad();
  }

  NodePtr parseIdentOrCall(SourcePosition pos, std::string_view prefix) {
    std::string name = strCat(prefix, lex_.text());
    if (!cexl_ && (celReserved().contains(lex_.text()) || lex_.text() == "in")) {
      error(pos, strCat("reserved identifier '", lex_.text(), "'"));
      return bad();
    }
    lex_.next();
    if (!cexl_ && prefix.empty() && (name == "true" || name == "false" || name == "null")) {
      NodePtr n = make(Node::Kind::kLiteral, pos);
      if (name == "null") {
        n->literal_type = ValueType::kNull;
      } else {
        n->literal_type = ValueType::kBool;
        n->bool_value = name == "true";
      }
      return n;
    }
    if (at(Token::kLParen)) {
      NodePtr n = make(Node::Kind::kCall, pos);
      n->name = name;
      lex_.next();
      parseArgs(Token::kRParen, &n->children);
      if (failed_) return bad();
      if (!cexl_ && options_.enable_macros && name == "has") {
        if (n->children.size() != 1 || n->children[0]->kind != Node::Kind::kSelect) {
          error(pos, "invalid argument to has() macro");
          return bad();
        }
        n->kind = Node::Kind::kHas;
      }
      return seal(std::move(n));
    }
    NodePtr n = make(Node::Kind::kIdent, pos);
    n->name = std::move(name);
    return n;
  }

  void parseArgs(Token close, std::vector<NodePtr>* out) {
    while (!failed_ && !at(close)) {
      out->push_back(parseExpr());
      if (failed_) return;
      if (at(Token::kComma)) {
        lex_.next();
        continue;
      }
      if (!at(close)) {
        expect(close, close == Token::kRParen ? "')'" : "']'");
        return;
      }
    }
    if (!failed_) lex_.next();
  }

  NodePtr parseList() {
    NodePtr n = make(Node::Kind::kList, lex_.pos());
    lex_.next();
    parseArgs(Token::kRBracket, &n->children);
    if (failed_) return bad();
    return seal(std::move(n));
  }

  NodePtr parseMap() {
    NodePtr n = make(Node::Kind::kMap, lex_.pos());
    lex_.next();
    while (!failed_ && !at(Token::kRBrace)) {
      n->children.push_back(parseExpr());
      if (failed_ || !expect(Token::kColon, "':'")) return bad();
      n->children.push_back(parseExpr());
      if (failed_) return bad();
      if (at(Token::kComma)) {
        lex_.next();
        continue;
      }
      if (!expect(Token::kRBrace, "'}'")) return bad();
      return seal(std::move(n));
    }
    if (failed_) return bad();
    lex_.next();
    return seal(std::move(n));
  }

  NodePtr parseMemberSuffix(NodePtr operand) {
    while (!failed_) {
      SourcePosition pos = lex_.pos();
      if (at(Token::kDot)) {
        lex_.next();
        if (!at(Token::kIdent) && !at(Token::kQuotedIdent)) {
          error(lex_.pos(), "expected identifier after '.'");
          return bad();
        }
        const bool quoted = at(Token::kQuotedIdent);
        std::string field = lex_.text();
        SourcePosition fpos = lex_.pos();
        lex_.next();
        if (at(Token::kLParen) && !quoted) {
          lex_.next();
          NodePtr n = make(Node::Kind::kCall, fpos);
          n->name = field;
          n->has_target = true;
          n->children.push_back(std::move(operand));
          parseArgs(Token::kRParen, &n->children);
          if (failed_) return bad();
          if (!cexl_ && options_.enable_macros) n = expandMacro(std::move(n));
          if (failed_) return bad();
          operand = seal(std::move(n));
        } else {
          // A selection is reported at the start of its operand (the start of a dotted name).
          NodePtr n = make(Node::Kind::kSelect, operand->pos);
          n->name = field;
          n->children.push_back(std::move(operand));
          operand = seal(std::move(n));
        }
      } else if (at(Token::kLBracket)) {
        lex_.next();
        NodePtr index = parseExpr();
        if (failed_ || !expect(Token::kRBracket, "']'")) return bad();
        operand = call("_[_]", pos, std::move(operand), std::move(index));
      } else if (at(Token::kLBrace) && !cexl_ &&
                 (operand->kind == Node::Kind::kIdent || operand->kind == Node::Kind::kSelect)) {
        error(pos, "message construction is not supported");
        return bad();
      } else {
        return operand;
      }
    }
    return operand;
  }

  NodePtr expandMacro(NodePtr n) {
    static const struct {
      std::string_view name;
      size_t args;
      MacroKind kind;
    } kMacros[] = {{"all", 2, MacroKind::kAll},
                   {"exists", 2, MacroKind::kExists},
                   {"exists_one", 2, MacroKind::kExistsOne},
                   {"map", 2, MacroKind::kMap},
                   {"map", 3, MacroKind::kMapFilter},
                   {"filter", 2, MacroKind::kFilter}};
    size_t nargs = n->children.size() - 1;
    for (const auto& m : kMacros) {
      if (m.name != n->name || m.args != nargs) continue;
      if (n->children[1]->kind != Node::Kind::kIdent || n->children[1]->name[0] == '.') {
        error(n->children[1]->pos, strCat(n->name, "() variable name must be a simple identifier"));
        return n;
      }
      NodePtr macro = make(Node::Kind::kMacro, n->pos);
      macro->macro = m.kind;
      macro->name = n->children[1]->name;
      macro->children.push_back(std::move(n->children[0]));
      for (size_t k = 2; k < n->children.size(); ++k) {
        macro->children.push_back(std::move(n->children[k]));
      }
      return macro;
    }
    return n;
  }

  Lexer lex_;
  const ParseOptions& options_;
  bool cexl_;
  bool failed_ = false;
  PositionedError error_;
  int depth_ = 0;
};

}  // namespace

absl::StatusOr<NodePtr> parse(std::string_view source, const ParseOptions& options) {
  if (source.size() > options.max_expression_length) {
    return positionedError(SourcePosition{},
                           strCat("expression too long (", source.size(), " bytes, limit ",
                                  options.max_expression_length, ")"));
  }
  Parser p(source, options);
  return p.run();
}

}  // namespace expr
