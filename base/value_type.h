// base/value_type.h: the one enum of value types, shared by the attributes a request carries
// (mixer/attribute), the expression language (expr) and the configuration that declares them.
// 0..11 are numbered exactly as Istio's policy.v1beta1.ValueType (attribute manifests, instance
// descriptors); the rest are the types CEL adds, and bytes, which Istio's enum lacks: an attribute
// no manifest declares and whose wire value is raw bytes is kBytes. The adapter ABI numbers its
// MIXER_VALUE_* constants on its own (frozen;
// adapters/sdk/include/mixer/adapter_sdk/mixer_adapter.h); the runtime converts where values cross
// it. Each layer names the types in its own language: attribute manifests "STRING", "BYTES"
// (mixer/attribute/value_type.h), CEL "string", "bytes" (expr/value.h).
#pragma once

#include <cstdint>

namespace mixer::base {

enum class ValueType : uint8_t {
  kUnspecified = 0,
  kString = 1,
  kInt64 = 2,
  kDouble = 3,
  kBool = 4,
  kTimestamp = 5,
  kIpAddress = 6,
  kEmailAddress = 7,
  kUri = 8,
  kDnsName = 9,
  kDuration = 10,
  kStringMap = 11,
  kUint64 = 12,
  kBytes = 13,
  kNull = 14,
  kList = 15,
  kMap = 16,
  kType = 17,
  kDyn = 18,    // only at check time: a type known only at run time
  kError = 19,  // only at run time: an evaluation error
  kCidr = 20,   // CEL network extension: address bytes (4 or 16) followed by the prefix length
};

}  // namespace mixer::base
