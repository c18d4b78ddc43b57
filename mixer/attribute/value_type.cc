#include "mixer/attribute/value_type.h"

#include <array>
#include <utility>

namespace mixer::attribute {
namespace {

constexpr std::array<std::pair<ValueType, std::string_view>, 13> kNames = {{
    {ValueType::Unspecified, "VALUE_TYPE_UNSPECIFIED"},
    {ValueType::String, "STRING"},
    {ValueType::Int64, "INT64"},
    {ValueType::Double, "DOUBLE"},
    {ValueType::Bool, "BOOL"},
    {ValueType::Timestamp, "TIMESTAMP"},
    {ValueType::IpAddress, "IP_ADDRESS"},
    {ValueType::EmailAddress, "EMAIL_ADDRESS"},
    {ValueType::Uri, "URI"},
    {ValueType::DnsName, "DNS_NAME"},
    {ValueType::Duration, "DURATION"},
    {ValueType::StringMap, "STRING_MAP"},
    {ValueType::Bytes, "BYTES"},
}};

}  // namespace

std::string_view valueTypeName(ValueType type) {
  for (const auto& [t, name] : kNames) {
    if (t == type) {
      return name;
    }
  }
  return "INVALID";
}

std::optional<ValueType> parseValueType(std::string_view name) {
  for (const auto& [t, n] : kNames) {
    if (n == name) {
      return t;
    }
  }
  return std::nullopt;
}

}  // namespace mixer::attribute
