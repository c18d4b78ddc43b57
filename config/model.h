// The configuration model: what the YAML of either config model says, normalised into one shape
// (handlers, instances, rules, attribute declarations) with the source position of everything an
// error can point at. Produced by config/loader.h from a directory of YAML files; compiled by the
// runtime (mixer/runtime/config_compiler.h) into a ConfigSnapshot.
//
// Both models map onto it:
//   - Istio 1.x (`kind: handler|instance|rule|attributemanifest`, adapter-specific handler kinds
//     such as `kind: denier`, template-specific instance kinds such as `kind: checknothing`)
//     map one to one;
//   - the aspect model (`adapters:`, `rules:` with `selector` and `aspects:`, descriptors,
//     `manifests:`) is translated: each adapter block becomes a Handler, each aspect an Instance
//     of the matching template plus an Action, each selector a Rule (nested rules AND their
//     selectors), descriptors fill in handler params (e.g. prometheus metrics).
// Plain data; no behaviour. Not thread-safe to mutate; safe to read from many threads.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "base/yaml_reader.h"
#include "mixer/attribute/value_type.h"

namespace mixer::config {

// Where something was written: file path (as given to the loader, joined with the file's path
// relative to it) and 1-based line and column; "file:line:column" (base/yaml_reader.h).
using SourcePos = base::SourcePos;

// One problem in the configuration: its position and a message that says what is wrong in terms
// an operator can act on ("unknown attribute 'request.headerz'", "handler 'h.denier' not found").
using ConfigError = base::YamlError;

struct AttributeDecl {
  std::string name;
  attribute::ValueType type = attribute::ValueType::kUnspecified;
  SourcePos pos;
};

struct Handler {
  // Fully qualified: "name.kind.namespace" for 1.x documents (kind is `handler` for
  // `kind: handler` documents, else the adapter-specific kind, as Istio names them), and
  // "name.adapter.<aspect>" for aspect-model adapter blocks.
  std::string name;
  std::string ns;
  // The adapter (as loaded from an .so) that serves it: `compiledAdapter` / `adapter` of a
  // `kind: handler`, the document kind for adapter-specific kinds (denier, listchecker, memquota,
  // redisquota, prometheus, stdio, zipkin), or the aspect model's `impl` mapped to those names.
  std::string adapter;
  YAML::Node params;  // a map (or null); positions via Mark()
  SourcePos pos;
  // Aspect model: the adapter block as the operator wrote it ("adapter 'name' (kind lists, impl
  // ipListChecker)"), for errors; empty for 1.x handlers.
  std::string origin;
  // Aspect model: params renamed by the translation, {translated, as written} (e.g.
  // {"provider_url", "publisherUrl"}), so that errors name the key the operator wrote.
  std::vector<std::pair<std::string, std::string>> param_names;
  // Aspect model: the params as written (positions of errors in them).
  YAML::Node written_params;
  // Istio 1.1+ `connection: {address, timeout}`: the handler is served by the out-of-process
  // adapter at this address over gRPC (empty: an in-process adapter), and `adapter` names its
  // `kind: adapter` document.
  std::string connection_address;
  absl::Duration connection_timeout = absl::ZeroDuration();  // zero: the call's deadline only
  SourcePos connection_pos;
};

// A `kind: template` document: an Istio template's protobuf descriptor (its InstanceMsg and its
// Handle<Template>Service), which out-of-process calls are encoded from.
struct TemplateDescriptor {
  std::string name;  // metadata.name: the template name instances use
  std::string ns;
  std::string descriptor_set;  // the serialized FileDescriptorSet (decoded from base64)
  SourcePos pos;
};

// A `kind: adapter` document: an out-of-process adapter, the templates it serves, its config.
struct AdapterDescriptor {
  std::string name;  // metadata.name: what handlers name in `adapter`
  std::string ns;
  std::string description;
  bool session_based = false;
  std::vector<std::string> templates;
  std::string config_descriptor_set;  // serialized FileDescriptorSet of its params; may be empty
  SourcePos pos;
};

struct Instance {
  // Fully qualified "name.kind.namespace" (kind `instance` or the template-specific kind).
  std::string name;
  std::string ns;
  // The template: checknothing, listentry, quota, metric, logentry, tracespan, reportnothing, ...
  std::string template_name;
  // Template fields; every scalar leaf is an expression (as in Istio), maps nest.
  YAML::Node params;
  SourcePos pos;
  // "cexl" (default) or "cel": the language of the param expressions, from the
  // `policy.istio.io/lang` annotation as for rules.
  std::string lang = "cexl";
  // Aspect model: the aspect as the operator wrote it ("lists aspect of adapter 'name'"), for
  // errors; empty for 1.x instances.
  std::string origin;
  // Aspect model: template fields and the aspect params they come from ({"value",
  // "checkExpression"}), so that errors name the param the operator wrote.
  std::vector<std::pair<std::string, std::string>> field_names;
};

struct HeaderOperation {
  enum class Op { Replace = 0, Remove = 1, Append = 2 };
  std::string name;
  std::vector<std::string> values;  // expressions
  Op op = Op::Replace;
  SourcePos pos;
};

struct Action {
  std::string handler;                 // fully qualified, resolved by the loader
  std::vector<std::string> instances;  // fully qualified, resolved by the loader
  std::string name;                    // Istio's Action.name (optional)
  SourcePos pos;
  // Where the handler reference and each instance reference were written (parallel to
  // `instances`), for errors about them.
  SourcePos handler_pos;
  std::vector<SourcePos> instance_pos;
};

struct Rule {
  std::string name;  // fully qualified "name.rule.namespace", or "selector@file:line:column"
                     // (aspect model: where the rule was written)
  std::string ns;
  std::string match;    // expression; empty = always
  SourcePos match_pos;  // of the match string's first character
  // "cexl" (default) or "cel": the `policy.istio.io/lang` annotation (Istio 1.1+).
  std::string lang = "cexl";
  std::vector<Action> actions;
  std::vector<HeaderOperation> request_header_operations;
  std::vector<HeaderOperation> response_header_operations;
  SourcePos pos;
  // Aspect model: "selector" (a rules[] entry), or "top-level aspects"; for errors.
  std::string origin;
};

struct ConfigModel {
  // The namespace whose rules apply to every request (Istio's default config namespace).
  std::string default_namespace = "istio-system";
  std::vector<AttributeDecl> attributes;
  std::vector<Handler> handlers;
  std::vector<Instance> instances;
  std::vector<Rule> rules;
  // Out-of-process adapters' documents (Istio 1.x `kind: template` and `kind: adapter`).
  std::vector<TemplateDescriptor> templates;
  std::vector<AdapterDescriptor> adapters;
  // True when any document uses the aspect model: the Istio 0.1/0.2 attribute vocabulary
  // (target.*, origin.*, ...) is then added to the built-in one.
  bool aspect_model = false;
};

}  // namespace mixer::config
