// Text formats of the CEL strings extension: "fmt".format([args]) and strings.quote().
#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "base/rfc3339.h"
#include "expr/builtins.h"
#include "expr/builtins_internal.h"
#include "expr/ip_address.h"
#include "expr/str_util.h"

namespace expr::internal {

namespace {

std::string celDoubleText(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  return formatDouble(d);
}

bool formatArgString(const Value& v, std::string* out) {
  switch (v.type) {
    case ValueType::kString:
    case ValueType::kBytes:
    case ValueType::kType:
      out->append(v.stringView());
      return true;
    case ValueType::kInt64:
      out->append(strCat(v.int_value));
      return true;
    case ValueType::kUint64:
      out->append(strCat(v.uint_value));
      return true;
    case ValueType::kDouble:
      out->append(celDoubleText(v.double_value));
      return true;
    case ValueType::kBool:
      out->append(v.bool_value ? "true" : "false");
      return true;
    case ValueType::kNull:
      out->append("null");
      return true;
    case ValueType::kTimestamp:
      out->append(mixer::base::formatRfc3339(v.timestamp.seconds, v.timestamp.nanos));
      return true;
    case ValueType::kDuration:
      out->append(formatCelDuration(v.int_value));
      return true;
    case ValueType::kIpAddress:
      out->append(formatIp(v.stringView()));
      return true;
    case ValueType::kList: {
      out->push_back('[');
      for (size_t i = 0; i < v.list->size; ++i) {
        if (i) out->append(", ");
        if (!formatArgString(v.list->elements[i], out)) return false;
      }
      out->push_back(']');
      return true;
    }
    case ValueType::kMap:
    case ValueType::kStringMap: {
      std::vector<std::pair<std::string, std::string>> entries;
      for (int64_t i = 0; i < containerSize(v); ++i) {
        Value k = containerElement(v, i), val;
        std::string ks, vs;
        if (v.type == ValueType::kMap) {
          val = v.map->values[i];
        } else {
          std::string_view kk, vv;
          v.string_map->entry(i, &kk, &vv);
          val = Value::makeString(vv);
        }
        if (!formatArgString(k, &ks) || !formatArgString(val, &vs)) return false;
        entries.emplace_back(std::move(ks), std::move(vs));
      }
      std::sort(entries.begin(), entries.end());
      out->push_back('{');
      for (size_t i = 0; i < entries.size(); ++i) {
        if (i) out->append(", ");
        strAppend(out, entries[i].first, ": ", entries[i].second);
      }
      out->push_back('}');
      return true;
    }
    default:
      return false;
  }
}

std::string toBase(uint64_t u, int base, bool upper) {
  if (u == 0) return "0";
  const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string s;
  while (u) {
    s.insert(s.begin(), digits[u % base]);
    u /= base;
  }
  return s;
}

}  // namespace

Value fnStringsQuote(const Value* a, int, EvalContext& ctx) {
  if (a[0].type != ValueType::kString) return noOverload(ctx, "strings.quote", a[0]);
  std::string_view s = a[0].stringView();
  std::string out = "\"";
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = s[i];
    switch (c) {
      case '\a':
        out += "\\a";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\v':
        out += "\\v";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += absl::StrFormat("\\x%02x", c);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out += "\"";
  if (!validUtf8(s)) return makeErrorf(ctx, "strings.quote: invalid UTF-8");
  return arenaString(ctx, ValueType::kString, out);
}

Value fnFormat(const Value* a, int, EvalContext& ctx) {
  if (a[0].type != ValueType::kString || a[1].type != ValueType::kList) {
    return noOverload(ctx, "format", a[0], a[1]);
  }
  std::string_view f = a[0].stringView();
  const ListValue& args = *a[1].list;
  std::string out;
  size_t next = 0;
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i] != '%') {
      out.push_back(f[i]);
      continue;
    }
    if (++i >= f.size()) return makeErrorf(ctx, "format: unterminated formatting clause");
    if (f[i] == '%') {
      out.push_back('%');
      continue;
    }
    int precision = -1;
    if (f[i] == '.') {
      precision = 0;
      while (++i < f.size() && f[i] >= '0' && f[i] <= '9')
        precision = precision * 10 + (f[i] - '0');
      if (i >= f.size()) return makeErrorf(ctx, "format: unterminated formatting clause");
    }
    char verb = f[i];
    if (next >= args.size) return makeErrorf(ctx, "format: index out of range");
    const Value& v = args.elements[next++];
    auto special = [&](double d, std::string* s) {
      if (std::isnan(d) || std::isinf(d)) {
        *s = celDoubleText(d);
        return true;
      }
      return false;
    };
    std::string piece;
    switch (verb) {
      case 's':
        if (!formatArgString(v, &piece)) return makeErrorf(ctx, "format: unsupported type for %s");
        break;
      case 'd':
        if (v.type == ValueType::kInt64)
          piece = strCat(v.int_value);
        else if (v.type == ValueType::kUint64)
          piece = strCat(v.uint_value);
        else if (v.type == ValueType::kDouble && special(v.double_value, &piece))
          break;
        else
          return makeErrorf(ctx, "format: decimal clause can only be used on integers");
        break;
      case 'f':
      case 'e': {
        double d;
        if (v.type == ValueType::kDouble)
          d = v.double_value;
        else if (v.type == ValueType::kInt64)
          d = static_cast<double>(v.int_value);
        else if (v.type == ValueType::kUint64)
          d = static_cast<double>(v.uint_value);
        else
          return makeErrorf(ctx, "format: fixed-point clause can only be used on numbers");
        if (special(d, &piece)) break;
        const int prec = precision < 0 ? 6 : precision;
        piece = verb == 'f' ? absl::StrFormat("%.*f", prec, d) : absl::StrFormat("%.*e", prec, d);
        break;
      }
      case 'x':
      case 'X':
      case 'o':
      case 'b': {
        int base = verb == 'o' ? 8 : verb == 'b' ? 2 : 16;
        bool upper = verb == 'X';
        if (v.type == ValueType::kInt64) {
          uint64_t mag = v.int_value < 0 ? 0 - static_cast<uint64_t>(v.int_value)
                                         : static_cast<uint64_t>(v.int_value);
          piece = (v.int_value < 0 ? "-" : "") + toBase(mag, base, upper);
        } else if (v.type == ValueType::kUint64) {
          piece = toBase(v.uint_value, base, upper);
        } else if (v.type == ValueType::kBool && verb == 'b') {
          piece = v.bool_value ? "1" : "0";
        } else if ((v.type == ValueType::kString || v.type == ValueType::kBytes) && base == 16) {
          for (unsigned char c : v.stringView()) {
            piece += upper ? absl::StrFormat("%02X", c) : absl::StrFormat("%02x", c);
          }
        } else {
          return makeErrorf(ctx, "format: unsupported type for integer clause");
        }
        break;
      }
      default:
        return makeErrorf(
            ctx, strCat("format: unrecognized formatting clause '%", std::string(1, verb), "'"));
    }
    out += piece;
  }
  return arenaString(ctx, ValueType::kString, out);
}

}  // namespace expr::internal
