// Timestamps and durations: timestamp(), duration(), the CEL accessors (getFullYear ...
// getMilliseconds, with an optional time zone) and the range check every timestamp result
// passes.
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "base/go_duration.h"
#include "base/rfc3339.h"
#include "expr/builtins_internal.h"
#include "expr/str_util.h"

namespace expr::internal {

namespace {

constexpr int64_t kMinTimestampSeconds = -62135596800;  // 0001-01-01T00:00:00Z
constexpr int64_t kMaxTimestampSeconds = 253402300799;  // 9999-12-31T23:59:59Z

bool loadZone(std::string_view name, absl::TimeZone* tz) {
  if (name.empty() || name == "UTC" || name == "Z") {
    *tz = absl::UTCTimeZone();
    return true;
  }
  if (name[0] == '+' || name[0] == '-' || absl::ascii_isdigit(name[0])) {
    int sign = name[0] == '-' ? -1 : 1;
    std::string_view rest = (name[0] == '+' || name[0] == '-') ? name.substr(1) : name;
    size_t colon = rest.find(':');
    if (colon == std::string_view::npos) return false;
    int h, m;
    if (!simpleAtoi(rest.substr(0, colon), &h) || !simpleAtoi(rest.substr(colon + 1), &m)) {
      return false;
    }
    *tz = absl::FixedTimeZone(sign * (h * 3600 + m * 60));
    return true;
  }
  return absl::LoadTimeZone(std::string(name), tz);
}

}  // namespace

Value checkTimestamp(EvalContext& ctx, int64_t sec, int32_t nanos) {
  if (sec < kMinTimestampSeconds || sec > kMaxTimestampSeconds) {
    return makeErrorf(ctx, "timestamp out of range");
  }
  return Value::makeTimestamp(sec, nanos);
}

Value fnTimestamp(const Value* a, int, EvalContext& ctx) {
  switch (a[0].type) {
    case ValueType::kString: {
      Timestamp ts;
      if (!mixer::base::parseRfc3339(a[0].stringView(), &ts.seconds, &ts.nanos)) {
        if (ctx.dialect == Dialect::kCexl) {
          return makeErrorf(ctx, strCat("could not convert '", a[0].stringView(),
                                        "' to TIMESTAMP. expected format: "
                                        "'2006-01-02T15:04:05Z07:00'"));
        }
        return makeErrorf(ctx, strCat("invalid timestamp '", a[0].stringView(), "'"));
      }
      return checkTimestamp(ctx, ts.seconds, ts.nanos);
    }
    case ValueType::kTimestamp:
      return a[0];
    case ValueType::kInt64:
      return checkTimestamp(ctx, a[0].int_value, 0);
    default:
      return noOverload(ctx, "timestamp", a[0]);
  }
}

Value fnDuration(const Value* a, int, EvalContext& ctx) {
  switch (a[0].type) {
    case ValueType::kString: {
      int64_t nanos;
      if (!mixer::base::parseGoDuration(a[0].stringView(), &nanos)) {
        return makeErrorf(ctx, strCat("invalid duration '", a[0].stringView(), "'"));
      }
      return Value::makeDuration(nanos);
    }
    case ValueType::kDuration:
      return a[0];
    case ValueType::kInt64:
      return Value::makeDuration(a[0].int_value);
    default:
      return noOverload(ctx, "duration", a[0]);
  }
}

template <int kField>
Value fnTimeAccessor(const Value* a, int n, EvalContext& ctx) {
  const Value& v = a[0];
  if (v.type == ValueType::kDuration && n == 1) {
    int64_t ns = v.int_value;
    switch (kField) {
      case 6:
        return Value::makeInt(ns / 3600000000000LL);
      case 7:
        return Value::makeInt(ns / 60000000000LL);
      case 8:
        return Value::makeInt(ns / 1000000000LL);
      case 9:
        return Value::makeInt((ns / 1000000LL) % 1000);
      default:
        return noOverload(ctx, "accessor", v);
    }
  }
  if (v.type != ValueType::kTimestamp) return noOverload(ctx, "accessor", v);
  absl::TimeZone tz = absl::UTCTimeZone();
  if (n == 2) {
    if (a[1].type != ValueType::kString) return noOverload(ctx, "accessor", v, a[1]);
    if (!loadZone(a[1].stringView(), &tz)) {
      return makeErrorf(ctx, strCat("unknown time zone '", a[1].stringView(), "'"));
    }
  }
  absl::Time t = toAbslTime(v.timestamp);
  absl::TimeZone::CivilInfo ci = tz.At(t);
  const absl::CivilSecond& cs = ci.cs;
  switch (kField) {
    case 0:
      return Value::makeInt(cs.year());
    case 1:
      return Value::makeInt(cs.month() - 1);
    case 2:
      return Value::makeInt(cs.day());
    case 3:
      return Value::makeInt(cs.day() - 1);
    case 4: {
      int wd = 0;
      switch (absl::GetWeekday(cs)) {
        case absl::Weekday::sunday:
          wd = 0;
          break;
        case absl::Weekday::monday:
          wd = 1;
          break;
        case absl::Weekday::tuesday:
          wd = 2;
          break;
        case absl::Weekday::wednesday:
          wd = 3;
          break;
        case absl::Weekday::thursday:
          wd = 4;
          break;
        case absl::Weekday::friday:
          wd = 5;
          break;
        case absl::Weekday::saturday:
          wd = 6;
          break;
      }
      return Value::makeInt(wd);
    }
    case 5:
      return Value::makeInt(absl::GetYearDay(absl::CivilDay(cs)) - 1);
    case 6:
      return Value::makeInt(cs.hour());
    case 7:
      return Value::makeInt(cs.minute());
    case 8:
      return Value::makeInt(cs.second());
    case 9:
      return Value::makeInt(v.timestamp.nanos / 1000000);
  }
  return noOverload(ctx, "accessor", v);
}

template Value fnTimeAccessor<0>(const Value* a, int n, EvalContext& ctx);
template Value fnTimeAccessor<1>(const Value* a, int n, EvalContext& ctx);
template Value fnTimeAccessor<2>(const Value* a, int n, EvalContext& ctx);
template Value fnTimeAccessor<3>(const Value* a, int n, EvalContext& ctx);
template Value fnTimeAccessor<4>(const Value* a, int n, EvalContext& ctx);
template Value fnTimeAccessor<5>(const Value* a, int n, EvalContext& ctx);
template Value fnTimeAccessor<6>(const Value* a, int n, EvalContext& ctx);
template Value fnTimeAccessor<7>(const Value* a, int n, EvalContext& ctx);
template Value fnTimeAccessor<8>(const Value* a, int n, EvalContext& ctx);
template Value fnTimeAccessor<9>(const Value* a, int n, EvalContext& ctx);

}  // namespace expr::internal
