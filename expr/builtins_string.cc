// String functions: size, startsWith/endsWith/contains, match (glob), matches (RE2), case
// conversion, and the CEL strings extension (charAt, indexOf, substring, trim, replace, split,
// join, reverse). Indices and sizes count Unicode code points.
#include <cstring>
#include <vector>

#include "absl/strings/ascii.h"
#include "expr/builtins_internal.h"
#include "expr/glob.h"
#include "expr/str_util.h"
#include "re2/re2.h"

namespace expr::internal {

// UTF-8 helpers.
size_t codePointCount(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}
bool validUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = s[i];
    size_t len;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      unsigned char d = s[i + k];
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp < 0xE000)) {
      return false;
    }
    i += len;
  }
  return true;
}
// Byte offsets of each code point (plus the end).
std::vector<size_t> codePointOffsets(std::string_view s) {
  std::vector<size_t> offs;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) offs.push_back(i);
  }
  offs.push_back(s.size());
  return offs;
}

namespace {

bool stringArgs(const Value* a, int n) {
  for (int i = 0; i < n; ++i) {
    if (a[i].type != ValueType::kString) return false;
  }
  return true;
}

Value regexMatch(std::string_view pattern, std::string_view s, EvalContext& ctx) {
  // Patterns known at compile time are precompiled (Op::kMatchRegex); this path compiles per
  // call and therefore allocates.
  RE2::Options opts(RE2::Quiet);
  opts.set_max_mem(8 << 20);
  RE2 re(re2::StringPiece(pattern.data(), pattern.size()), opts);
  if (!re.ok()) {
    return makeErrorf(ctx, strCat("invalid regular expression '", pattern, "': ", re.error()));
  }
  return Value::makeBool(RE2::PartialMatch(re2::StringPiece(s.data(), s.size()), re));
}

}  // namespace

Value fnSizeCexl(const Value* a, int, EvalContext& ctx) {
  return Value::makeInt(static_cast<int64_t>(a[0].str.size));
}

Value fnSizeCel(const Value* a, int, EvalContext& ctx) {
  switch (a[0].type) {
    case ValueType::kString:
      return Value::makeInt(codePointCount(a[0].stringView()));
    case ValueType::kBytes:
      return Value::makeInt(a[0].str.size);
    case ValueType::kList:
    case ValueType::kMap:
    case ValueType::kStringMap:
      return Value::makeInt(containerSize(a[0]));
    default:
      return noOverload(ctx, "size", a[0]);
  }
}

Value fnStartsWith(const Value* a, int, EvalContext& ctx) {
  if (!stringArgs(a, 2)) return noOverload(ctx, "startsWith", a[0], a[1]);
  return Value::makeBool(a[0].stringView().starts_with(a[1].stringView()));
}
Value fnEndsWith(const Value* a, int, EvalContext& ctx) {
  if (!stringArgs(a, 2)) return noOverload(ctx, "endsWith", a[0], a[1]);
  return Value::makeBool(a[0].stringView().ends_with(a[1].stringView()));
}
Value fnContains(const Value* a, int, EvalContext& ctx) {
  if (!stringArgs(a, 2)) return noOverload(ctx, "contains", a[0], a[1]);
  return Value::makeBool(a[0].stringView().find(a[1].stringView()) != std::string_view::npos);
}
Value fnMatch(const Value* a, int, EvalContext& ctx) {
  if (!stringArgs(a, 2)) return noOverload(ctx, "match", a[0], a[1]);
  return Value::makeBool(globMatch(a[0].stringView(), a[1].stringView()));
}

Value fnMatchesCexl(const Value* a, int, EvalContext& ctx) {
  // Istio: the receiver is the pattern.
  return regexMatch(a[0].stringView(), a[1].stringView(), ctx);
}
Value fnMatchesCel(const Value* a, int, EvalContext& ctx) {
  if (!stringArgs(a, 2)) return noOverload(ctx, "matches", a[0], a[1]);
  return regexMatch(a[1].stringView(), a[0].stringView(), ctx);
}

Value fnToLower(const Value* a, int, EvalContext& ctx) {
  std::string_view s = a[0].stringView();
  bool has_upper = false;
  for (char c : s) has_upper |= (c >= 'A' && c <= 'Z');
  if (!has_upper) return a[0];
  char* p = ctx.arena->allocateChars(s.size());
  for (size_t i = 0; i < s.size(); ++i) p[i] = absl::ascii_tolower(s[i]);
  return Value::makeString({p, s.size()});
}
Value fnUpperAscii(const Value* a, int, EvalContext& ctx) {
  if (a[0].type != ValueType::kString) return noOverload(ctx, "upperAscii", a[0]);
  std::string_view s = a[0].stringView();
  char* p = ctx.arena->allocateChars(s.size());
  for (size_t i = 0; i < s.size(); ++i) p[i] = absl::ascii_toupper(s[i]);
  return Value::makeString({p, s.size()});
}
Value fnLowerAscii(const Value* a, int, EvalContext& ctx) {
  if (a[0].type != ValueType::kString) return noOverload(ctx, "lowerAscii", a[0]);
  return fnToLower(a, 1, ctx);
}

// Strings extension (subset).
Value fnCharAt(const Value* a, int, EvalContext& ctx) {
  if (a[0].type != ValueType::kString || a[1].type != ValueType::kInt64) {
    return noOverload(ctx, "charAt", a[0], a[1]);
  }
  auto offs = codePointOffsets(a[0].stringView());
  int64_t i = a[1].int_value;
  int64_t count = static_cast<int64_t>(offs.size()) - 1;
  if (i < 0 || i > count) return makeErrorf(ctx, "index out of range");
  if (i == count) return Value::makeString("");
  return Value::makeString(a[0].stringView().substr(offs[i], offs[i + 1] - offs[i]));
}

Value fnIndexOf(const Value* a, int n, EvalContext& ctx) {
  if (a[0].type != ValueType::kString || a[1].type != ValueType::kString ||
      (n == 3 && a[2].type != ValueType::kInt64)) {
    return noOverload(ctx, "indexOf", a[0], a[1]);
  }
  std::string_view s = a[0].stringView(), sub = a[1].stringView();
  auto offs = codePointOffsets(s);
  int64_t count = static_cast<int64_t>(offs.size()) - 1;
  int64_t start = n == 3 ? a[2].int_value : 0;
  if (start < 0 || start > count) return makeErrorf(ctx, "index out of range");
  size_t pos = s.find(sub, offs[start]);
  if (pos == std::string_view::npos) return Value::makeInt(-1);
  return Value::makeInt(static_cast<int64_t>(codePointCount(s.substr(0, pos))));
}

Value fnLastIndexOf(const Value* a, int n, EvalContext& ctx) {
  if (a[0].type != ValueType::kString || a[1].type != ValueType::kString ||
      (n == 3 && a[2].type != ValueType::kInt64)) {
    return noOverload(ctx, "lastIndexOf", a[0], a[1]);
  }
  std::string_view s = a[0].stringView(), sub = a[1].stringView();
  auto offs = codePointOffsets(s);
  int64_t count = static_cast<int64_t>(offs.size()) - 1;
  int64_t last = n == 3 ? a[2].int_value : count;
  if (last < 0 || last > count) return makeErrorf(ctx, "index out of range");
  size_t pos = s.rfind(sub, offs[last]);
  if (pos == std::string_view::npos) return Value::makeInt(-1);
  return Value::makeInt(static_cast<int64_t>(codePointCount(s.substr(0, pos))));
}

Value fnSubstring(const Value* a, int n, EvalContext& ctx) {
  if (a[0].type != ValueType::kString || a[1].type != ValueType::kInt64 ||
      (n == 3 && a[2].type != ValueType::kInt64)) {
    return noOverload(ctx, "substring", a[0], a[1]);
  }
  auto offs = codePointOffsets(a[0].stringView());
  int64_t count = static_cast<int64_t>(offs.size()) - 1;
  int64_t b = a[1].int_value, e = n == 3 ? a[2].int_value : count;
  if (b < 0 || b > count || e < b || e > count) return makeErrorf(ctx, "index out of range");
  return Value::makeString(a[0].stringView().substr(offs[b], offs[e] - offs[b]));
}

// Length of the Unicode white-space character (Go's unicode.IsSpace) at the start of `s`, or 0.
size_t leadingSpace(std::string_view s) {
  static const char* kSpaces[] = {" ",
                                  "\t",
                                  "\n",
                                  "\v",
                                  "\f",
                                  "\r",
                                  "\xC2\x85",
                                  "\xC2\xA0",
                                  "\xE1\x9A\x80",
                                  "\xE2\x80\xA8",
                                  "\xE2\x80\xA9",
                                  "\xE2\x80\xAF",
                                  "\xE2\x81\x9F",
                                  "\xE3\x80\x80"};
  for (const char* sp : kSpaces) {
    if (s.starts_with(sp)) return std::strlen(sp);
  }
  // U+2000..U+200A
  if (s.size() >= 3 && s[0] == '\xE2' && s[1] == '\x80' &&
      static_cast<unsigned char>(s[2]) >= 0x80 && static_cast<unsigned char>(s[2]) <= 0x8A) {
    return 3;
  }
  return 0;
}

Value fnTrim(const Value* a, int, EvalContext& ctx) {
  if (a[0].type != ValueType::kString) return noOverload(ctx, "trim", a[0]);
  std::string_view s = a[0].stringView();
  while (size_t n = leadingSpace(s)) s.remove_prefix(n);
  while (!s.empty()) {
    // Find the start of the last code point and test it.
    size_t start = s.size() - 1;
    while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
    size_t n = leadingSpace(s.substr(start));
    if (n == 0 || start + n != s.size()) break;
    s.remove_suffix(n);
  }
  return Value::makeString(s);
}

Value fnReplace(const Value* a, int n, EvalContext& ctx) {
  if (!stringArgs(a, 3) || (n == 4 && a[3].type != ValueType::kInt64)) {
    return noOverload(ctx, "replace", a[0], a[1]);
  }
  std::string_view s = a[0].stringView(), from = a[1].stringView(), to = a[2].stringView();
  int64_t limit = n == 4 ? a[3].int_value : -1;
  std::string out;
  size_t pos = 0;
  int64_t done = 0;
  while (limit < 0 || done < limit) {
    size_t f = s.find(from, pos);
    if (f == std::string_view::npos) break;
    out.append(s.substr(pos, f - pos));
    out.append(to);
    ++done;
    if (from.empty()) {
      if (f < s.size()) {
        size_t len = 1;
        while (f + len < s.size() && (static_cast<unsigned char>(s[f + len]) & 0xC0) == 0x80) ++len;
        out.append(s.substr(f, len));
        pos = f + len;
      } else {
        pos = s.size() + 1;
        break;
      }
    } else {
      pos = f + from.size();
    }
  }
  if (pos <= s.size()) out.append(s.substr(pos));
  return arenaString(ctx, ValueType::kString, out);
}

Value makeListValue(EvalContext& ctx, const std::vector<Value>& items) {
  Value* elems = ctx.arena->allocateArray<Value>(items.size());
  for (size_t i = 0; i < items.size(); ++i) elems[i] = items[i];
  ListValue* l = ctx.arena->allocateArray<ListValue>(1);
  l->elements = elems;
  l->size = items.size();
  return Value::makeList(l);
}

Value fnSplit(const Value* a, int n, EvalContext& ctx) {
  if (!stringArgs(a, 2) || (n == 3 && a[2].type != ValueType::kInt64)) {
    return noOverload(ctx, "split", a[0], a[1]);
  }
  std::string_view s = a[0].stringView(), sep = a[1].stringView();
  int64_t limit = n == 3 ? a[2].int_value : -1;
  std::vector<Value> parts;
  if (limit == 0) return makeListValue(ctx, parts);
  if (sep.empty()) {
    auto offs = codePointOffsets(s);
    for (size_t i = 0; i + 1 < offs.size(); ++i) {
      if (limit > 0 && static_cast<int64_t>(parts.size()) == limit - 1) {
        parts.push_back(Value::makeString(s.substr(offs[i])));
        return makeListValue(ctx, parts);
      }
      parts.push_back(Value::makeString(s.substr(offs[i], offs[i + 1] - offs[i])));
    }
    return makeListValue(ctx, parts);
  }
  size_t pos = 0;
  while (true) {
    if (limit > 0 && static_cast<int64_t>(parts.size()) == limit - 1) break;
    size_t f = s.find(sep, pos);
    if (f == std::string_view::npos) break;
    parts.push_back(Value::makeString(s.substr(pos, f - pos)));
    pos = f + sep.size();
  }
  parts.push_back(Value::makeString(s.substr(pos)));
  return makeListValue(ctx, parts);
}

Value fnJoin(const Value* a, int n, EvalContext& ctx) {
  if (a[0].type != ValueType::kList || (n == 2 && a[1].type != ValueType::kString)) {
    return noOverload(ctx, "join", a[0]);
  }
  std::string out;
  std::string_view sep = n == 2 ? a[1].stringView() : std::string_view();
  for (size_t i = 0; i < a[0].list->size; ++i) {
    const Value& e = a[0].list->elements[i];
    if (e.type != ValueType::kString) return noOverload(ctx, "join", e);
    if (i > 0) out.append(sep);
    out.append(e.stringView());
  }
  return arenaString(ctx, ValueType::kString, out);
}

Value fnReverse(const Value* a, int, EvalContext& ctx) {
  if (a[0].type != ValueType::kString) return noOverload(ctx, "reverse", a[0]);
  auto offs = codePointOffsets(a[0].stringView());
  std::string out;
  for (size_t i = offs.size() - 1; i > 0; --i) {
    out.append(a[0].stringView().substr(offs[i - 1], offs[i] - offs[i - 1]));
  }
  return arenaString(ctx, ValueType::kString, out);
}

}  // namespace expr::internal
