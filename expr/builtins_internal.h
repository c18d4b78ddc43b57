// Private to expr/: the helpers the builtin families and the operators share, and the builtin
// functions the registration table (builtins.cc) points at, grouped by the file that defines
// them. Nothing outside expr/ includes this header.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "expr/builtins.h"
#include "expr/value.h"

namespace expr::internal {

// --- builtins.cc: errors.

// "no such overload: op(type)" / "no such overload: op(type, type)".
Value noOverload(EvalContext& ctx, std::string_view op, const Value& a);
Value noOverload(EvalContext& ctx, std::string_view op, const Value& a, const Value& b);

// --- Small helpers, inline because the operators call them per evaluation.

inline Value arenaString(EvalContext& ctx, ValueType t, std::string_view s) {
  return Value::makeStringLike(t, ctx.arena->copy(s));
}

inline bool isNumber(const Value& v) {
  return v.type == ValueType::kInt64 || v.type == ValueType::kUint64 ||
         v.type == ValueType::kDouble;
}

// Compares numbers of any kind on one number line: -1, 0, 1, or 2 when unordered (NaN).
inline int compareNumbers(const Value& a, const Value& b) {
  auto cmp = [](auto x, auto y) { return x < y ? -1 : (x > y ? 1 : 0); };
  if (a.type == b.type) {
    switch (a.type) {
      case ValueType::kInt64:
        return cmp(a.int_value, b.int_value);
      case ValueType::kUint64:
        return cmp(a.uint_value, b.uint_value);
      default:
        if (std::isnan(a.double_value) || std::isnan(b.double_value)) return 2;
        return cmp(a.double_value, b.double_value);
    }
  }
  if (a.type == ValueType::kDouble || b.type == ValueType::kDouble) {
    // CEL compares an integer with a double as doubles (the integer is converted).
    auto asDouble = [](const Value& v) {
      return v.type == ValueType::kDouble  ? v.double_value
             : v.type == ValueType::kInt64 ? static_cast<double>(v.int_value)
                                           : static_cast<double>(v.uint_value);
    };
    double x = asDouble(a), y = asDouble(b);
    if (std::isnan(x) || std::isnan(y)) return 2;
    return cmp(x, y);
  }
  // int vs uint
  if (a.type == ValueType::kInt64) {
    if (a.int_value < 0) return -1;
    return cmp(static_cast<uint64_t>(a.int_value), b.uint_value);
  }
  if (b.int_value < 0) return 1;
  return cmp(a.uint_value, static_cast<uint64_t>(b.int_value));
}

inline bool validMapKey(const Value& k) {
  return k.type == ValueType::kString || k.type == ValueType::kInt64 ||
         k.type == ValueType::kUint64 || k.type == ValueType::kBool;
}

inline absl::Time toAbslTime(const Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds) + absl::Nanoseconds(ts.nanos);
}

// --- value_equality.cc

// Finds `key` in a CEL map with heterogeneous numeric key equality; records a key reference
// when the map is an attribute's string map.
bool mapFind(const Value& m, const Value& key, Value* out, EvalContext& ctx);

// --- builtins_time.cc

// The timestamp, or "timestamp out of range" outside 0001-01-01T00:00:00Z..9999-12-31T23:59:59Z.
Value checkTimestamp(EvalContext& ctx, int64_t sec, int32_t nanos);

Value fnTimestamp(const Value* a, int n, EvalContext& ctx);
Value fnDuration(const Value* a, int n, EvalContext& ctx);
// kField: 0 getFullYear, 1 getMonth, 2 getDate, 3 getDayOfMonth, 4 getDayOfWeek,
// 5 getDayOfYear, 6 getHours, 7 getMinutes, 8 getSeconds, 9 getMilliseconds.
template <int kField>
Value fnTimeAccessor(const Value* a, int n, EvalContext& ctx);

// --- builtins_string.cc

// UTF-8 helpers.
size_t codePointCount(std::string_view s);
bool validUtf8(std::string_view s);
// Byte offsets of each code point (plus the end).
std::vector<size_t> codePointOffsets(std::string_view s);

Value fnSizeCexl(const Value* a, int n, EvalContext& ctx);
Value fnSizeCel(const Value* a, int n, EvalContext& ctx);
Value fnStartsWith(const Value* a, int n, EvalContext& ctx);
Value fnEndsWith(const Value* a, int n, EvalContext& ctx);
Value fnContains(const Value* a, int n, EvalContext& ctx);
Value fnMatch(const Value* a, int n, EvalContext& ctx);
Value fnMatchesCexl(const Value* a, int n, EvalContext& ctx);
Value fnMatchesCel(const Value* a, int n, EvalContext& ctx);
Value fnToLower(const Value* a, int n, EvalContext& ctx);
Value fnUpperAscii(const Value* a, int n, EvalContext& ctx);
Value fnLowerAscii(const Value* a, int n, EvalContext& ctx);
Value fnCharAt(const Value* a, int n, EvalContext& ctx);
Value fnIndexOf(const Value* a, int n, EvalContext& ctx);
Value fnLastIndexOf(const Value* a, int n, EvalContext& ctx);
Value fnSubstring(const Value* a, int n, EvalContext& ctx);
Value fnTrim(const Value* a, int n, EvalContext& ctx);
Value fnReplace(const Value* a, int n, EvalContext& ctx);
Value fnSplit(const Value* a, int n, EvalContext& ctx);
Value fnJoin(const Value* a, int n, EvalContext& ctx);
Value fnReverse(const Value* a, int n, EvalContext& ctx);

// --- builtins_network.cc

// "ADDRESS/PREFIX" for a CIDR value's bytes (network bytes then one prefix-length byte).
std::string formatCidr(std::string_view b);
// The CEL network extension's address parsing: no zones, no dotted IPv4-mapped IPv6 form;
// IPv4 addresses are kept as 4 bytes.
bool parseCelIp(std::string_view s, std::string* bytes, std::string* error);

Value fnIp(const Value* a, int n, EvalContext& ctx);
Value fnDnsName(const Value* a, int n, EvalContext& ctx);
Value fnEmail(const Value* a, int n, EvalContext& ctx);
Value fnUri(const Value* a, int n, EvalContext& ctx);
Value fnIsIp(const Value* a, int n, EvalContext& ctx);
Value fnIpFamily(const Value* a, int n, EvalContext& ctx);
Value fnIsLoopback(const Value* a, int n, EvalContext& ctx);
Value fnIsUnspecified(const Value* a, int n, EvalContext& ctx);
Value fnCidr(const Value* a, int n, EvalContext& ctx);
Value fnContainsIp(const Value* a, int n, EvalContext& ctx);
Value fnContainsCidr(const Value* a, int n, EvalContext& ctx);
Value fnCidrIp(const Value* a, int n, EvalContext& ctx);
Value fnMasked(const Value* a, int n, EvalContext& ctx);
Value fnPrefixLength(const Value* a, int n, EvalContext& ctx);
// kKind: 0 isGlobalUnicast, 1 isLinkLocalMulticast, 2 isLinkLocalUnicast.
template <int kKind>
Value fnIpPredicate(const Value* a, int n, EvalContext& ctx);
Value fnIpIsCanonical(const Value* a, int n, EvalContext& ctx);

// --- builtins_conversion.cc

// Go's strconv 'g' shortest round-trip form; NaN, +Inf, -Inf.
std::string formatDouble(double d);
// CEL / protobuf JSON duration: seconds with up to 9 fractional digits and an "s" suffix.
std::string formatCelDuration(int64_t nanos);

Value fnInt(const Value* a, int n, EvalContext& ctx);
Value fnUint(const Value* a, int n, EvalContext& ctx);
Value fnDouble(const Value* a, int n, EvalContext& ctx);
Value fnString(const Value* a, int n, EvalContext& ctx);
Value fnBytes(const Value* a, int n, EvalContext& ctx);
Value fnBool(const Value* a, int n, EvalContext& ctx);
Value fnDyn(const Value* a, int n, EvalContext& ctx);
Value fnType(const Value* a, int n, EvalContext& ctx);

// --- builtins_format.cc

Value fnStringsQuote(const Value* a, int n, EvalContext& ctx);
Value fnFormat(const Value* a, int n, EvalContext& ctx);

// --- builtins.cc

Value fnEmptyStringMap(const Value* a, int n, EvalContext& ctx);

}  // namespace expr::internal
