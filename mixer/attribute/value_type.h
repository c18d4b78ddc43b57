// Attribute value types, numbered as Istio's policy.v1beta1.ValueType.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace mixer::attribute {

enum class ValueType : uint8_t {
  Unspecified = 0,
  String = 1,
  Int64 = 2,
  Double = 3,
  Bool = 4,
  Timestamp = 5,
  IpAddress = 6,
  EmailAddress = 7,
  Uri = 8,
  DnsName = 9,
  Duration = 10,
  StringMap = 11,
  // Not in Istio's enum (which has no bytes type): raw bytes of an attribute that no manifest
  // declares as IP_ADDRESS. Kept outside Istio's range on purpose.
  Bytes = 100,
};

// Istio's spelling: "STRING", "INT64", ..., "STRING_MAP"; "BYTES" for Bytes.
std::string_view valueTypeName(ValueType type);
// Parses Istio's spelling (as in attribute manifests). Accepts "VALUE_TYPE_UNSPECIFIED".
std::optional<ValueType> parseValueType(std::string_view name);

// True for the types that travel in CompressedAttributes.strings as a word index.
inline bool isStringLike(ValueType t) {
  return t == ValueType::String || t == ValueType::DnsName || t == ValueType::EmailAddress ||
         t == ValueType::Uri;
}

}  // namespace mixer::attribute
