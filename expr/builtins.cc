#include "expr/builtins.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "expr/checker.h"
#include "expr/str_util.h"

namespace expr {

namespace {

constexpr int64_t kMinTimestampSeconds = -62135596800;  // 0001-01-01T00:00:00Z
constexpr int64_t kMaxTimestampSeconds = 253402300799;  // 9999-12-31T23:59:59Z

Value noOverload(EvalContext& ctx, std::string_view op, const Value& a) {
  return makeErrorf(ctx, strCat("no such overload: ", op, "(", valueTypeName(a.type), ")"));
}
Value noOverload(EvalContext& ctx, std::string_view op, const Value& a, const Value& b) {
  return makeErrorf(ctx, strCat("no such overload: ", op, "(", valueTypeName(a.type), ", ",
                                valueTypeName(b.type), ")"));
}

Value arenaString(EvalContext& ctx, ValueType t, std::string_view s) {
  return Value::makeStringLike(t, ctx.arena->copy(s));
}

bool isNumber(const Value& v) {
  return v.type == ValueType::kInt64 || v.type == ValueType::kUint64 ||
         v.type == ValueType::kDouble;
}

// Compares numbers of any kind on one number line: -1, 0, 1, or 2 when unordered (NaN).
int compareNumbers(const Value& a, const Value& b) {
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

bool dnsEqual(std::string_view a, std::string_view b) {
  if (!a.empty() && a.back() == '.') a.remove_suffix(1);
  if (!b.empty() && b.back() == '.') b.remove_suffix(1);
  return equalsIgnoreCase(a, b);
}

bool emailEqual(std::string_view a, std::string_view b) {
  size_t ia = a.rfind('@'), ib = b.rfind('@');
  if (ia == std::string_view::npos || ib == std::string_view::npos) return a == b;
  // net/mail unquotes a quoted local part: "istio"@istio.io is istio@istio.io.
  auto local = [](std::string_view l) {
    std::string out;
    if (l.size() >= 2 && l.front() == '"' && l.back() == '"') {
      l = l.substr(1, l.size() - 2);
      for (size_t i = 0; i < l.size(); ++i) {
        if (l[i] == '\\' && i + 1 < l.size()) ++i;
        out.push_back(l[i]);
      }
      return out;
    }
    return std::string(l);
  };
  return local(a.substr(0, ia)) == local(b.substr(0, ib)) &&
         dnsEqual(a.substr(ia + 1), b.substr(ib + 1));
}

struct UriParts {
  std::string scheme;
  std::string_view authority;
  std::string_view rest;
  bool has_authority = false;
};
UriParts splitUri(std::string_view s) {
  UriParts p;
  size_t colon = s.find(':');
  if (colon != std::string_view::npos) {
    p.scheme = asciiToLower(s.substr(0, colon));
    s.remove_prefix(colon + 1);
  }
  if (s.substr(0, 2) == "//") {
    s.remove_prefix(2);
    size_t end = s.find_first_of("/?#");
    p.authority = s.substr(0, end);
    p.rest = end == std::string_view::npos ? std::string_view() : s.substr(end);
    p.has_authority = true;
  } else {
    p.rest = s;
  }
  return p;
}

bool uriEqual(std::string_view a, std::string_view b) {
  UriParts x = splitUri(a), y = splitUri(b);
  if (x.scheme != y.scheme) return false;
  if ((x.scheme == "http" || x.scheme == "https") && x.has_authority && y.has_authority) {
    auto hostPort = [](std::string_view auth, std::string_view* host, std::string_view* port) {
      size_t at = auth.rfind('@');
      if (at != std::string_view::npos) auth.remove_prefix(at + 1);
      size_t c = auth.rfind(':');
      if (c != std::string_view::npos && auth.find(']', c) == std::string_view::npos) {
        *host = auth.substr(0, c);
        *port = auth.substr(c + 1);
      } else {
        *host = auth;
        *port = {};
      }
    };
    std::string_view hx, px, hy, py;
    hostPort(x.authority, &hx, &px);
    hostPort(y.authority, &hy, &py);
    return dnsEqual(hx, hy) && px == py && x.rest == y.rest;
  }
  return x.authority == y.authority && x.rest == y.rest && x.has_authority == y.has_authority;
}

bool ipEqual(std::string_view a, std::string_view b) {
  static const char kV4Prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '\xff', '\xff'};
  auto norm = [](std::string_view ip, char out[16]) {
    if (ip.size() == 4) {
      std::memcpy(out, kV4Prefix, 12);
      std::memcpy(out + 12, ip.data(), 4);
      return true;
    }
    if (ip.size() == 16) {
      std::memcpy(out, ip.data(), 16);
      return true;
    }
    return false;
  };
  char x[16], y[16];
  if (!norm(a, x) || !norm(b, y)) return a == b;
  return std::memcmp(x, y, 16) == 0;
}

bool stringMapEqual(const StringMapView* a, const StringMapView* b) {
  if (a == b) return true;
  if (a->size() != b->size()) return false;
  for (size_t i = 0; i < a->size(); ++i) {
    std::string_view k, v, w;
    a->entry(i, &k, &v);
    if (!b->find(k, &w) || v != w) return false;
  }
  return true;
}

// Finds `key` in a CEL map with heterogeneous numeric key equality.
bool mapFind(const Value& m, const Value& key, Value* out, EvalContext& ctx) {
  if (m.type == ValueType::kStringMap) {
    if (key.type != ValueType::kString) return false;
    std::string_view v;
    bool found = m.string_map->find(key.stringView(), &v);
    if (m.origin != kNoAttribute && ctx.references != nullptr) {
      ctx.references->pushKey(m.origin, found, key.stringView());
    }
    if (found) *out = Value::makeString(v);
    return found;
  }
  for (size_t i = 0; i < m.map->size; ++i) {
    const Value& k = m.map->keys[i];
    bool eq = (k.type == key.type || (isNumber(k) && isNumber(key))) &&
              valuesEqual(k, key, Dialect::kCel);
    if (eq) {
      *out = m.map->values[i];
      return true;
    }
  }
  return false;
}

bool validMapKey(const Value& k) {
  return k.type == ValueType::kString || k.type == ValueType::kInt64 ||
         k.type == ValueType::kUint64 || k.type == ValueType::kBool;
}

Value checkTimestamp(EvalContext& ctx, int64_t sec, int32_t nanos) {
  if (sec < kMinTimestampSeconds || sec > kMaxTimestampSeconds) {
    return makeErrorf(ctx, "timestamp out of range");
  }
  return Value::makeTimestamp(sec, nanos);
}

absl::Time toAbslTime(const Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds) + absl::Nanoseconds(ts.nanos);
}

std::string formatCidr(std::string_view b) {
  if (b.empty()) return "?";
  return strCat(formatIp(b.substr(0, b.size() - 1)), "/",
                static_cast<int>(static_cast<unsigned char>(b.back())));
}

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

std::string formatDouble(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "+Inf" : "-Inf";
  // Shortest representation that round-trips, Go 'g' style.
  for (int prec = 1; prec <= 17; ++prec) {
    std::string s = absl::StrFormat("%.*g", prec, d);
    if (std::strtod(s.c_str(), nullptr) == d) {
      // Go prints 1e+06 as 1e+06 and 100000 as 100000: matches %g.
      return s;
    }
  }
  return absl::StrFormat("%.17g", d);
}

// ---------------------------------------------------------------------------------------------
// Functions.

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

bool stringArgs(const Value* a, int n) {
  for (int i = 0; i < n; ++i) {
    if (a[i].type != ValueType::kString) return false;
  }
  return true;
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

Value regexMatch(std::string_view pattern, std::string_view s, EvalContext& ctx);

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

class EmptyStringMap : public StringMapView {
 public:
  bool find(std::string_view, std::string_view*) const override { return false; }
  size_t size() const override { return 0; }
  void entry(size_t, std::string_view*, std::string_view*) const override {}
};
Value fnEmptyStringMap(const Value*, int, EvalContext&) {
  static const EmptyStringMap* empty = new EmptyStringMap();
  return Value::makeStringMap(empty);
}

// The CEL network extension's address parsing: no zones, no dotted IPv4-mapped IPv6 form;
// IPv4 addresses are kept as 4 bytes.
bool parseCelIp(std::string_view s, std::string* bytes, std::string* error) {
  std::string str(s);
  if (str.find('%') != std::string::npos) {
    *error = "IP Address with zone value is not allowed";
    return false;
  }
  if (str.find(':') != std::string::npos && str.find('.') != std::string::npos) {
    *error = "IPv4-mapped IPv6 address is not allowed";
    return false;
  }
  unsigned char buf[16];
  if (inet_pton(AF_INET, str.c_str(), buf) == 1) {
    bytes->assign(reinterpret_cast<char*>(buf), 4);
    return true;
  }
  if (inet_pton(AF_INET6, str.c_str(), buf) == 1) {
    bytes->assign(reinterpret_cast<char*>(buf), 16);
    return true;
  }
  *error = strCat("IP Address '", s, "' parse error during conversion from string");
  return false;
}

Value fnIp(const Value* a, int, EvalContext& ctx) {
  if (a[0].type != ValueType::kString) return noOverload(ctx, "ip", a[0]);
  std::string bytes;
  if (ctx.dialect == Dialect::kCel) {
    std::string err;
    if (!parseCelIp(a[0].stringView(), &bytes, &err)) return makeErrorf(ctx, err);
    return Value::makeIp(ctx.arena->copy(bytes));
  }
  if (!parseIp(a[0].stringView(), &bytes)) {
    return makeErrorf(ctx, strCat("could not convert ", a[0].stringView(), " to IP_ADDRESS"));
  }
  return Value::makeIp(ctx.arena->copy(bytes));
}

Value fnTimestamp(const Value* a, int, EvalContext& ctx) {
  switch (a[0].type) {
    case ValueType::kString: {
      Timestamp ts;
      if (!parseRfc3339(a[0].stringView(), &ts)) {
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
      if (!parseGoDuration(a[0].stringView(), &nanos)) {
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

bool validDnsName(std::string_view s, std::string* error) {
  std::string_view rest = s;
  if (!rest.empty() && rest.back() == '.') rest.remove_suffix(1);
  if (rest.empty() || s.size() > 254) {
    *error = strCat("idna: invalid label \"", rest, "\"");
    return false;
  }
  size_t start = 0;
  while (true) {
    size_t dot = rest.find('.', start);
    std::string_view label =
        rest.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    bool ok = !label.empty() && label.size() <= 63 && label.front() != '-' && label.back() != '-';
    for (char c : label) {
      unsigned char u = static_cast<unsigned char>(c);
      if (!(absl::ascii_isalnum(c) || c == '-' || c == '_' || u >= 0x80)) ok = false;
    }
    if (!ok) {
      *error = strCat("idna: invalid label \"", label, "\"");
      return false;
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return true;
}

Value fnDnsName(const Value* a, int, EvalContext& ctx) {
  if (a[0].type != ValueType::kString) return noOverload(ctx, "dnsName", a[0]);
  std::string err;
  if (!validDnsName(a[0].stringView(), &err)) {
    return makeErrorf(
        ctx, strCat("error converting '", a[0].stringView(), "' to dns name: '", err, "'"));
  }
  return Value::makeStringLike(ValueType::kDnsName, a[0].stringView());
}

Value fnEmail(const Value* a, int, EvalContext& ctx) {
  if (a[0].type != ValueType::kString) return noOverload(ctx, "email", a[0]);
  std::string_view s = a[0].stringView();
  size_t at = s.rfind('@');
  std::string err;
  if (at == std::string_view::npos || at == 0) {
    err = "mail: missing @ in addr-spec";
  } else if (s.find_first_of("<> ,") != std::string_view::npos && s.front() != '"') {
    err = "mail: expected single address";
  } else if (!validDnsName(s.substr(at + 1), &err)) {
  }
  if (!err.empty()) {
    return makeErrorf(ctx, strCat("error converting '", s, "' to e-mail: '", err, "'"));
  }
  return Value::makeStringLike(ValueType::kEmailAddress, s);
}

Value fnUri(const Value* a, int, EvalContext& ctx) {
  if (a[0].type != ValueType::kString) return noOverload(ctx, "uri", a[0]);
  std::string_view s = a[0].stringView();
  if (s.empty()) return makeErrorf(ctx, "error converting string to uri: empty string");
  std::string err;
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      err = strCat("parse ", s, ": net/url: invalid control character in URL");
    }
  }
  if (err.empty() && s[0] == ':') err = strCat("parse ", s, ": missing protocol scheme");
  for (size_t i = 0; err.empty() && i < s.size(); ++i) {
    if (s[i] == '%' &&
        (i + 2 >= s.size() || !absl::ascii_isxdigit(s[i + 1]) || !absl::ascii_isxdigit(s[i + 2]))) {
      err = strCat("parse ", s, ": invalid URL escape \"", s.substr(i, 3), "\"");
    }
  }
  if (!err.empty()) {
    return makeErrorf(ctx, strCat("error converting string to uri '", s, "': '", err, "'"));
  }
  return Value::makeStringLike(ValueType::kUri, s);
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
      return arenaString(ctx, ValueType::kString, formatRfc3339(v.timestamp));
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

// Timestamp / duration accessors.
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

// Network extension (subset): ip(), isIP(), family(), isLoopback(), ...
Value fnIsIp(const Value* a, int, EvalContext& ctx) {
  if (a[0].type != ValueType::kString) return noOverload(ctx, "isIP", a[0]);
  std::string b;
  return Value::makeBool(parseIp(a[0].stringView(), &b));
}

bool isV4(std::string_view ip) {
  return ip.size() == 4 ||
         (ip.size() == 16 && std::memcmp(ip.data(), "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0);
}

Value fnIpFamily(const Value* a, int, EvalContext& ctx) {
  if (a[0].type != ValueType::kIpAddress) return noOverload(ctx, "family", a[0]);
  return Value::makeInt(isV4(a[0].stringView()) ? 4 : 6);
}

Value fnIsLoopback(const Value* a, int, EvalContext& ctx) {
  if (a[0].type != ValueType::kIpAddress) return noOverload(ctx, "isLoopback", a[0]);
  std::string_view ip = a[0].stringView();
  if (isV4(ip)) return Value::makeBool(static_cast<unsigned char>(ip[ip.size() - 4]) == 127);
  static const char kLoop[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  return Value::makeBool(ip.size() == 16 && std::memcmp(ip.data(), kLoop, 16) == 0);
}

Value fnIsUnspecified(const Value* a, int, EvalContext& ctx) {
  if (a[0].type != ValueType::kIpAddress) return noOverload(ctx, "isUnspecified", a[0]);
  std::string_view ip = a[0].stringView();
  std::string_view tail = isV4(ip) ? ip.substr(ip.size() - 4) : ip;
  for (char c : tail) {
    if (c != 0) return Value::makeBool(false);
  }
  return Value::makeBool(true);
}

bool ipInPrefix(std::string_view ip, std::string_view net, int prefix) {
  if (ip.size() != net.size()) return false;
  for (int bit = 0; bit < prefix; ++bit) {
    unsigned char x = ip[bit / 8], y = net[bit / 8];
    unsigned char mask = static_cast<unsigned char>(0x80 >> (bit % 8));
    if ((x & mask) != (y & mask)) return false;
  }
  return true;
}

bool parseCidr(std::string_view s, std::string* out, std::string* error) {
  if (s.find('%') != std::string_view::npos) {
    *error = "CIDR with zone value is not allowed";
    return false;
  }
  size_t slash = s.rfind('/');
  int prefix = -1;
  std::string addr;
  if (slash == std::string_view::npos || !simpleAtoi(s.substr(slash + 1), &prefix)) {
    *error = "network address parse error during conversion from string";
    return false;
  }
  if (!parseCelIp(s.substr(0, slash), &addr, error)) {
    if (error->find("parse error") != std::string::npos) {
      *error = "network address parse error during conversion from string";
    }
    return false;
  }
  if (prefix < 0 || prefix > static_cast<int>(addr.size() * 8)) {
    *error = "network address parse error during conversion from string";
    return false;
  }
  *out = addr;
  out->push_back(static_cast<char>(prefix));
  return true;
}

Value makeCidr(EvalContext& ctx, std::string_view bytes) {
  return Value::makeStringLike(ValueType::kCidr, ctx.arena->copy(bytes));
}

Value fnCidr(const Value* a, int, EvalContext& ctx) {
  if (a[0].type != ValueType::kString) return noOverload(ctx, "cidr", a[0]);
  std::string bytes, err;
  if (!parseCidr(a[0].stringView(), &bytes, &err)) return makeErrorf(ctx, err);
  return makeCidr(ctx, bytes);
}

// Splits a CIDR value into its network bytes and prefix length.
void cidrParts(const Value& c, std::string_view* net, int* prefix) {
  std::string_view b = c.stringView();
  *net = b.substr(0, b.size() - 1);
  *prefix = static_cast<unsigned char>(b.back());
}

Value fnContainsIp(const Value* a, int, EvalContext& ctx) {
  if (a[0].type != ValueType::kCidr) return noOverload(ctx, "containsIP", a[0], a[1]);
  std::string bytes, err;
  std::string_view ip;
  if (a[1].type == ValueType::kIpAddress) {
    ip = a[1].stringView();
  } else if (a[1].type == ValueType::kString) {
    if (!parseCelIp(a[1].stringView(), &bytes, &err)) return makeErrorf(ctx, err);
    ip = bytes;
  } else {
    return noOverload(ctx, "containsIP", a[0], a[1]);
  }
  std::string_view net;
  int prefix;
  cidrParts(a[0], &net, &prefix);
  return Value::makeBool(ipInPrefix(ip, net, prefix));
}

Value fnContainsCidr(const Value* a, int, EvalContext& ctx) {
  if (a[0].type != ValueType::kCidr) return noOverload(ctx, "containsCIDR", a[0], a[1]);
  std::string bytes, err;
  std::string_view other;
  if (a[1].type == ValueType::kCidr) {
    other = a[1].stringView();
  } else if (a[1].type == ValueType::kString) {
    if (!parseCidr(a[1].stringView(), &bytes, &err)) return makeErrorf(ctx, err);
    other = bytes;
  } else {
    return noOverload(ctx, "containsCIDR", a[0], a[1]);
  }
  std::string_view net, onet = other.substr(0, other.size() - 1);
  int prefix, oprefix = static_cast<unsigned char>(other.back());
  cidrParts(a[0], &net, &prefix);
  return Value::makeBool(oprefix >= prefix && ipInPrefix(onet, net, prefix));
}

Value fnCidrIp(const Value* a, int, EvalContext& ctx) {
  if (a[0].type != ValueType::kCidr) return noOverload(ctx, "ip", a[0]);
  std::string_view net;
  int prefix;
  cidrParts(a[0], &net, &prefix);
  return Value::makeIp(net);
}

Value fnMasked(const Value* a, int, EvalContext& ctx) {
  if (a[0].type != ValueType::kCidr) return noOverload(ctx, "masked", a[0]);
  std::string_view net;
  int prefix;
  cidrParts(a[0], &net, &prefix);
  std::string out(net);
  for (size_t bit = prefix; bit < out.size() * 8; ++bit) {
    out[bit / 8] = static_cast<char>(out[bit / 8] & ~(0x80 >> (bit % 8)));
  }
  out.push_back(static_cast<char>(prefix));
  return makeCidr(ctx, out);
}

Value fnPrefixLength(const Value* a, int, EvalContext& ctx) {
  if (a[0].type != ValueType::kCidr) return noOverload(ctx, "prefixLength", a[0]);
  std::string_view net;
  int prefix;
  cidrParts(a[0], &net, &prefix);
  return Value::makeInt(prefix);
}

template <int kKind>
Value fnIpPredicate(const Value* a, int, EvalContext& ctx) {
  if (a[0].type != ValueType::kIpAddress) return noOverload(ctx, "ip predicate", a[0]);
  std::string_view raw = a[0].stringView();
  std::string ip = raw.size() == 4
                       ? std::string("\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) + std::string(raw)
                       : std::string(raw);
  if (ip.size() != 16) return noOverload(ctx, "ip predicate", a[0]);
  const unsigned char* b = reinterpret_cast<const unsigned char*>(ip.data());
  const bool v4 = isV4(ip);
  const unsigned char* q = b + 12;
  bool loopback = v4 ? q[0] == 127 : ip == std::string(15, '\0') + "\x01";
  bool unspecified = v4 ? (q[0] | q[1] | q[2] | q[3]) == 0 : ip == std::string(16, '\0');
  bool multicast = v4 ? (q[0] & 0xF0) == 0xE0 : b[0] == 0xFF;
  bool ll_unicast = v4 ? (q[0] == 169 && q[1] == 254) : (b[0] == 0xFE && (b[1] & 0xC0) == 0x80);
  bool ll_multicast =
      v4 ? (q[0] == 224 && q[1] == 0 && q[2] == 0) : (b[0] == 0xFF && (b[1] & 0x0F) == 0x02);
  bool broadcast = v4 && q[0] == 255 && q[1] == 255 && q[2] == 255 && q[3] == 255;
  switch (kKind) {
    case 0:
      return Value::makeBool(!(unspecified || loopback || multicast || ll_unicast || broadcast));
    case 1:
      return Value::makeBool(ll_multicast);
    default:
      return Value::makeBool(ll_unicast);
  }
}

Value fnIpIsCanonical(const Value* a, int, EvalContext& ctx) {
  if (a[0].type != ValueType::kString) return noOverload(ctx, "ip.isCanonical", a[0]);
  std::string bytes, err;
  if (!parseCelIp(a[0].stringView(), &bytes, &err)) return makeErrorf(ctx, err);
  return Value::makeBool(formatIp(bytes) == a[0].stringView());
}

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

// strings extension: "fmt".format([args]).
bool formatArgString(const Value& v, std::string* out);

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
      out->append(formatRfc3339(v.timestamp));
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

bool valuesEqual(const Value& a, const Value& b, Dialect dialect) {
  if (a.type != b.type) {
    if (dialect == Dialect::kCel) {
      if (isNumber(a) && isNumber(b)) return compareNumbers(a, b) == 0;
      if ((a.type == ValueType::kMap || a.type == ValueType::kStringMap) &&
          (b.type == ValueType::kMap || b.type == ValueType::kStringMap)) {
        if (containerSize(a) != containerSize(b)) return false;
        EvalContext ctx{nullptr, Dialect::kCel, nullptr};
        for (int64_t i = 0; i < containerSize(a); ++i) {
          Value k = containerElement(a, i), va, vb;
          if (!mapFind(a, k, &va, ctx) || !mapFind(b, k, &vb, ctx)) return false;
          if (!valuesEqual(va, vb, dialect)) return false;
        }
        return true;
      }
    }
    return false;
  }
  switch (a.type) {
    case ValueType::kString:
    case ValueType::kBytes:
    case ValueType::kType:
    case ValueType::kError:
      return a.stringView() == b.stringView();
    case ValueType::kInt64:
    case ValueType::kDuration:
      return a.int_value == b.int_value;
    case ValueType::kUint64:
      return a.uint_value == b.uint_value;
    case ValueType::kDouble:
      return a.double_value == b.double_value;
    case ValueType::kBool:
      return a.bool_value == b.bool_value;
    case ValueType::kNull:
      return true;
    case ValueType::kTimestamp:
      return a.timestamp.seconds == b.timestamp.seconds && a.timestamp.nanos == b.timestamp.nanos;
    case ValueType::kIpAddress:
      if (dialect == Dialect::kCel && a.str.size != b.str.size) return false;
      return ipEqual(a.stringView(), b.stringView());
    case ValueType::kCidr:
      return a.stringView() == b.stringView();
    case ValueType::kDnsName:
      return dnsEqual(a.stringView(), b.stringView());
    case ValueType::kEmailAddress:
      return emailEqual(a.stringView(), b.stringView());
    case ValueType::kUri:
      return uriEqual(a.stringView(), b.stringView());
    case ValueType::kStringMap:
      return stringMapEqual(a.string_map, b.string_map);
    case ValueType::kList: {
      if (a.list->size != b.list->size) return false;
      for (size_t i = 0; i < a.list->size; ++i) {
        if (!valuesEqual(a.list->elements[i], b.list->elements[i], dialect)) return false;
      }
      return true;
    }
    case ValueType::kMap: {
      if (a.map->size != b.map->size) return false;
      EvalContext ctx{nullptr, Dialect::kCel, nullptr};
      for (size_t i = 0; i < a.map->size; ++i) {
        Value vb;
        if (!mapFind(b, a.map->keys[i], &vb, ctx)) return false;
        if (!valuesEqual(a.map->values[i], vb, dialect)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

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

bool parseIp(std::string_view s, std::string* bytes16) {
  std::string str(s);
  unsigned char buf[16];
  if (inet_pton(AF_INET, str.c_str(), buf + 12) == 1) {
    std::memcpy(buf, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12);
    bytes16->assign(reinterpret_cast<char*>(buf), 16);
    return true;
  }
  if (str.find('%') == std::string::npos && inet_pton(AF_INET6, str.c_str(), buf) == 1) {
    bytes16->assign(reinterpret_cast<char*>(buf), 16);
    return true;
  }
  return false;
}

std::string formatIp(std::string_view b) {
  char out[INET6_ADDRSTRLEN];
  if (b.size() == 4 || (b.size() == 16 && isV4(b))) {
    inet_ntop(AF_INET, b.data() + b.size() - 4, out, sizeof(out));
    return out;
  }
  if (b.size() == 16) {
    inet_ntop(AF_INET6, b.data(), out, sizeof(out));
    return out;
  }
  return strCat("?", b.size());
}

bool parseRfc3339(std::string_view s, Timestamp* out) {
  // Strict form: YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
      s[13] != ':' || s[16] != ':') {
    return false;
  }
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, std::string(s), &t, &err)) return false;
  int64_t sec = absl::ToUnixSeconds(t);
  int64_t ns = absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(sec));
  out->seconds = sec;
  out->nanos = static_cast<int32_t>(ns);
  return true;
}

std::string formatRfc3339(const Timestamp& ts) {
  absl::Time t = toAbslTime(ts);
  std::string s = absl::FormatTime("%Y-%m-%dT%H:%M:%S", t, absl::UTCTimeZone());
  if (ts.nanos != 0) {
    std::string f = absl::StrFormat("%09d", ts.nanos);
    while (!f.empty() && f.back() == '0') f.pop_back();
    strAppend(&s, ".", f);
  }
  s += "Z";
  return s;
}

std::string formatGoDuration(int64_t nanos) {
  // Go's time.Duration.String.
  bool neg = nanos < 0;
  uint64_t u = neg ? 0 - static_cast<uint64_t>(nanos) : static_cast<uint64_t>(nanos);
  auto frac = [](uint64_t v, int prec, std::string* digits) {
    // Returns v / 10^prec and sets the trimmed fractional digits (with the dot).
    std::string f;
    bool print = false;
    for (int i = 0; i < prec; ++i) {
      int d = static_cast<int>(v % 10);
      print = print || d != 0;
      if (print) f.insert(f.begin(), static_cast<char>('0' + d));
      v /= 10;
    }
    *digits = f.empty() ? "" : "." + f;
    return v;
  };
  std::string out;
  if (u < 1000000000ULL) {
    if (u == 0) return "0s";
    std::string unit, digits;
    int prec;
    if (u < 1000ULL) {
      prec = 0;
      unit = "ns";
    } else if (u < 1000000ULL) {
      prec = 3;
      unit = "\xC2\xB5s";
    } else {
      prec = 6;
      unit = "ms";
    }
    uint64_t whole = frac(u, prec, &digits);
    out = strCat(whole, digits, unit);
  } else {
    std::string digits;
    uint64_t secs = frac(u, 9, &digits);
    out = strCat(secs % 60, digits, "s");
    uint64_t mins = secs / 60;
    if (mins > 0) {
      out = strCat(mins % 60, "m", out);
      uint64_t hours = mins / 60;
      if (hours > 0) out = strCat(hours, "h", out);
    }
  }
  return neg ? "-" + out : out;
}

bool globMatch(std::string_view str, std::string_view pattern) {
  if (pattern.ends_with('*')) return str.starts_with(pattern.substr(0, pattern.size() - 1));
  if (pattern.starts_with('*')) return str.ends_with(pattern.substr(1));
  return str == pattern;
}

}  // namespace expr

#include "re2/re2.h"

namespace expr {
namespace {
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
}  // namespace expr
