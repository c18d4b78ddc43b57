// Network values: ip() in both dialects, the CEL network extension (isIP, cidr, containsIP,
// family, isLoopback ...), and the Istio typed strings dnsName(), email() and uri().
#include <arpa/inet.h>

#include <cstring>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "expr/builtins_internal.h"
#include "expr/ip_address.h"
#include "expr/str_util.h"

namespace expr::internal {

std::string formatCidr(std::string_view b) {
  if (b.empty()) return "?";
  return strCat(formatIp(b.substr(0, b.size() - 1)), "/",
                static_cast<int>(static_cast<unsigned char>(b.back())));
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

namespace {

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

// Splits a CIDR value into its network bytes and prefix length.
void cidrParts(const Value& c, std::string_view* net, int* prefix) {
  std::string_view b = c.stringView();
  *net = b.substr(0, b.size() - 1);
  *prefix = static_cast<unsigned char>(b.back());
}

}  // namespace

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

// Network extension (subset): ip(), isIP(), family(), isLoopback(), ...
Value fnIsIp(const Value* a, int, EvalContext& ctx) {
  if (a[0].type != ValueType::kString) return noOverload(ctx, "isIP", a[0]);
  std::string b;
  return Value::makeBool(parseIp(a[0].stringView(), &b));
}

Value fnIpFamily(const Value* a, int, EvalContext& ctx) {
  if (a[0].type != ValueType::kIpAddress) return noOverload(ctx, "family", a[0]);
  return Value::makeInt(isIpv4(a[0].stringView()) ? 4 : 6);
}

Value fnIsLoopback(const Value* a, int, EvalContext& ctx) {
  if (a[0].type != ValueType::kIpAddress) return noOverload(ctx, "isLoopback", a[0]);
  std::string_view ip = a[0].stringView();
  if (isIpv4(ip)) return Value::makeBool(static_cast<unsigned char>(ip[ip.size() - 4]) == 127);
  static const char kLoop[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  return Value::makeBool(ip.size() == 16 && std::memcmp(ip.data(), kLoop, 16) == 0);
}

Value fnIsUnspecified(const Value* a, int, EvalContext& ctx) {
  if (a[0].type != ValueType::kIpAddress) return noOverload(ctx, "isUnspecified", a[0]);
  std::string_view ip = a[0].stringView();
  std::string_view tail = isIpv4(ip) ? ip.substr(ip.size() - 4) : ip;
  for (char c : tail) {
    if (c != 0) return Value::makeBool(false);
  }
  return Value::makeBool(true);
}

Value fnCidr(const Value* a, int, EvalContext& ctx) {
  if (a[0].type != ValueType::kString) return noOverload(ctx, "cidr", a[0]);
  std::string bytes, err;
  if (!parseCidr(a[0].stringView(), &bytes, &err)) return makeErrorf(ctx, err);
  return makeCidr(ctx, bytes);
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
  const bool v4 = isIpv4(ip);
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

template Value fnIpPredicate<0>(const Value* a, int n, EvalContext& ctx);
template Value fnIpPredicate<1>(const Value* a, int n, EvalContext& ctx);
template Value fnIpPredicate<2>(const Value* a, int n, EvalContext& ctx);

}  // namespace expr::internal
