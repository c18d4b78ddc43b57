// The aspect layer: what each aspect kind (an Istio template) is, in one place.
//
// An aspect kind has a name (the template: `metric`, `listentry`, ...), a variety (which call its
// instances go to: check, quota, report, or attribute generation) and a field schema: the fields
// an instance may set, each with a value type, whether it is required, and, for maps and nested
// messages, what it holds. One unit per kind (checknothing.cc, listentry.cc, ...) declares it;
// registry.cc lists them. The configuration loader (istio_model.cc) takes the template kinds from
// here, and the configuration compiler (mixer/runtime/config_snapshot.cc) takes each instance's
// variety and validates its fields against the schema at load time.
//
// Everything here is constant data with static storage: thread-safe, never freed. Nothing here is
// on the request path.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "expr/value.h"

namespace mixer::aspects {

// Which call an aspect's instances go to (Istio's TEMPLATE_VARIETY_*). The runtime maps the first
// three to the calls it makes (runtime::Variety); attribute generation is declared only.
enum class Variety { Check, Quota, Report, AttributeGeneration };

std::string_view varietyName(Variety v);  // "check", "quota", "report", "attribute generation"

// The value type of a field, as the template's protobuf declares it.
enum class FieldType {
  kValue,      // istio.policy.v1beta1.Value: an expression of any type
  kString,     // string
  kInt64,      // int64
  kDouble,     // double
  kBool,       // bool
  kTimestamp,  // istio.policy.v1beta1.TimeStamp
  kDuration,   // istio.policy.v1beta1.Duration
  kIpAddress,  // istio.policy.v1beta1.IPAddress
  kValueMap,   // map<string, Value>: a map of expressions (or one expression giving a map)
  kStringMap,  // map<string, string>
  kMessage,    // a nested message: a map of its own fields (`children`)
};

// "STRING", "INT64", ..., "map<string, Value>", "message".
std::string_view fieldTypeName(FieldType t);

struct Field {
  std::string_view name;  // snake_case, as in the template's proto
  FieldType type = FieldType::kValue;
  bool required = false;
  std::span<const Field> children = {};  // kMessage only
};

struct Aspect {
  std::string_view name;  // the template name, lower case
  Variety variety = Variety::Check;
  std::span<const Field> fields;
  // Attribute generators: the output fields `$out.<name>` of `attribute_bindings`.
  std::span<const Field> outputs = {};
  // False when this build declares the schema but has no runtime for it: instances of it are
  // validated, and only an unavailable handler (mixer/runtime/unavailable_handlers.h) may take
  // them.
  bool served = true;
  // The aspect kinds of Istio's 0.1 model (`kind: lists`, ...) whose aspects become instances of
  // this template (config/aspect_model.cc reads their params).
  std::span<const std::string_view> legacy_kinds = {};
};

// Every aspect kind, in a fixed order (checknothing, listentry, quota, metric, logentry,
// tracespan, reportnothing, edge, authorization, apikey, kubernetes).
std::span<const Aspect* const> all();

// The aspect kind named `template_name` (case-insensitive, as Istio's template names are matched);
// nullptr when there is none.
const Aspect* find(std::string_view template_name);

// The aspect kind that 0.1's aspect kind `legacy_kind` (`lists`, `quotas`, `metrics`,
// `access-logs`, `application-logs`, `denials`, `attributes`) translates to; nullptr when none.
const Aspect* findByLegacyKind(std::string_view legacy_kind);

// Every 0.1 aspect kind, sorted: "access-logs, application-logs, ... or quotas" (for errors).
std::string legacyKindNames();

// The field of `fields` that `key` names, spelled in snake_case or lowerCamelCase; nullptr when
// none.
const Field* findField(std::span<const Field> fields, std::string_view key);

// True when an expression whose static type is `type` may set a field of type `field`. Types not
// known until evaluation (dynamic, unspecified) fit every field; string-like types (DNS names,
// e-mail addresses, URIs) fit STRING fields.
bool fits(FieldType field, expr::ValueType type);

// "value, dimensions, ..." (for errors).
std::string fieldNames(std::span<const Field> fields);

}  // namespace mixer::aspects
