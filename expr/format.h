// Rendering of values for humans and tools (`mixc eval`, conformance harnesses).
#pragma once

#include <string>
#include <vector>

#include "expr/eval_state.h"
#include "expr/manifest.h"
#include "expr/value.h"

namespace expr {

// The notation of the CEXL conformance suite: strings raw, RFC 3339 timestamps, Go-style
// durations ("1h2m3s"), dotted IPs, string maps and maps as {"k": "v"} objects sorted by key,
// lists as [a, b]. Errors render as "error: <message>".
std::string formatValue(const Value& v);

// JSON: strings quoted, numbers bare (uint as number, double via shortest round-trip; NaN/Inf
// as strings), timestamps/durations/IPs as strings, maps as objects (keys stringified), bytes as
// base64 strings, null as null; errors as {"error": "<message>"}.
std::string formatValueJson(const Value& v);

// One reference in the notation of the conformance suite: "name", "-name", "map[key]",
// "-map[key]". Names come from the manifest (the id in decimal when unknown).
std::string formatReference(const Reference& r, const AttributeManifest& manifest);

// All references of an evaluation, de-duplicated and sorted.
std::vector<std::string> formatReferences(const Reference* begin, const Reference* end,
                                          const AttributeManifest& manifest);
inline std::vector<std::string> formatReferences(const ReferenceList& refs,
                                                 const AttributeManifest& manifest) {
  return formatReferences(refs.begin(), refs.end(), manifest);
}
inline std::vector<std::string> formatReferences(const std::vector<Reference>& refs,
                                                 const AttributeManifest& manifest) {
  return formatReferences(refs.data(), refs.data() + refs.size(), manifest);
}

}  // namespace expr
