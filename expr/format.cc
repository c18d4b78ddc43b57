#include "expr/format.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "base/go_duration.h"
#include "base/json_string.h"
#include "base/rfc3339.h"
#include "expr/builtins.h"
#include "expr/ip_address.h"
#include "expr/str_util.h"

namespace expr {

namespace {

std::string formatDoubleShortest(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "+Inf" : "-Inf";
  for (int prec = 1; prec <= 17; ++prec) {
    std::string s = absl::StrFormat("%.*g", prec, d);
    if (std::strtod(s.c_str(), nullptr) == d) return s;
  }
  return absl::StrFormat("%.17g", d);
}

using mixer::base::jsonQuote;

template <typename F>
std::string formatMapEntries(const Value& v, F&& render, bool json) {
  std::vector<std::pair<std::string, std::string>> entries;
  if (v.type == ValueType::kStringMap) {
    for (size_t i = 0; i < v.string_map->size(); ++i) {
      std::string_view k, val;
      v.string_map->entry(i, &k, &val);
      entries.emplace_back(std::string(k), render(Value::makeString(val)));
    }
  } else {
    for (size_t i = 0; i < v.map->size; ++i) {
      const Value& k = v.map->keys[i];
      std::string key = k.type == ValueType::kString ? std::string(k.stringView()) : formatValue(k);
      entries.emplace_back(key, render(v.map->values[i]));
    }
  }
  std::sort(entries.begin(), entries.end());
  std::vector<std::string> parts;
  for (auto& [k, val] : entries) parts.push_back(strCat(jsonQuote(k), ": ", val));
  (void)json;
  return strCat("{", absl::StrJoin(parts, ", "), "}");
}

}  // namespace

std::string_view valueTypeName(ValueType type) {
  switch (type) {
    case ValueType::kUnspecified:
      return "VALUE_TYPE_UNSPECIFIED";
    case ValueType::kString:
      return "STRING";
    case ValueType::kInt64:
      return "INT64";
    case ValueType::kDouble:
      return "DOUBLE";
    case ValueType::kBool:
      return "BOOL";
    case ValueType::kTimestamp:
      return "TIMESTAMP";
    case ValueType::kIpAddress:
      return "IP_ADDRESS";
    case ValueType::kEmailAddress:
      return "EMAIL_ADDRESS";
    case ValueType::kUri:
      return "URI";
    case ValueType::kDnsName:
      return "DNS_NAME";
    case ValueType::kDuration:
      return "DURATION";
    case ValueType::kStringMap:
      return "STRING_MAP";
    case ValueType::kUint64:
      return "uint";
    case ValueType::kBytes:
      return "bytes";
    case ValueType::kNull:
      return "null_type";
    case ValueType::kList:
      return "list";
    case ValueType::kMap:
      return "map";
    case ValueType::kType:
      return "type";
    case ValueType::kDyn:
      return "dyn";
    case ValueType::kError:
      return "error";
    case ValueType::kCidr:
      return "net.CIDR";
  }
  return "?";
}

ValueType parseValueTypeName(std::string_view name) {
  for (int i = 1; i <= static_cast<int>(ValueType::kError); ++i) {
    if (valueTypeName(static_cast<ValueType>(i)) == name) return static_cast<ValueType>(i);
  }
  return ValueType::kUnspecified;
}

std::string formatValue(const Value& v) {
  switch (v.type) {
    case ValueType::kString:
    case ValueType::kEmailAddress:
    case ValueType::kUri:
    case ValueType::kDnsName:
    case ValueType::kType:
      return std::string(v.stringView());
    case ValueType::kBytes:
      return strCat("b\"", absl::CHexEscape(std::string(v.stringView())), "\"");
    case ValueType::kInt64:
      return strCat(v.int_value);
    case ValueType::kUint64:
      return strCat(v.uint_value);
    case ValueType::kDouble:
      return formatDoubleShortest(v.double_value);
    case ValueType::kBool:
      return v.bool_value ? "true" : "false";
    case ValueType::kNull:
      return "null";
    case ValueType::kTimestamp:
      return mixer::base::formatRfc3339(v.timestamp.seconds, v.timestamp.nanos);
    case ValueType::kDuration:
      return mixer::base::formatGoDuration(v.int_value);
    case ValueType::kIpAddress:
      return formatIp(v.stringView());
    case ValueType::kCidr: {
      std::string_view b = v.stringView();
      if (b.empty()) return "?";
      return strCat(formatIp(b.substr(0, b.size() - 1)), "/",
                    static_cast<int>(static_cast<unsigned char>(b.back())));
    }
    case ValueType::kStringMap:
    case ValueType::kMap:
      return formatMapEntries(
          v,
          [](const Value& x) {
            return x.type == ValueType::kString ? jsonQuote(x.stringView()) : formatValue(x);
          },
          false);
    case ValueType::kList: {
      std::vector<std::string> parts;
      for (size_t i = 0; i < v.list->size; ++i) {
        const Value& e = v.list->elements[i];
        parts.push_back(e.type == ValueType::kString ? jsonQuote(e.stringView()) : formatValue(e));
      }
      return strCat("[", absl::StrJoin(parts, ", "), "]");
    }
    case ValueType::kError:
      return strCat("error: ", v.stringView());
    default:
      return "<unspecified>";
  }
}

std::string formatValueJson(const Value& v) {
  switch (v.type) {
    case ValueType::kInt64:
    case ValueType::kUint64:
    case ValueType::kBool:
      return formatValue(v);
    case ValueType::kDouble:
      if (std::isnan(v.double_value) || std::isinf(v.double_value)) {
        return jsonQuote(formatValue(v));
      }
      return formatValue(v);
    case ValueType::kNull:
      return "null";
    case ValueType::kBytes:
      return jsonQuote(absl::Base64Escape(std::string(v.stringView())));
    case ValueType::kStringMap:
    case ValueType::kMap:
      return formatMapEntries(v, formatValueJson, true);
    case ValueType::kList: {
      std::vector<std::string> parts;
      for (size_t i = 0; i < v.list->size; ++i)
        parts.push_back(formatValueJson(v.list->elements[i]));
      return strCat("[", absl::StrJoin(parts, ", "), "]");
    }
    case ValueType::kError:
      return strCat("{\"error\": ", jsonQuote(v.stringView()), "}");
    default:
      return jsonQuote(formatValue(v));
  }
}

std::string formatReference(const Reference& r, const AttributeManifest& manifest) {
  const auto* e = manifest.findById(r.id);
  std::string name = e ? e->name : strCat(r.id);
  std::string s = r.present ? "" : "-";
  strAppend(&s, name);
  if (r.has_key) strAppend(&s, "[", r.key, "]");
  return s;
}

std::vector<std::string> formatReferences(const Reference* begin, const Reference* end,
                                          const AttributeManifest& manifest) {
  std::set<std::string> out;
  for (const Reference* r = begin; r != end; ++r) out.insert(formatReference(*r, manifest));
  return {out.begin(), out.end()};
}

}  // namespace expr
