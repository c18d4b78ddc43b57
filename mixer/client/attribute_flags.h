// Attribute flags of mixc, in the syntax of Istio's mixc: each flag takes a comma-separated list of
// name=value pairs.
//   -a/--attributes            auto-typed: the attribute's manifest type when the vocabulary
//                              declares it, else the first of INT64, DOUBLE, BOOL, TIMESTAMP
//                              (RFC 3339), DURATION (Go syntax) that parses, else STRING
//   -s/--string_attributes     STRING (DNS_NAME, EMAIL_ADDRESS, URI when declared so)
//   -i/--int64_attributes      INT64
//   -d/--double_attributes     DOUBLE
//   -b/--bool_attributes       BOOL (true/false)
//   -t/--timestamp_attributes  TIMESTAMP, RFC 3339
//   --duration_attributes      DURATION, Go syntax (10ms, 1h2m)
//   --bytes_attributes         bytes as colon-separated hex: name=c0:a8:0:1 (IP_ADDRESS when
//                              declared so)
//   --stringmap_attributes     STRING_MAP: name=k1:v1;k2:v2
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "mixer/attribute/attribute_bag.h"

namespace mixer::client {

struct AttributeFlags {
  std::vector<std::string> attributes;
  std::vector<std::string> strings;
  std::vector<std::string> int64s;
  std::vector<std::string> doubles;
  std::vector<std::string> bools;
  std::vector<std::string> timestamps;
  std::vector<std::string> durations;
  std::vector<std::string> bytes;
  std::vector<std::string> string_maps;
};

// Fills `bag` (which owns copies of every string). Errors name the flag and the attribute.
absl::Status buildAttributes(const AttributeFlags& flags, attribute::AttributeBag* bag);

// Parses a dotted IPv4 or an IPv6 address into its 4 or 16 bytes.
bool parseIp(std::string_view text, std::string* bytes);

}  // namespace mixer::client
