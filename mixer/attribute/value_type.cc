#include "mixer/attribute/value_type.h"

#include <array>
#include <utility>

namespace mixer::attribute {
namespace {

constexpr std::array<std::pair<ValueType, std::string_view>, 13> kNames = {{
    {ValueType::kUnspecified, "VALUE_TYPE_UNSPECIFIED"},
    {ValueType::kString, "STRING"},
    {ValueType::kInt64, "INT64"},
    {ValueType::kDouble, "DOUBLE"},
    {ValueType::kBool, "BOOL"},
    {ValueType::kTimestamp, "TIMESTAMP"},
    {ValueType::kIpAddress, "IP_ADDRESS"},
    {ValueType::kEmailAddress, "EMAIL_ADDRESS"},
    {ValueType::kUri, "URI"},
    {ValueType::kDnsName, "DNS_NAME"},
    {ValueType::kDuration, "DURATION"},
    {ValueType::kStringMap, "STRING_MAP"},
    {ValueType::kBytes, "BYTES"},
}};

}  // namespace

std::string_view manifestTypeName(ValueType type) {
  for (const auto& [t, name] : kNames) {
    if (t == type) {
      return name;
    }
  }
  return "INVALID";
}

std::optional<ValueType> parseManifestTypeName(std::string_view name) {
  for (const auto& [t, n] : kNames) {
    if (n == name) {
      return t;
    }
  }
  return std::nullopt;
}

}  // namespace mixer::attribute
