// The operators of both dialects (==, <, +, [], in, has() ...) and container access.
#include <cmath>
#include <cstring>
#include <limits>

#include "expr/builtins.h"
#include "expr/builtins_internal.h"
#include "expr/str_util.h"

namespace expr {

using internal::checkTimestamp;
using internal::compareNumbers;
using internal::isNumber;
using internal::mapFind;
using internal::noOverload;
using internal::validMapKey;

namespace {
// CEL: an error inside a list/map comparison surfaces as an error.
bool containsError(const Value& v) {
  if (v.type == ValueType::kError) return true;
  return false;
}
}  // namespace

Value opEq(const Value& a, const Value& b, EvalContext& ctx) {
  if (a.isError()) return a;
  if (b.isError()) return b;
  if (containsError(a)) return a;
  return Value::makeBool(valuesEqual(a, b, ctx.dialect));
}

Value opNe(const Value& a, const Value& b, EvalContext& ctx) {
  Value r = opEq(a, b, ctx);
  if (r.type == ValueType::kBool) r.bool_value = !r.bool_value;
  return r;
}

Value opCompare(int cmp, const Value& a, const Value& b, EvalContext& ctx) {
  if (a.isError()) return a;
  if (b.isError()) return b;
  int c;
  if (isNumber(a) && isNumber(b) && (a.type == b.type || ctx.dialect == Dialect::kCel)) {
    c = compareNumbers(a, b);
    if (c == 2) return Value::makeBool(false);
  } else if (a.type != b.type) {
    static const char* kOps[] = {"_<_", "_<=_", "_>_", "_>=_"};
    return noOverload(ctx, kOps[cmp], a, b);
  } else {
    switch (a.type) {
      case ValueType::kString:
      case ValueType::kBytes: {
        int r = a.stringView().compare(b.stringView());
        c = r < 0 ? -1 : (r > 0 ? 1 : 0);
        break;
      }
      case ValueType::kBool:
        c = a.bool_value == b.bool_value ? 0 : (a.bool_value ? 1 : -1);
        break;
      case ValueType::kDuration:
        c = a.int_value < b.int_value ? -1 : (a.int_value > b.int_value ? 1 : 0);
        break;
      case ValueType::kTimestamp:
        if (a.timestamp.seconds != b.timestamp.seconds) {
          c = a.timestamp.seconds < b.timestamp.seconds ? -1 : 1;
        } else {
          c = a.timestamp.nanos < b.timestamp.nanos ? -1 : (a.timestamp.nanos > b.timestamp.nanos);
        }
        break;
      default: {
        static const char* kOps[] = {"_<_", "_<=_", "_>_", "_>=_"};
        return noOverload(ctx, kOps[cmp], a, b);
      }
    }
  }
  switch (cmp) {
    case 0:
      return Value::makeBool(c < 0);
    case 1:
      return Value::makeBool(c <= 0);
    case 2:
      return Value::makeBool(c > 0);
    default:
      return Value::makeBool(c >= 0);
  }
}

namespace {
Value concatList(const Value& a, const Value& b, EvalContext& ctx) {
  size_t n = a.list->size + b.list->size;
  Value* elems = ctx.arena->allocateArray<Value>(n);
  for (size_t i = 0; i < a.list->size; ++i) elems[i] = a.list->elements[i];
  for (size_t i = 0; i < b.list->size; ++i) elems[a.list->size + i] = b.list->elements[i];
  ListValue* l = ctx.arena->allocateArray<ListValue>(1);
  l->elements = elems;
  l->size = n;
  return Value::makeList(l);
}

Value durationResult(EvalContext& ctx, bool overflow, int64_t v) {
  if (overflow) return makeErrorf(ctx, "duration out of range");
  return Value::makeDuration(v);
}

Value addToTimestamp(EvalContext& ctx, const Timestamp& ts, int64_t nanos) {
  int64_t sec = ts.seconds + nanos / 1000000000;
  int64_t ns = ts.nanos + nanos % 1000000000;
  if (ns < 0) {
    ns += 1000000000;
    --sec;
  } else if (ns >= 1000000000) {
    ns -= 1000000000;
    ++sec;
  }
  return checkTimestamp(ctx, sec, static_cast<int32_t>(ns));
}
}  // namespace

Value opAdd(const Value& a, const Value& b, EvalContext& ctx) {
  if (a.isError()) return a;
  if (b.isError()) return b;
  if (a.type == b.type) {
    switch (a.type) {
      case ValueType::kInt64: {
        int64_t r;
        if (ctx.dialect == Dialect::kCexl) {
          return Value::makeInt(static_cast<int64_t>(static_cast<uint64_t>(a.int_value) +
                                                     static_cast<uint64_t>(b.int_value)));
        }
        if (__builtin_add_overflow(a.int_value, b.int_value, &r)) {
          return makeErrorf(ctx, "integer overflow");
        }
        return Value::makeInt(r);
      }
      case ValueType::kUint64: {
        uint64_t r;
        if (__builtin_add_overflow(a.uint_value, b.uint_value, &r)) {
          return makeErrorf(ctx, "unsigned integer overflow");
        }
        return Value::makeUint(r);
      }
      case ValueType::kDouble:
        return Value::makeDouble(a.double_value + b.double_value);
      case ValueType::kString:
      case ValueType::kBytes: {
        if (a.str.size == 0) return b;
        if (b.str.size == 0) return a;
        char* p = ctx.arena->allocateChars(a.str.size + b.str.size);
        std::memcpy(p, a.str.data, a.str.size);
        std::memcpy(p + a.str.size, b.str.data, b.str.size);
        return Value::makeStringLike(a.type, {p, a.str.size + b.str.size});
      }
      case ValueType::kList:
        return concatList(a, b, ctx);
      case ValueType::kDuration: {
        int64_t r;
        bool o = __builtin_add_overflow(a.int_value, b.int_value, &r);
        return durationResult(ctx, o, r);
      }
      default:
        break;
    }
  }
  if (a.type == ValueType::kTimestamp && b.type == ValueType::kDuration) {
    return addToTimestamp(ctx, a.timestamp, b.int_value);
  }
  if (a.type == ValueType::kDuration && b.type == ValueType::kTimestamp) {
    return addToTimestamp(ctx, b.timestamp, a.int_value);
  }
  return noOverload(ctx, "_+_", a, b);
}

Value opSub(const Value& a, const Value& b, EvalContext& ctx) {
  if (a.isError()) return a;
  if (b.isError()) return b;
  if (a.type == b.type) {
    switch (a.type) {
      case ValueType::kInt64: {
        int64_t r;
        if (__builtin_sub_overflow(a.int_value, b.int_value, &r)) {
          return makeErrorf(ctx, "integer overflow");
        }
        return Value::makeInt(r);
      }
      case ValueType::kUint64: {
        uint64_t r;
        if (__builtin_sub_overflow(a.uint_value, b.uint_value, &r)) {
          return makeErrorf(ctx, "unsigned integer overflow");
        }
        return Value::makeUint(r);
      }
      case ValueType::kDouble:
        return Value::makeDouble(a.double_value - b.double_value);
      case ValueType::kDuration: {
        int64_t r;
        bool o = __builtin_sub_overflow(a.int_value, b.int_value, &r);
        return durationResult(ctx, o, r);
      }
      case ValueType::kTimestamp: {
        __int128 d =
            (static_cast<__int128>(a.timestamp.seconds) - b.timestamp.seconds) * 1000000000 +
            (a.timestamp.nanos - b.timestamp.nanos);
        if (d > std::numeric_limits<int64_t>::max() || d < std::numeric_limits<int64_t>::min()) {
          return makeErrorf(ctx, "duration out of range");
        }
        return Value::makeDuration(static_cast<int64_t>(d));
      }
      default:
        break;
    }
  }
  if (a.type == ValueType::kTimestamp && b.type == ValueType::kDuration) {
    if (b.int_value == std::numeric_limits<int64_t>::min()) {
      return makeErrorf(ctx, "duration out of range");
    }
    return addToTimestamp(ctx, a.timestamp, -b.int_value);
  }
  return noOverload(ctx, "_-_", a, b);
}

Value opMul(const Value& a, const Value& b, EvalContext& ctx) {
  if (a.isError()) return a;
  if (b.isError()) return b;
  if (a.type == b.type) {
    switch (a.type) {
      case ValueType::kInt64: {
        int64_t r;
        if (__builtin_mul_overflow(a.int_value, b.int_value, &r)) {
          return makeErrorf(ctx, "integer overflow");
        }
        return Value::makeInt(r);
      }
      case ValueType::kUint64: {
        uint64_t r;
        if (__builtin_mul_overflow(a.uint_value, b.uint_value, &r)) {
          return makeErrorf(ctx, "unsigned integer overflow");
        }
        return Value::makeUint(r);
      }
      case ValueType::kDouble:
        return Value::makeDouble(a.double_value * b.double_value);
      default:
        break;
    }
  }
  return noOverload(ctx, "_*_", a, b);
}

Value opDiv(const Value& a, const Value& b, EvalContext& ctx) {
  if (a.isError()) return a;
  if (b.isError()) return b;
  if (a.type == b.type) {
    switch (a.type) {
      case ValueType::kInt64:
        if (b.int_value == 0) return makeErrorf(ctx, "division by zero");
        if (a.int_value == std::numeric_limits<int64_t>::min() && b.int_value == -1) {
          return makeErrorf(ctx, "integer overflow");
        }
        return Value::makeInt(a.int_value / b.int_value);
      case ValueType::kUint64:
        if (b.uint_value == 0) return makeErrorf(ctx, "division by zero");
        return Value::makeUint(a.uint_value / b.uint_value);
      case ValueType::kDouble:
        return Value::makeDouble(a.double_value / b.double_value);
      default:
        break;
    }
  }
  return noOverload(ctx, "_/_", a, b);
}

Value opMod(const Value& a, const Value& b, EvalContext& ctx) {
  if (a.isError()) return a;
  if (b.isError()) return b;
  if (a.type == b.type) {
    switch (a.type) {
      case ValueType::kInt64:
        if (b.int_value == 0) return makeErrorf(ctx, "modulus by zero");
        if (a.int_value == std::numeric_limits<int64_t>::min() && b.int_value == -1) {
          return makeErrorf(ctx, "integer overflow");
        }
        return Value::makeInt(a.int_value % b.int_value);
      case ValueType::kUint64:
        if (b.uint_value == 0) return makeErrorf(ctx, "modulus by zero");
        return Value::makeUint(a.uint_value % b.uint_value);
      default:
        break;
    }
  }
  return noOverload(ctx, "_%_", a, b);
}

Value opNeg(const Value& a, EvalContext& ctx) {
  if (a.isError()) return a;
  switch (a.type) {
    case ValueType::kInt64:
      if (a.int_value == std::numeric_limits<int64_t>::min()) {
        return makeErrorf(ctx, "integer overflow");
      }
      return Value::makeInt(-a.int_value);
    case ValueType::kDouble:
      return Value::makeDouble(-a.double_value);
    case ValueType::kDuration:
      if (a.int_value == std::numeric_limits<int64_t>::min()) {
        return makeErrorf(ctx, "duration out of range");
      }
      return Value::makeDuration(-a.int_value);
    default:
      return noOverload(ctx, "-_", a);
  }
}

Value opNot(const Value& a, EvalContext& ctx) {
  if (a.isError()) return a;
  if (a.type != ValueType::kBool) return noOverload(ctx, "!_", a);
  return Value::makeBool(!a.bool_value);
}

int64_t containerSize(const Value& v) {
  switch (v.type) {
    case ValueType::kList:
      return static_cast<int64_t>(v.list->size);
    case ValueType::kMap:
      return static_cast<int64_t>(v.map->size);
    case ValueType::kStringMap:
      return static_cast<int64_t>(v.string_map->size());
    default:
      return -1;
  }
}

Value containerElement(const Value& v, size_t i) {
  switch (v.type) {
    case ValueType::kList:
      return v.list->elements[i];
    case ValueType::kMap:
      return v.map->keys[i];
    case ValueType::kStringMap: {
      std::string_view k, val;
      v.string_map->entry(i, &k, &val);
      return Value::makeString(k);
    }
    default:
      return Value();
  }
}

Value opIndex(const Value& m, const Value& k, EvalContext& ctx, bool* found) {
  *found = false;
  if (m.isError()) return m;
  if (k.isError()) return k;
  switch (m.type) {
    case ValueType::kStringMap:
    case ValueType::kMap: {
      if (m.type == ValueType::kMap && !validMapKey(k) && k.type != ValueType::kDouble) {
        return noOverload(ctx, "_[_]", m, k);
      }
      Value out;
      if (mapFind(m, k, &out, ctx)) {
        *found = true;
        return out;
      }
      if (ctx.dialect == Dialect::kCexl) return Value::makeString("");
      if (k.type == ValueType::kString) {
        return makeErrorf(ctx, strCat("no such key: ", k.stringView()));
      }
      return makeErrorf(ctx, "no such key");
    }
    case ValueType::kList: {
      int64_t i;
      if (k.type == ValueType::kInt64) {
        i = k.int_value;
      } else if (k.type == ValueType::kUint64 &&
                 k.uint_value <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        i = static_cast<int64_t>(k.uint_value);
      } else if (k.type == ValueType::kDouble && std::trunc(k.double_value) == k.double_value &&
                 std::abs(k.double_value) < 9.2e18) {
        i = static_cast<int64_t>(k.double_value);
      } else {
        return noOverload(ctx, "_[_]", m, k);
      }
      if (i < 0 || static_cast<size_t>(i) >= m.list->size) {
        return makeErrorf(ctx, strCat("index out of bounds: ", i));
      }
      *found = true;
      return m.list->elements[i];
    }
    default:
      return noOverload(ctx, "_[_]", m, k);
  }
}

Value opIn(const Value& e, const Value& c, EvalContext& ctx) {
  if (e.isError()) return e;
  if (c.isError()) return c;
  switch (c.type) {
    case ValueType::kList:
      for (size_t i = 0; i < c.list->size; ++i) {
        if (valuesEqual(e, c.list->elements[i], Dialect::kCel)) return Value::makeBool(true);
      }
      return Value::makeBool(false);
    case ValueType::kMap:
    case ValueType::kStringMap: {
      Value out;
      return Value::makeBool(mapFind(c, e, &out, ctx));
    }
    default:
      return noOverload(ctx, "@in", e, c);
  }
}

Value opHas(const Value& m, std::string_view field, EvalContext& ctx) {
  if (m.isError()) return m;
  if (m.type != ValueType::kMap && m.type != ValueType::kStringMap) {
    return makeErrorf(ctx, strCat("invalid type for field selection: ", valueTypeName(m.type)));
  }
  Value out;
  return Value::makeBool(mapFind(m, Value::makeString(field), &out, ctx));
}
}  // namespace expr
