// valuesEqual(): `==` for both dialects, and the CEL map lookup it shares with the operators.
#include <cstring>

#include "expr/builtins.h"
#include "expr/builtins_internal.h"
#include "expr/str_util.h"

namespace expr {

namespace {

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

}  // namespace

namespace internal {

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

}  // namespace internal

using internal::compareNumbers;
using internal::isNumber;
using internal::mapFind;

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

}  // namespace expr
