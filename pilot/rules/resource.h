// The Rules API's resources: the three kinds it serves (VirtualService, DestinationRule,
// ServiceEntry) with their Kubernetes names, request decoding (YAML or JSON, one document), the
// canonical YAML the stores keep, JSON output, and the field path ("spec.http[0].route") of a
// validation error's position. Pure functions; thread-compatible.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pilot/model/service.h"

namespace pilot::rules {

inline constexpr std::string_view kGroup = "networking.istio.io";

struct KindInfo {
  std::string_view kind;        // "VirtualService"
  std::string_view plural;      // "virtualservices": the path segment
  std::string_view singular;    // "virtualservice"
  std::string_view short_name;  // "vs", as istioctl and kubectl accept
};

// The three kinds, in a fixed order.
const std::vector<KindInfo>& kinds();
const KindInfo* kindByPlural(std::string_view plural);
const KindInfo* kindByKind(std::string_view kind);
// Plural, singular, short name or Kind, case-insensitive (meshctl's arguments).
const KindInfo* kindByAlias(std::string_view alias);

// "v1alpha3", "v1beta1", "v1": the versions of the group the loader accepts.
bool isVersion(std::string_view version);

// Kubernetes names: a DNS-1123 subdomain (lower-case letters, digits, '-', '.', starting and
// ending with a letter or digit, at most 253) for objects, a DNS-1123 label (no '.', at most 63)
// for namespaces.
bool isObjectName(std::string_view name);
bool isNamespaceName(std::string_view ns);

inline constexpr size_t kMaxBodyBytes = 1 << 20;

// Decodes a request body: YAML or JSON (JSON is YAML's flow syntax), exactly one document, a map.
// Bounded like the file loader (node count after alias expansion, nesting). False with `error`
// ("line 3: ...") otherwise.
bool decodeDocument(std::string_view body, YAML::Node* doc, std::string* error);

// Block-style YAML of `node` (one key per line, so that a line names a field), keeping strings
// that were quoted and would read as something else ("80", "true") quoted. Ends with a newline.
std::string emitYaml(const YAML::Node& node);

// JSON of `node`: quoted scalars are strings; plain ones that read as JSON numbers, true, false
// or null are those. `indent` 0: one line.
std::string emitJson(const YAML::Node& node, int indent = 0);

// A stable version of a document's content (16 hex digits of FNV-1a over its canonical YAML).
std::string contentVersion(const YAML::Node& doc);

// The field path ("spec.http[0].route[1].weight") at a validation error's position in `doc`
// (the document as parsed from emitYaml's text): the scalar or collection at (line, column), the
// deepest collection starting on the line when the column is unknown; "missing required field
// 'x'" adds ".x". "" when the position names no field.
std::string fieldPath(const YAML::Node& doc, const model::ConfigError& error);

}  // namespace pilot::rules
