#include "mixer/client/attribute_flags.h"

#include <arpa/inet.h>

#include <cerrno>
#include <cstdlib>

#include "base/go_duration.h"
#include "base/rfc3339.h"
#include "base/str_cat.h"

namespace mixer::client {
namespace {

using attribute::AttributeBag;
using attribute::AttributeValue;
using attribute::ValueType;

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    const size_t pos = s.find(sep, start);
    out.push_back(s.substr(start, pos == std::string_view::npos ? pos : pos - start));
    if (pos == std::string_view::npos) {
      return out;
    }
    start = pos + 1;
  }
}

bool parseInt64(std::string_view s, int64_t* out) {
  if (s.empty()) {
    return false;
  }
  std::string tmp(s);
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(tmp.c_str(), &end, 10);
  if (errno != 0 || end != tmp.c_str() + tmp.size()) {
    return false;
  }
  *out = v;
  return true;
}

bool parseDouble(std::string_view s, double* out) {
  if (s.empty()) {
    return false;
  }
  std::string tmp(s);
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(tmp.c_str(), &end);
  if (errno != 0 || end != tmp.c_str() + tmp.size()) {
    return false;
  }
  *out = v;
  return true;
}

bool parseBool(std::string_view s, bool* out) {
  if (s == "true" || s == "True" || s == "TRUE" || s == "1" || s == "t" || s == "T") {
    *out = true;
    return true;
  }
  if (s == "false" || s == "False" || s == "FALSE" || s == "0" || s == "f" || s == "F") {
    *out = false;
    return true;
  }
  return false;
}

bool parseHexBytes(std::string_view s, std::string* out) {
  out->clear();
  if (s.empty()) {
    return true;
  }
  for (auto part : split(s, ':')) {
    if (part.empty() || part.size() > 2) {
      return false;
    }
    int v = 0;
    for (char c : part) {
      v <<= 4;
      if (c >= '0' && c <= '9') {
        v |= c - '0';
      } else if (c >= 'a' && c <= 'f') {
        v |= c - 'a' + 10;
      } else if (c >= 'A' && c <= 'F') {
        v |= c - 'A' + 10;
      } else {
        return false;
      }
    }
    out->push_back(static_cast<char>(v));
  }
  return true;
}

// Parses `text` as `type`; strings are copied into the bag.
absl::Status parseAs(ValueType type, std::string_view name, std::string_view text,
                     AttributeBag* bag, AttributeValue* out) {
  auto bad = [&](std::string_view what) {
    return absl::InvalidArgumentError(
        base::strCat("attribute '", name, "': '", text, "' is not ", what));
  };
  switch (type) {
    case ValueType::kString:
    case ValueType::kDnsName:
    case ValueType::kEmailAddress:
    case ValueType::kUri:
      *out = AttributeValue::string(bag->own(std::string(text)), type);
      return absl::OkStatus();
    case ValueType::kInt64: {
      int64_t v;
      if (!parseInt64(text, &v)) {
        return bad("an INT64");
      }
      *out = AttributeValue::int64(v);
      return absl::OkStatus();
    }
    case ValueType::kDouble: {
      double v;
      if (!parseDouble(text, &v)) {
        return bad("a DOUBLE");
      }
      *out = AttributeValue::doubleValue(v);
      return absl::OkStatus();
    }
    case ValueType::kBool: {
      bool v;
      if (!parseBool(text, &v)) {
        return bad("a BOOL (true or false)");
      }
      *out = AttributeValue::boolean(v);
      return absl::OkStatus();
    }
    case ValueType::kTimestamp: {
      attribute::Timestamp t{};
      if (!base::parseRfc3339(text, &t.seconds, &t.nanos)) {
        return bad("an RFC 3339 TIMESTAMP (e.g. 2017-01-02T15:04:05Z)");
      }
      *out = AttributeValue::timestamp(t);
      return absl::OkStatus();
    }
    case ValueType::kDuration: {
      auto ns = base::parseGoDuration(text);
      if (!ns) {
        return bad("a DURATION (e.g. 10ms, 1h2m)");
      }
      *out = AttributeValue::duration({*ns / 1000000000, static_cast<int32_t>(*ns % 1000000000)});
      return absl::OkStatus();
    }
    case ValueType::kIpAddress: {
      std::string bytes;
      if (!parseIp(text, &bytes) &&
          !(parseHexBytes(text, &bytes) && (bytes.size() == 4 || bytes.size() == 16))) {
        return bad("an IP_ADDRESS (dotted IPv4, IPv6, or 4/16 colon-separated hex bytes)");
      }
      *out = AttributeValue::bytes(bag->own(std::move(bytes)), ValueType::kIpAddress);
      return absl::OkStatus();
    }
    case ValueType::kBytes: {
      std::string bytes;
      if (!parseHexBytes(text, &bytes)) {
        return bad("colon-separated hex bytes (e.g. c0:a8:0:1)");
      }
      *out = AttributeValue::bytes(bag->own(std::move(bytes)));
      return absl::OkStatus();
    }
    case ValueType::kStringMap: {
      std::vector<attribute::StringMapEntry> entries;
      if (!text.empty()) {
        for (auto kv : split(text, ';')) {
          const auto colon = kv.find(':');
          if (colon == std::string_view::npos) {
            return bad("a STRING_MAP (k1:v1;k2:v2)");
          }
          entries.push_back({bag->own(std::string(kv.substr(0, colon))),
                             bag->own(std::string(kv.substr(colon + 1)))});
        }
      }
      *out = bag->makeStringMap(entries);
      return absl::OkStatus();
    }
    case ValueType::kUnspecified:
    default:  // the expression language's own types: no attribute has one
      break;
  }
  return bad("of a known type");
}

// The auto-sensed type of -a values the vocabulary does not declare.
ValueType senseType(std::string_view text) {
  int64_t i;
  double d;
  bool b;
  int64_t s;
  int32_t n;
  if (parseInt64(text, &i)) {
    return ValueType::kInt64;
  }
  if (parseDouble(text, &d)) {
    return ValueType::kDouble;
  }
  if (parseBool(text, &b)) {
    return ValueType::kBool;
  }
  if (base::parseRfc3339(text, &s, &n)) {
    return ValueType::kTimestamp;
  }
  if (base::parseGoDuration(text)) {
    return ValueType::kDuration;
  }
  return ValueType::kString;
}

// `forced`: the flag's type; Unspecified for -a.
absl::Status addAll(const std::vector<std::string>& specs, std::string_view flag, ValueType forced,
                    AttributeBag* bag) {
  for (const auto& spec : specs) {
    for (auto pair : split(spec, ',')) {
      if (pair.empty()) {
        continue;
      }
      const auto eq = pair.find('=');
      if (eq == std::string_view::npos || eq == 0) {
        return absl::InvalidArgumentError(base::strCat(flag, ": '", pair, "' is not name=value"));
      }
      const std::string_view name = bag->own(std::string(pair.substr(0, eq)));
      const std::string_view text = pair.substr(eq + 1);
      ValueType type = forced;
      const auto id = bag->vocabulary().find(name);
      const ValueType declared = id ? bag->vocabulary().type(*id) : ValueType::kUnspecified;
      if (type == ValueType::kUnspecified) {
        type = declared != ValueType::kUnspecified ? declared : senseType(text);
      } else if (type == ValueType::kString && attribute::isStringLike(declared)) {
        type = declared;  // -s also sets DNS_NAME, EMAIL_ADDRESS and URI attributes
      } else if (type == ValueType::kBytes && declared == ValueType::kIpAddress) {
        type = declared;
      }
      AttributeValue v;
      if (auto s = parseAs(type, name, text, bag, &v); !s.ok()) {
        return absl::InvalidArgumentError(base::strCat(flag, ": ", s.message()));
      }
      bag->set(name, v);
    }
  }
  return absl::OkStatus();
}

}  // namespace

bool parseIp(std::string_view text, std::string* bytes) {
  const std::string s(text);
  unsigned char buf[16];
  if (inet_pton(AF_INET, s.c_str(), buf) == 1) {
    bytes->assign(reinterpret_cast<char*>(buf), 4);
    return true;
  }
  if (inet_pton(AF_INET6, s.c_str(), buf) == 1) {
    bytes->assign(reinterpret_cast<char*>(buf), 16);
    return true;
  }
  return false;
}

absl::Status buildAttributes(const AttributeFlags& f, AttributeBag* bag) {
  struct Group {
    const std::vector<std::string>* specs;
    std::string_view flag;
    ValueType type;
  };
  const Group groups[] = {
      {&f.attributes, "--attributes", ValueType::kUnspecified},
      {&f.strings, "--string_attributes", ValueType::kString},
      {&f.int64s, "--int64_attributes", ValueType::kInt64},
      {&f.doubles, "--double_attributes", ValueType::kDouble},
      {&f.bools, "--bool_attributes", ValueType::kBool},
      {&f.timestamps, "--timestamp_attributes", ValueType::kTimestamp},
      {&f.durations, "--duration_attributes", ValueType::kDuration},
      {&f.bytes, "--bytes_attributes", ValueType::kBytes},
      {&f.string_maps, "--stringmap_attributes", ValueType::kStringMap},
  };
  for (const auto& g : groups) {
    if (auto s = addAll(*g.specs, g.flag, g.type, bag); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

}  // namespace mixer::client
