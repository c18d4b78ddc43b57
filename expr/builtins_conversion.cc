// CEL type conversions: int(), uint(), double(), string(), bytes(), bool(), dyn() and type().
#include <charconv>
#include <cmath>
#include <limits>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "base/rfc3339.h"
#include "expr/builtins_internal.h"
#include "expr/ip_address.h"
#include "expr/str_util.h"

namespace expr::internal {

std::string formatDouble(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "+Inf" : "-Inf";
  // Go's strconv 'g' with the shortest digits that round-trip: the exponent form when the
  // decimal exponent is below -4 or at least 6, whatever the number of digits (100000 ->
  // "100000", 1e6 -> "1e+06", 123456789 -> "1.23456789e+08"), else the positional form.
  char buf[64];
  const auto sci = std::to_chars(buf, buf + sizeof(buf), d, std::chars_format::scientific);
  const std::string_view s(buf, static_cast<size_t>(sci.ptr - buf));
  // The exponent: the digits after "e+" or "e-" (the buffer is not NUL-terminated).
  const size_t e = s.find('e');
  int exponent = 0;
  std::from_chars(s.data() + e + 2, s.data() + s.size(), exponent);
  if (s[e + 1] == '-') {
    exponent = -exponent;
  }
  if (exponent < -4 || exponent >= 6) {
    return std::string(s);
  }
  const auto fixed = std::to_chars(buf, buf + sizeof(buf), d, std::chars_format::fixed);
  return std::string(buf, static_cast<size_t>(fixed.ptr - buf));
}

std::string formatCelDuration(int64_t nanos) {
  // CEL / protobuf JSON form: seconds with up to 9 fractional digits and an "s" suffix.
  bool neg = nanos < 0;
  uint64_t u = neg ? 0 - static_cast<uint64_t>(nanos) : static_cast<uint64_t>(nanos);
  uint64_t sec = u / 1000000000, frac = u % 1000000000;
  std::string s = strCat(neg ? "-" : "", sec);
  if (frac != 0) {
    std::string f = absl::StrFormat("%09d", frac);
    while (!f.empty() && f.back() == '0') f.pop_back();
    strAppend(&s, ".", f);
  }
  s += "s";
  return s;
}

// CEL conversions.
Value fnInt(const Value* a, int, EvalContext& ctx) {
  const Value& v = a[0];
  switch (v.type) {
    case ValueType::kInt64:
      return v;
    case ValueType::kUint64:
      if (v.uint_value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return makeErrorf(ctx, "int range error");
      }
      return Value::makeInt(static_cast<int64_t>(v.uint_value));
    case ValueType::kDouble: {
      double d = v.double_value;
      if (!(d > -9223372036854775808.0 && d < 9223372036854775808.0)) {
        return makeErrorf(ctx, "int range error");
      }
      return Value::makeInt(static_cast<int64_t>(d));
    }
    case ValueType::kString: {
      int64_t i;
      if (!simpleAtoi(v.stringView(), &i)) return makeErrorf(ctx, "int conversion error");
      return Value::makeInt(i);
    }
    case ValueType::kTimestamp:
      return Value::makeInt(v.timestamp.seconds);
    case ValueType::kDuration:
      return Value::makeInt(v.int_value);
    case ValueType::kBool:
      return Value::makeInt(v.bool_value ? 1 : 0);
    default:
      return noOverload(ctx, "int", v);
  }
}

Value fnUint(const Value* a, int, EvalContext& ctx) {
  const Value& v = a[0];
  switch (v.type) {
    case ValueType::kUint64:
      return v;
    case ValueType::kInt64:
      if (v.int_value < 0) return makeErrorf(ctx, "uint range error");
      return Value::makeUint(static_cast<uint64_t>(v.int_value));
    case ValueType::kDouble: {
      double d = v.double_value;
      if (!(d > -1.0 && d < 18446744073709551616.0)) return makeErrorf(ctx, "uint range error");
      return Value::makeUint(static_cast<uint64_t>(d));
    }
    case ValueType::kString: {
      uint64_t u;
      if (!simpleAtoi(v.stringView(), &u)) return makeErrorf(ctx, "uint conversion error");
      return Value::makeUint(u);
    }
    case ValueType::kBool:
      return Value::makeUint(v.bool_value ? 1 : 0);
    default:
      return noOverload(ctx, "uint", v);
  }
}

Value fnDouble(const Value* a, int, EvalContext& ctx) {
  const Value& v = a[0];
  switch (v.type) {
    case ValueType::kDouble:
      return v;
    case ValueType::kInt64:
      return Value::makeDouble(static_cast<double>(v.int_value));
    case ValueType::kUint64:
      return Value::makeDouble(static_cast<double>(v.uint_value));
    case ValueType::kString: {
      double d;
      std::string s(v.stringView());
      if (equalsIgnoreCase(s, "nan")) return Value::makeDouble(std::nan(""));
      if (equalsIgnoreCase(s, "inf") || equalsIgnoreCase(s, "+inf") ||
          equalsIgnoreCase(s, "infinity")) {
        return Value::makeDouble(std::numeric_limits<double>::infinity());
      }
      if (equalsIgnoreCase(s, "-inf") || equalsIgnoreCase(s, "-infinity")) {
        return Value::makeDouble(-std::numeric_limits<double>::infinity());
      }
      char* end = nullptr;
      d = std::strtod(s.c_str(), &end);
      if (s.empty() || end != s.c_str() + s.size()) {
        return makeErrorf(ctx, "double conversion error");
      }
      return Value::makeDouble(d);
    }
    default:
      return noOverload(ctx, "double", v);
  }
}

Value fnString(const Value* a, int, EvalContext& ctx) {
  const Value& v = a[0];
  switch (v.type) {
    case ValueType::kString:
      return v;
    case ValueType::kInt64:
      return arenaString(ctx, ValueType::kString, strCat(v.int_value));
    case ValueType::kUint64:
      return arenaString(ctx, ValueType::kString, strCat(v.uint_value));
    case ValueType::kDouble:
      return arenaString(ctx, ValueType::kString, formatDouble(v.double_value));
    case ValueType::kBool:
      return Value::makeString(v.bool_value ? "true" : "false");
    case ValueType::kBytes:
      if (!validUtf8(v.stringView())) return makeErrorf(ctx, "invalid UTF-8 in bytes");
      return Value::makeString(v.stringView());
    case ValueType::kTimestamp:
      return arenaString(ctx, ValueType::kString,
                         mixer::base::formatRfc3339(v.timestamp.seconds, v.timestamp.nanos));
    case ValueType::kDuration:
      return arenaString(ctx, ValueType::kString, formatCelDuration(v.int_value));
    case ValueType::kIpAddress:
      return arenaString(ctx, ValueType::kString, formatIp(v.stringView()));
    case ValueType::kCidr:
      return arenaString(ctx, ValueType::kString, formatCidr(v.stringView()));
    case ValueType::kDnsName:
    case ValueType::kEmailAddress:
    case ValueType::kUri:
      return Value::makeString(v.stringView());
    default:
      return noOverload(ctx, "string", v);
  }
}

Value fnBytes(const Value* a, int, EvalContext& ctx) {
  if (a[0].type == ValueType::kBytes) return a[0];
  if (a[0].type == ValueType::kString) return Value::makeBytes(a[0].stringView());
  return noOverload(ctx, "bytes", a[0]);
}

Value fnBool(const Value* a, int, EvalContext& ctx) {
  if (a[0].type == ValueType::kBool) return a[0];
  if (a[0].type == ValueType::kString) {
    std::string_view s = a[0].stringView();
    if (s == "true" || s == "TRUE" || s == "True" || s == "t" || s == "T" || s == "1") {
      return Value::makeBool(true);
    }
    if (s == "false" || s == "FALSE" || s == "False" || s == "f" || s == "F" || s == "0") {
      return Value::makeBool(false);
    }
    return makeErrorf(ctx, "bool conversion error");
  }
  return noOverload(ctx, "bool", a[0]);
}

Value fnDyn(const Value* a, int, EvalContext&) { return a[0]; }

Value fnType(const Value* a, int, EvalContext& ctx) {
  switch (a[0].type) {
    case ValueType::kInt64:
      return Value::makeType("int");
    case ValueType::kUint64:
      return Value::makeType("uint");
    case ValueType::kDouble:
      return Value::makeType("double");
    case ValueType::kBool:
      return Value::makeType("bool");
    case ValueType::kString:
      return Value::makeType("string");
    case ValueType::kBytes:
      return Value::makeType("bytes");
    case ValueType::kNull:
      return Value::makeType("null_type");
    case ValueType::kList:
      return Value::makeType("list");
    case ValueType::kMap:
    case ValueType::kStringMap:
      return Value::makeType("map");
    case ValueType::kType:
      return Value::makeType("type");
    case ValueType::kTimestamp:
      return Value::makeType("google.protobuf.Timestamp");
    case ValueType::kDuration:
      return Value::makeType("google.protobuf.Duration");
    case ValueType::kIpAddress:
      return Value::makeType("net.IP");
    case ValueType::kCidr:
      return Value::makeType("net.CIDR");
    default:
      return Value::makeType(valueTypeName(a[0].type));
  }
}

}  // namespace expr::internal
