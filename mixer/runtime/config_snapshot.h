// ConfigSnapshot: one compiled, immutable configuration, as the request path uses it.
//
// Compiling a ConfigModel (config/model.h) resolves every attribute name to an id, compiles every
// expression (rule matches, instance fields, header values) to a Program, creates a handler per
// configured handler through the adapter host, and files each rule's actions by variety (check,
// quota, report) so that a request only looks at what applies to it. Compilation collects every
// error with its source position; a snapshot with errors is never served.
//
// Thread-safe: immutable after compileSnapshot(); shared by all request threads through
// ConfigSnapshotConstSharedPtr. Its handlers are closed when the last reference goes.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "config/model.h"
#include "expr/manifest.h"
#include "expr/program.h"
#include "mixer/adapter_host/adapter_registry.h"
#include "mixer/adapter_host/handler.h"
#include "mixer/attribute/vocabulary.h"
#include "mixer/runtime/attribute_generator.h"

namespace mixer::runtime {

// What kind of call a template's instances go to.
enum class Variety { Check, Quota, Report };

// A template field as compiled: a leaf expression, or a map of named fields.
// Leaves with the same expression (and dialect) share one Program and one `shared_id`, dense
// over the snapshot: a record evaluates such an expression once per handler batch and copies the
// value into the other fields (Istio's standard metrics share 17 label expressions).
struct FieldProgram {
  static constexpr uint32_t kNoSharedId = UINT32_MAX;
  std::string key;                      // the field name within its parent map
  expr::ProgramConstSharedPtr program;  // set for leaves
  uint32_t shared_id = kNoSharedId;     // set for leaves
  std::vector<FieldProgram> children;   // set for maps
};

struct CompiledInstance {
  std::string name;        // fully qualified
  std::string short_name;  // the part before the first '.', which quota requests name
  std::string template_name;
  Variety variety = Variety::Check;
  std::vector<FieldProgram> fields;
};

struct CompiledAction {
  adapter_host::Handler* handler = nullptr;  // OWNERSHIP: the snapshot
  std::string handler_name;
  std::vector<const CompiledInstance*> instances;
};

// An instance of an attribute generator template (`kubernetes`): its input fields and its
// attribute_bindings (attribute <- expression over the request's attributes and the generator's
// outputs `$out.<field>`).
struct CompiledGeneratorInstance {
  struct Binding {
    attribute::AttributeId attribute = attribute::kNoAttribute;
    std::string_view name;  // the attribute's (the vocabulary's storage)
    expr::ProgramConstSharedPtr program;
  };
  std::string name;
  const aspects::Aspect* aspect = nullptr;
  // Per field of the aspect's schema (aspect->fields), its program; null when not set.
  std::vector<expr::ProgramConstSharedPtr> inputs;
  std::vector<Binding> bindings;
  // The outputs as attributes (outputVocabulary(*aspect)); binding programs read output i as
  // attribute id `output_base + i`.
  attribute::VocabularyConstSharedPtr outputs;
  size_t output_base = 0;
};

struct CompiledGenerateAction {
  const AttributeGenerator* generator = nullptr;  // OWNERSHIP: the snapshot
  std::string handler_name;
  std::vector<const CompiledGeneratorInstance*> instances;
};

struct CompiledHeaderOperation {
  std::string name;
  std::vector<expr::ProgramConstSharedPtr> values;
  config::HeaderOperation::Op op = config::HeaderOperation::Op::Replace;
};

// How often a rule applied, and how often applying it failed (its match or an instance did not
// evaluate, or its adapter call failed: not a denial), for the status page. Relaxed counters
// bumped on the request path, without a lock; on a cache line of their own, so that bumping them
// does not evict the rule's read-only fields from the other cores' caches.
struct alignas(64) RuleCounters {
  mutable std::atomic<uint64_t> hits{0};
  mutable std::atomic<uint64_t> errors{0};
  void hit() const { hits.fetch_add(1, std::memory_order_relaxed); }
  void error() const { errors.fetch_add(1, std::memory_order_relaxed); }
};

struct CompiledRule {
  std::string name;
  std::string ns;
  size_t order = 0;                   // position in the configuration
  expr::ProgramConstSharedPtr match;  // null: always
  // When the match is a conjunction with a term `attribute == "constant"` (a STRING attribute),
  // the first such term: the rule can only apply to requests where the attribute has that value,
  // so requests find it through an index instead of evaluating it.
  attribute::AttributeId index_attribute = attribute::kNoAttribute;
  std::string index_value;
  std::vector<CompiledAction> check_actions;
  std::vector<CompiledAction> quota_actions;
  std::vector<CompiledAction> report_actions;
  // Attribute generation: run before check, quota and report (Dispatcher::generate).
  std::vector<CompiledGenerateAction> generate_actions;
  std::vector<CompiledHeaderOperation> request_header_operations;
  std::vector<CompiledHeaderOperation> response_header_operations;
  std::string match_text;  // the match as configured ("" for always)
  RuleCounters counters;
};

// The rules that apply to one namespace, organised for lookup: rules with an index term are
// found by one hash lookup per indexed attribute; the others are always evaluated.
struct RuleSet {
  struct Index {
    attribute::AttributeId attribute = attribute::kNoAttribute;
    std::string_view name;  // the attribute's name (the vocabulary's storage)
    absl::flat_hash_map<std::string, std::vector<const CompiledRule*>> by_value;
  };
  std::vector<const CompiledRule*> unindexed;  // in configuration order
  std::vector<Index> indexes;
  size_t size = 0;
};

class ConfigSnapshot {
 public:
  ~ConfigSnapshot();

  uint64_t generation() const { return generation_; }
  const attribute::VocabularyConstSharedPtr& vocabulary() const { return vocabulary_; }
  const expr::AttributeManifest& manifest() const { return *manifest_; }
  const std::string& defaultNamespace() const { return default_namespace_; }

  // Rules of the default namespace (they apply to every request) and of `ns` (when not the
  // default).
  const RuleSet& rulesFor(std::string_view ns) const;

  size_t ruleCount() const { return rules_.size(); }
  // Every rule, in configuration order, and every handler created (the status page).
  const std::vector<std::unique_ptr<CompiledRule>>& rules() const { return rules_; }
  const std::vector<adapter_host::HandlerPtr>& handlers() const { return handlers_; }
  // Handlers declared and validated (created, unless compiled with validate_only).
  size_t handlerCount() const { return handler_count_; }
  // True when compiled with validate_only: checked but not servable (no handler exists).
  bool validateOnly() const { return validate_only_; }
  size_t instanceCount() const { return instances_.size(); }
  // The number of distinct instance field expressions (FieldProgram::shared_id < this).
  size_t sharedFieldCount() const { return shared_field_count_; }
  // True when some rule has an attribute generator action (Dispatcher::generate has work).
  bool hasGenerators() const { return has_generators_; }

  // An empty snapshot over `vocabulary`: no rules (Istio's defaults apply).
  static std::shared_ptr<const ConfigSnapshot> empty(attribute::VocabularyConstSharedPtr vocabulary,
                                                     uint64_t generation = 0);

 private:
  friend std::shared_ptr<const ConfigSnapshot> compileSnapshot(
      const config::ConfigModel&, const adapter_host::AdapterRegistry&,
      const attribute::VocabularyConstSharedPtr&, uint64_t, std::vector<config::ConfigError>*,
      bool);

  uint64_t generation_ = 0;
  attribute::VocabularyConstSharedPtr vocabulary_;
  std::shared_ptr<const expr::AttributeManifest> manifest_;
  std::string default_namespace_ = "istio-system";
  std::vector<std::unique_ptr<CompiledInstance>> instances_;
  std::vector<std::unique_ptr<CompiledRule>> rules_;
  std::vector<adapter_host::HandlerPtr> handlers_;
  size_t handler_count_ = 0;
  size_t shared_field_count_ = 0;
  bool validate_only_ = false;
  bool has_generators_ = false;
  std::vector<std::unique_ptr<CompiledGeneratorInstance>> generator_instances_;
  std::vector<std::unique_ptr<AttributeGenerator>> generators_;
  RuleSet default_rules_;
  // Per namespace: the default namespace's rules and the namespace's own.
  std::vector<std::pair<std::string, RuleSet>> namespace_rules_;
};

using ConfigSnapshotConstSharedPtr = std::shared_ptr<const ConfigSnapshot>;

// Compiles `model`. Attributes it declares extend `base_vocabulary` (Istio's built-in manifests
// for the server). Returns nullptr when `errors` is not empty afterwards (errors already in it,
// e.g. the loader's, also prevent a snapshot, but compilation still runs to report the rest);
// every error carries the source position of what it is about. Dangling references are the
// loader's to report. With `validate_only`, handler params are validated but no handler is
// created (nothing starts, no port is bound): the result only answers "is it valid?" and must not
// serve (`mixs validate`).
ConfigSnapshotConstSharedPtr compileSnapshot(
    const config::ConfigModel& model, const adapter_host::AdapterRegistry& adapters,
    const attribute::VocabularyConstSharedPtr& base_vocabulary, uint64_t generation,
    std::vector<config::ConfigError>* errors, bool validate_only = false);

// The variety of a template (checknothing, listentry, quota, metric, ...); false when unknown.
bool templateVariety(std::string_view template_name, Variety* out);

}  // namespace mixer::runtime
