// The registration table: which function each builtin name, call style, arity and dialect
// resolves to. The functions themselves live in builtins_<family>.cc.
#include "expr/builtins.h"

#include "expr/builtins_internal.h"
#include "expr/str_util.h"

namespace expr {

namespace internal {

Value noOverload(EvalContext& ctx, std::string_view op, const Value& a) {
  return makeErrorf(ctx, strCat("no such overload: ", op, "(", valueTypeName(a.type), ")"));
}
Value noOverload(EvalContext& ctx, std::string_view op, const Value& a, const Value& b) {
  return makeErrorf(ctx, strCat("no such overload: ", op, "(", valueTypeName(a.type), ", ",
                                valueTypeName(b.type), ")"));
}

namespace {

class EmptyStringMap : public StringMapView {
 public:
  bool find(std::string_view, std::string_view*) const override { return false; }
  size_t size() const override { return 0; }
  void entry(size_t, std::string_view*, std::string_view*) const override {}
};

}  // namespace

Value fnEmptyStringMap(const Value*, int, EvalContext&) {
  static const EmptyStringMap* empty = new EmptyStringMap();
  return Value::makeStringMap(empty);
}

}  // namespace internal

namespace {

using namespace internal;  // NOLINT: the table names every builtin function

#define CEXL 1
#define CEL 2
const Builtin kBuiltins[] = {
    {"size", false, 1, 1, CEXL, fnSizeCexl},
    {"size", false, 1, 1, CEL, fnSizeCel},
    {"size", true, 1, 1, CEL, fnSizeCel},
    {"startsWith", true, 2, 2, CEXL | CEL, fnStartsWith},
    {"endsWith", true, 2, 2, CEXL | CEL, fnEndsWith},
    {"contains", true, 2, 2, CEL, fnContains},
    {"match", false, 2, 2, CEXL | CEL, fnMatch},
    {"matches", true, 2, 2, CEXL, fnMatchesCexl},
    {"matches", true, 2, 2, CEL, fnMatchesCel},
    {"matches", false, 2, 2, CEL, fnMatchesCel},
    {"toLower", false, 1, 1, CEXL | CEL, fnToLower},
    {"emptyStringMap", false, 0, 0, CEXL | CEL, fnEmptyStringMap},
    {"ip", false, 1, 1, CEXL | CEL, fnIp},
    {"timestamp", false, 1, 1, CEXL | CEL, fnTimestamp},
    {"duration", false, 1, 1, CEL, fnDuration},
    {"dnsName", false, 1, 1, CEXL | CEL, fnDnsName},
    {"email", false, 1, 1, CEXL | CEL, fnEmail},
    {"uri", false, 1, 1, CEXL | CEL, fnUri},
    {"int", false, 1, 1, CEL, fnInt},
    {"uint", false, 1, 1, CEL, fnUint},
    {"double", false, 1, 1, CEL, fnDouble},
    {"string", false, 1, 1, CEL, fnString},
    {"bytes", false, 1, 1, CEL, fnBytes},
    {"bool", false, 1, 1, CEL, fnBool},
    {"dyn", false, 1, 1, CEL, fnDyn},
    {"type", false, 1, 1, CEL, fnType},
    {"getFullYear", true, 1, 2, CEL, fnTimeAccessor<0>},
    {"getMonth", true, 1, 2, CEL, fnTimeAccessor<1>},
    {"getDate", true, 1, 2, CEL, fnTimeAccessor<2>},
    {"getDayOfMonth", true, 1, 2, CEL, fnTimeAccessor<3>},
    {"getDayOfWeek", true, 1, 2, CEL, fnTimeAccessor<4>},
    {"getDayOfYear", true, 1, 2, CEL, fnTimeAccessor<5>},
    {"getHours", true, 1, 2, CEL, fnTimeAccessor<6>},
    {"getMinutes", true, 1, 2, CEL, fnTimeAccessor<7>},
    {"getSeconds", true, 1, 2, CEL, fnTimeAccessor<8>},
    {"getMilliseconds", true, 1, 2, CEL, fnTimeAccessor<9>},
    {"lowerAscii", true, 1, 1, CEL, fnLowerAscii},
    {"upperAscii", true, 1, 1, CEL, fnUpperAscii},
    {"trim", true, 1, 1, CEL, fnTrim},
    {"charAt", true, 2, 2, CEL, fnCharAt},
    {"indexOf", true, 2, 3, CEL, fnIndexOf},
    {"lastIndexOf", true, 2, 3, CEL, fnLastIndexOf},
    {"substring", true, 2, 3, CEL, fnSubstring},
    {"replace", true, 3, 4, CEL, fnReplace},
    {"split", true, 2, 3, CEL, fnSplit},
    {"join", true, 1, 2, CEL, fnJoin},
    {"reverse", true, 1, 1, CEL, fnReverse},
    {"isIP", false, 1, 1, CEL, fnIsIp},
    {"ip.isCanonical", false, 1, 1, CEL, fnIpIsCanonical},
    {"cidr", false, 1, 1, CEL, fnCidr},
    {"strings.quote", false, 1, 1, CEL, fnStringsQuote},
    {"format", true, 2, 2, CEL, fnFormat},
    {"containsIP", true, 2, 2, CEL, fnContainsIp},
    {"containsCIDR", true, 2, 2, CEL, fnContainsCidr},
    {"ip", true, 1, 1, CEL, fnCidrIp},
    {"masked", true, 1, 1, CEL, fnMasked},
    {"prefixLength", true, 1, 1, CEL, fnPrefixLength},
    {"isGlobalUnicast", true, 1, 1, CEL, fnIpPredicate<0>},
    {"isLinkLocalMulticast", true, 1, 1, CEL, fnIpPredicate<1>},
    {"isLinkLocalUnicast", true, 1, 1, CEL, fnIpPredicate<2>},
    {"family", true, 1, 1, CEL, fnIpFamily},
    {"isLoopback", true, 1, 1, CEL, fnIsLoopback},
    {"isUnspecified", true, 1, 1, CEL, fnIsUnspecified},
};
#undef CEXL
#undef CEL

}  // namespace

Value makeErrorf(EvalContext& ctx, std::string_view message) {
  return Value::makeError(ctx.arena->copy(message));
}

int findBuiltin(std::string_view name, bool member, int nargs, Dialect dialect) {
  uint8_t mask = dialect == Dialect::kCexl ? 1 : 2;
  for (size_t i = 0; i < sizeof(kBuiltins) / sizeof(kBuiltins[0]); ++i) {
    const Builtin& b = kBuiltins[i];
    if (b.name == name && b.member == member && (b.dialects & mask) && nargs >= b.min_args &&
        nargs <= b.max_args) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

const Builtin& builtinAt(int index) { return kBuiltins[index]; }

}  // namespace expr
