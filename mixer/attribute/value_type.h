// Attribute value types: the project's one enum (base/value_type.h), numbered as Istio's
// policy.v1beta1.ValueType, and the names attribute manifests give them.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "base/value_type.h"

namespace mixer::attribute {

using ValueType = base::ValueType;

// The manifests' (Istio's) spelling: "STRING", "INT64", ..., "STRING_MAP"; "BYTES" for kBytes;
// "INVALID" for a type no attribute has (the CEL-only ones).
std::string_view manifestTypeName(ValueType type);
// Parses the manifests' spelling. Accepts "VALUE_TYPE_UNSPECIFIED" and "BYTES".
std::optional<ValueType> parseManifestTypeName(std::string_view name);

// True for the types that travel in CompressedAttributes.strings as a word index.
inline bool isStringLike(ValueType t) {
  return t == ValueType::kString || t == ValueType::kDnsName || t == ValueType::kEmailAddress ||
         t == ValueType::kUri;
}

// True for the types whose AttributeValue holds a string view (stringValue()): the string-like
// ones, IP addresses (4 or 16 raw bytes) and bytes.
inline bool hasStringPayload(ValueType t) {
  return isStringLike(t) || t == ValueType::kIpAddress || t == ValueType::kBytes;
}

}  // namespace mixer::attribute
