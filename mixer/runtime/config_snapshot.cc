#include "mixer/runtime/config_snapshot.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "absl/strings/str_join.h"
#include "aspects/aspect.h"
#include "base/log.h"
#include "base/str_cat.h"
#include "config/descriptor_set.h"
#include "expr/parser.h"
#include "mixer/adapter_host/loaded_adapter.h"
#include "mixer/adapter_host/remote_adapter.h"
#include "mixer/adapter_host/yaml_params.h"
#include "mixer/runtime/bag_activation.h"
#include "mixer/runtime/rule_index.h"
#include "mixer/runtime/unavailable_handlers.h"
#include "mixer/runtime/written_expression.h"

namespace mixer::runtime {
namespace {

using config::ConfigError;
using config::SourcePos;

// The call an aspect's instances go to; false for attribute generation, which the request path
// does not run (yet).
bool runtimeVariety(aspects::Variety v, Variety* out) {
  switch (v) {
    case aspects::Variety::Check:
      *out = Variety::Check;
      return true;
    case aspects::Variety::Quota:
      *out = Variety::Quota;
      return true;
    case aspects::Variety::Report:
      *out = Variety::Report;
      return true;
    case aspects::Variety::AttributeGeneration:
      break;
  }
  return false;
}

using base::markPos;

bool isBindingsKey(const std::string& key) {
  return key == "attribute_bindings" || key == "attributeBindings";
}

// How errors name a handler, an instance and a rule: as the operator wrote them (aspect model:
// the adapter block, the aspect, the selector), else by their 1.x names.
std::string describe(const config::Handler& h) {
  return h.origin.empty() ? base::strCat("handler '", h.name, "' (adapter ", h.adapter, ")")
                          : h.origin;
}
std::string describe(const config::Rule& r) {
  return r.origin.empty() ? base::strCat("rule '", r.name, "'") : r.origin;
}

// `path` ("params.provider_url.x") with a renamed param spelled as the operator wrote it.
std::string writtenParamPath(const config::Handler& h, const std::string& path) {
  for (const auto& [translated, written] : h.param_names) {
    const std::string prefix = base::strCat("params.", translated);
    if (path.compare(0, prefix.size(), prefix) == 0 &&
        (path.size() == prefix.size() || path[prefix.size()] == '.' ||
         path[prefix.size()] == '[')) {
      return base::strCat("params.", written, path.substr(prefix.size()));
    }
  }
  return path;
}

class Compiler {
 public:
  Compiler(const config::ConfigModel& model, const adapter_host::AdapterRegistry& adapters,
           std::vector<ConfigError>* errors)
      : model_(model), adapters_(adapters), errors_(errors) {}

  bool compileVocabulary(const attribute::VocabularyConstSharedPtr& base,
                         attribute::VocabularyConstSharedPtr* out) {
    std::vector<attribute::AttributeDecl> decls = base->decls();
    if (model_.aspect_model) {
      // The Istio 0.1/0.2 names the base lacks (target.*, ...), unless the model declares them.
      for (const auto& a : attribute::aspectModelDecls()) {
        const bool declared =
            std::any_of(model_.attributes.begin(), model_.attributes.end(),
                        [&](const config::AttributeDecl& d) { return d.name == a.name; });
        if (!base->find(a.name) && !declared) {
          decls.push_back(a);
        }
      }
    }
    for (const auto& a : model_.attributes) {
      const auto existing = base->find(a.name);
      if (existing && base->type(*existing) != a.type) {
        errors_->push_back(
            {a.pos, base::strCat("attribute '", a.name, "' is declared ",
                                 attribute::manifestTypeName(a.type),
                                 " but the built-in vocabulary declares it ",
                                 attribute::manifestTypeName(base->type(*existing)))});
        continue;
      }
      decls.push_back({a.name, a.type});
    }
    auto v = attribute::Vocabulary::create(std::move(decls));
    if (!v.ok()) {
      errors_->push_back({SourcePos{}, std::string(v.status().message())});
      return false;
    }
    *out = *v;
    return true;
  }

  void compileInstances(const expr::AttributeManifest& manifest,
                        std::vector<std::unique_ptr<CompiledInstance>>* out) {
    for (const auto& inst : model_.instances) {
      auto ci = std::make_unique<CompiledInstance>();
      ci->name = inst.name;
      ci->short_name = inst.name.substr(0, inst.name.find('.'));
      ci->template_name = inst.template_name;
      const aspects::Aspect* aspect = aspects::find(inst.template_name);
      if (aspect == nullptr) {
        errors_->push_back({inst.pos, base::strCat("instance '", inst.name, "': unknown template '",
                                                   inst.template_name, "'")});
        continue;
      }
      // An aspect kind this build declares but does not serve (attribute generation): its
      // fields are validated, and the instance is only usable by an unavailable handler, whose
      // rules are skipped.
      const bool served = aspect->served && runtimeVariety(aspect->variety, &ci->variety);
      fields_seen_ = 0;
      const std::string what = inst.origin.empty()
                                   ? base::strCat("instance '", inst.name, "' field ")
                                   : base::strCat(inst.origin, " ");
      field_names_ = &inst.field_names;
      const bool generator = aspect->variety == aspects::Variety::AttributeGeneration;
      if (inst.params && inst.params.IsMap()) {
        expr::CompileOptions options;
        options.dialect = inst.lang == "cel" ? expr::Dialect::kCel : expr::Dialect::kCexl;
        YAML::Node fields = inst.params;
        if (generator) {
          // attribute_bindings are not template fields.
          YAML::Node without(YAML::NodeType::Map);
          for (const auto& kv : inst.params) {
            if (!isBindingsKey(kv.first.as<std::string>(""))) {
              without.force_insert(kv.first, kv.second);
            }
          }
          fields.reset(without);  // (assignment would overwrite the instance's params)
        }
        compileFields(fields, inst.pos.file, what, manifest, options, &ci->fields, aspect->fields,
                      aspect->name);
        if (generator) {
          compileGenerator(inst, *aspect, manifest, options, *ci);
        }
      } else if (inst.params && !inst.params.IsNull()) {
        errors_->push_back({markPos(inst.pos.file, inst.params),
                            base::strCat("instance '", inst.name, "': params must be a map")});
      }
      requireFields(inst.params, inst.pos, what, aspect->fields, aspect->name);
      field_names_ = nullptr;
      if (!served) {
        unserved_[ci->name] = aspect;
        continue;
      }
      by_name_[ci->name] = ci.get();
      out->push_back(std::move(ci));
    }
  }

  // An attribute generator instance: its compiled input fields, by the aspect's field order, and
  // its attribute_bindings.
  void compileGenerator(const config::Instance& inst, const aspects::Aspect& aspect,
                        const expr::AttributeManifest& manifest, expr::CompileOptions options,
                        const CompiledInstance& fields) {
    auto gi = std::make_unique<CompiledGeneratorInstance>();
    gi->name = inst.name;
    gi->aspect = &aspect;
    gi->inputs.resize(aspect.fields.size());
    for (const FieldProgram& f : fields.fields) {
      if (const aspects::Field* field = aspects::findField(aspect.fields, f.key)) {
        gi->inputs[field - aspect.fields.data()] = f.program;
      }
    }
    gi->outputs = outputVocabulary(aspect);
    gi->output_base = manifest.entries().size();
    expr::AttributeManifest with_outputs = manifest;
    for (size_t i = 0; i < gi->outputs->size(); ++i) {
      const auto id = static_cast<attribute::AttributeId>(i);
      with_outputs.add(gi->outputs->name(id), static_cast<expr::AttributeId>(gi->output_base + i),
                       gi->outputs->type(id));
    }
    const std::string what = base::strCat("instance '", inst.name, "' attribute_bindings");
    for (const auto& kv : inst.params) {
      if (!isBindingsKey(kv.first.as<std::string>(""))) {
        continue;
      }
      if (!kv.second.IsMap()) {
        if (!kv.second.IsNull()) {
          errors_->push_back({markPos(inst.pos.file, kv.second),
                              base::strCat(what, ": want a map of attribute: expression")});
        }
        continue;
      }
      for (const auto& b : kv.second) {
        const std::string attr = b.first.as<std::string>("");
        const auto id = vocabulary_->find(attr);
        if (!id) {
          errors_->push_back({markPos(inst.pos.file, b.first),
                              base::strCat(what, ": '", attr, "' is not a known attribute")});
          continue;
        }
        if (!b.second.IsScalar()) {
          errors_->push_back({markPos(inst.pos.file, b.second),
                              base::strCat(what, " '", attr, "': want an expression")});
          continue;
        }
        auto p = expr::compile(outputNames(b.second.Scalar()), with_outputs, options);
        if (!p.ok()) {
          errors_->push_back(expressionError(markPos(inst.pos.file, b.second), isQuoted(b.second),
                                             p.status(), base::strCat(what, " '", attr, "'"),
                                             /*binding_outputs=*/true));
          continue;
        }
        const expr::ValueType want = vocabulary_->type(*id);
        const expr::ValueType got = (*p)->resultType();
        const bool dynamic = got == expr::ValueType::kDyn || got == expr::ValueType::kUnspecified;
        if (!dynamic && got != want) {
          errors_->push_back({markPos(inst.pos.file, b.second),
                              base::strCat(what, " '", attr, "': the expression is of type ",
                                           expr::valueTypeName(got), " but the attribute is ",
                                           attribute::manifestTypeName(vocabulary_->type(*id)))});
          continue;
        }
        gi->bindings.push_back({*id, vocabulary_->name(*id), *p});
      }
    }
    generator_by_name_[gi->name] = gi.get();
    generator_instances_.push_back(std::move(gi));
  }

  // Validates every handler's params with its adapter; creates the handlers only when the whole
  // configuration is free of errors (so a rejected configuration has no side effects).
  struct PendingHandler {
    const config::Handler* decl;
    std::shared_ptr<const adapter_host::LoadedAdapter> adapter;
    adapter_host::AbiValue params;
  };

  void validateHandlers(std::vector<PendingHandler>* out) {
    for (const auto& h : model_.handlers) {
      if (!h.connection_address.empty()) {
        validateRemoteHandler(h, out);
        continue;
      }
      if (inProcessGenerator(h.adapter)) {
        std::string warning, error;
        auto g = makeRegistryGenerator(h.params, &warning, &error);
        if (!g) {
          errors_->push_back({h.pos, base::strCat(describe(h), ": ", error)});
          continue;
        }
        if (!warning.empty()) {
          warnings_.push_back({h.pos, base::strCat(describe(h), ": ", warning)});
        }
        generators_[h.name] = std::move(g);
        continue;
      }
      auto adapter = adapters_.find(h.adapter);
      if (!adapter && unavailableAdapter(h.adapter)) {
        unavailable_.insert(h.name);  // reported by unavailableHandlers(); its rules are skipped
        continue;
      }
      if (!adapter) {
        std::string loaded;
        for (const auto& a : adapters_.adapters()) {
          loaded += base::strCat(loaded.empty() ? "" : ", ", a->info().name);
        }
        errors_->push_back(
            {h.pos,
             base::strCat(h.origin.empty() ? base::strCat("handler '", h.name, "'") : h.origin,
                          ": unknown adapter '", h.adapter,
                          "' (loaded: ", loaded.empty() ? "none" : loaded, ")")});
        continue;
      }
      std::vector<adapter_host::ParamError> perrs;
      adapter_host::AbiValue params = h.params
                                          ? adapter_host::valueFromYaml(h.params, "params", &perrs)
                                          : adapter_host::AbiValue::map();
      if (perrs.empty()) {
        perrs = adapter->validateParams(params);
      }
      if (!perrs.empty()) {
        for (auto& e : perrs) {
          e.path = writtenParamPath(h, e.path);
        }
        const YAML::Node& written = h.origin.empty() ? h.params : h.written_params;
        if (written) {
          adapter_host::locateErrors(written, "params", &perrs);
        }
        for (const auto& e : perrs) {
          SourcePos pos = h.pos;
          if (e.line > 0) {
            pos.line = e.line;
            pos.column = e.column;
          }
          errors_->push_back({pos, base::strCat(describe(h), ": ", e.path, ": ", e.message)});
        }
        continue;
      }
      if (adapter->serves(MIXER_KIND_GENERATE)) {
        const aspects::Aspect* aspect = generatorAspect(adapter->info().templates);
        if (aspect == nullptr) {
          errors_->push_back({h.pos, base::strCat(describe(h), ": adapter '", adapter->info().name,
                                                  "' serves generate but none of its templates (",
                                                  absl::StrJoin(adapter->info().templates, ", "),
                                                  ") generates attributes")});
          continue;
        }
        auto g = std::make_unique<AdapterGenerator>(*aspect);
        adapter_generators_[h.name] = g.get();
        generators_[h.name] = std::move(g);
      }
      handler_adapters_[h.name] = adapter.get();
      out->push_back({&h, adapter, std::move(params)});
    }
  }

  // A handler with `connection: {address}`: served by the out-of-process adapter its `adapter`
  // names (a `kind: adapter` document), for the templates that document lists (each a `kind:
  // template` document with the template's descriptor, and an aspect kind of aspects/).
  void validateRemoteHandler(const config::Handler& h, std::vector<PendingHandler>* out) {
    const config::AdapterDescriptor* ad = nullptr;
    for (const auto& a : model_.adapters) {
      if (a.name == h.adapter && (ad == nullptr || a.ns == h.ns)) {
        ad = &a;
      }
    }
    if (ad == nullptr) {
      errors_->push_back(
          {h.pos, base::strCat(describe(h),
                               ": connection.address is set, but no `kind: adapter` "
                               "document is named '",
                               h.adapter, "' (an out-of-process handler names its adapter's)")});
      return;
    }
    adapter_host::RemoteAdapterInfo info;
    info.name = ad->name;
    info.description = ad->description;
    std::vector<std::pair<std::string, std::string>> descriptors;
    bool ok = true;
    for (const std::string& name : ad->templates) {
      const config::TemplateDescriptor* td = nullptr;
      for (const auto& t : model_.templates) {
        if (t.name == name && (td == nullptr || t.ns == ad->ns)) {
          td = &t;
        }
      }
      const aspects::Aspect* aspect = aspects::find(name);
      if (td == nullptr) {
        errors_->push_back(
            {ad->pos, base::strCat("adapter '", ad->name, "' serves template '", name,
                                   "', which has no `kind: template` document")});
        ok = false;
        continue;
      }
      Variety variety;
      if (aspect == nullptr || !aspect->served || !runtimeVariety(aspect->variety, &variety)) {
        errors_->push_back(
            {td->pos,
             base::strCat("template '", name, "' (adapter '", ad->name,
                          "'): this mixs calls out-of-process adapters for the templates of "
                          "aspects/ that it serves (",
                          servedTemplateNames(), ")")});
        ok = false;
        continue;
      }
      info.templates.push_back(std::string(aspect->name));
      info.kinds |= variety == Variety::Check   ? MIXER_KIND_CHECK
                    : variety == Variety::Quota ? MIXER_KIND_QUOTA
                                                : MIXER_KIND_REPORT;
      descriptors.push_back({std::string(aspect->name), td->descriptor_set});
    }
    if (!ok) {
      return;
    }
    if (descriptors.empty()) {
      errors_->push_back({ad->pos, base::strCat("adapter '", ad->name, "' serves no template")});
      return;
    }
    std::string any;
    bool has_config = false;
    const bool has_params = h.params && h.params.IsMap() && h.params.size() > 0;
    if (ad->session_based) {
      // Istio sends a session-based adapter its config through the session API, and no
      // adapter_config in the calls; this mixs has no session API.
      if (has_params) {
        warnings_.push_back({h.pos, base::strCat(describe(h), ": adapter '", ad->name,
                                                 "' is session_based: its params are not sent (the "
                                                 "calls carry no adapter_config, as in Istio)")});
      }
    } else if (!ad->config_descriptor_set.empty()) {
      std::vector<config::ParamProblem> problems;
      if (!config::encodeAdapterConfig(ad->config_descriptor_set,
                                       h.params ? h.params : YAML::Node(YAML::NodeType::Map), &any,
                                       &problems)) {
        for (const auto& p : problems) {
          SourcePos pos = h.pos;
          if (p.line > 0) {
            pos.line = p.line;
            pos.column = p.column;
          }
          errors_->push_back({pos, base::strCat(describe(h), ": ", p.message)});
        }
        return;
      }
      has_config = true;
    } else if (has_params) {
      errors_->push_back(
          {h.pos, base::strCat(describe(h), ": adapter '", ad->name,
                               "' declares no config descriptor, so it takes no params")});
      return;
    }
    auto adapter = adapter_host::remoteAdapter(std::move(info), &adapters_.services());
    adapter_host::AbiValue params = adapter_host::remoteHandlerParams(
        h.connection_address, h.connection_timeout, has_config ? &any : nullptr, descriptors);
    std::vector<adapter_host::ParamError> perrs = adapter->validateParams(params);
    if (!perrs.empty()) {
      for (const auto& e : perrs) {
        errors_->push_back({ad->pos, base::strCat(describe(h), ": ", e.path, ": ", e.message)});
      }
      return;
    }
    handler_adapters_[h.name] = adapter.get();
    out->push_back({&h, std::move(adapter), std::move(params)});
  }

  static std::string servedTemplateNames() {
    std::string out;
    for (const aspects::Aspect* a : aspects::all()) {
      if (a->served && a->variety != aspects::Variety::AttributeGeneration) {
        out += base::strCat(out.empty() ? "" : ", ", a->name);
      }
    }
    return out;
  }

  void setVocabulary(const attribute::Vocabulary& vocabulary) { vocabulary_ = &vocabulary; }

  void compileRules(const expr::AttributeManifest& manifest,
                    const attribute::Vocabulary& vocabulary,
                    std::vector<std::unique_ptr<CompiledRule>>* out) {
    vocabulary_ = &vocabulary;
    for (const auto& rule : model_.rules) {
      if (std::any_of(rule.actions.begin(), rule.actions.end(),
                      [&](const config::Action& a) { return unavailable_.count(a.handler) > 0; })) {
        continue;  // uses an unavailable handler: skipped
      }
      auto cr = std::make_unique<CompiledRule>();
      cr->order = out->size();
      cr->name = rule.name;
      cr->ns = rule.ns;
      cr->match_text = rule.match;
      expr::CompileOptions options;
      options.dialect = rule.lang == "cel" ? expr::Dialect::kCel : expr::Dialect::kCexl;
      options.expected_type = expr::ValueType::kBool;
      std::string match = rule.match;
      if (!match.empty() && match != "true") {
        expr::ParseOptions popts;
        popts.dialect = options.dialect;
        if (auto ast = expr::parse(match, popts); ast.ok()) {
          findIndexTerm(**ast, *vocabulary_, &cr->index_attribute, &cr->index_value);
        }
        auto p = expr::compile(match, manifest, options);
        if (!p.ok()) {
          errors_->push_back(expressionError(
              rule.match_pos, false, p.status(),
              rule.origin.empty() ? base::strCat(describe(rule), " match") : rule.origin));
        } else {
          cr->match = *p;
        }
      }
      for (const auto& action : rule.actions) {
        compileAction(rule, action, cr.get());
      }
      options.expected_type = expr::ValueType::kUnspecified;
      compileHeaderOps(rule, rule.request_header_operations, manifest, options,
                       &cr->request_header_operations);
      compileHeaderOps(rule, rule.response_header_operations, manifest, options,
                       &cr->response_header_operations);
      out->push_back(std::move(cr));
    }
  }

  void bindHandlers(std::vector<std::unique_ptr<CompiledRule>>* rules,
                    const std::map<std::string, adapter_host::Handler*>& handlers) {
    for (auto& rule : *rules) {
      for (auto* list : {&rule->check_actions, &rule->quota_actions, &rule->report_actions}) {
        for (auto& a : *list) {
          a.handler = handlers.at(a.handler_name);
        }
      }
    }
  }

 private:
  // The name of template field `key` as the operator wrote it (aspect model: the aspect param it
  // came from).
  std::string writtenField(const std::string& key, int depth) const {
    if (depth == 0 && field_names_ != nullptr) {
      for (const auto& [field, written] : *field_names_) {
        if (field == key) {
          return written;
        }
      }
    }
    return key;
  }

  // Reports each required field of `schema` that `map` (a map, or absent) does not set.
  void requireFields(const YAML::Node& map, const SourcePos& pos, const std::string& what,
                     std::span<const aspects::Field> schema, std::string_view template_name,
                     int depth = 0) {
    for (const aspects::Field& field : schema) {
      if (!field.required) {
        continue;
      }
      bool set = false;
      if (map && map.IsMap()) {
        for (const auto& kv : map) {
          if (aspects::findField(std::span(&field, 1), kv.first.as<std::string>("")) != nullptr &&
              !kv.second.IsNull()) {
            set = true;
          }
        }
      }
      if (!set) {
        errors_->push_back(
            {pos, base::strCat(what, "'", writtenField(std::string(field.name), depth),
                               "' is required by template '", template_name, "' and is not set")});
      }
    }
  }

  // Compiles the fields of `map`. With a `schema` (the template's fields, or a nested message's),
  // every key must be one of its fields and every expression must fit its field's type; inside
  // map fields (`dimensions`, ...) keys are the operator's and any expression fits.
  void compileFields(const YAML::Node& map, const std::string& file, const std::string& what,
                     const expr::AttributeManifest& manifest, const expr::CompileOptions& options,
                     std::vector<FieldProgram>* out, std::span<const aspects::Field> schema,
                     std::string_view template_name, bool validate = true, int depth = 0) {
    // YAML aliases can make a small file name a huge tree: bound what one instance may expand to.
    constexpr int kMaxDepth = 32;
    if (depth > kMaxDepth) {
      errors_->push_back(
          {markPos(file, map), base::strCat(what, "nests deeper than ", kMaxDepth, " levels")});
      return;
    }
    for (const auto& kv : map) {
      if (++fields_seen_ > kMaxFields) {
        errors_->push_back(
            {markPos(file, map), base::strCat(what, "has more than ", kMaxFields, " fields")});
        return;
      }
      FieldProgram f;
      f.key = kv.first.as<std::string>("");
      const std::string shown = writtenField(f.key, depth);  // as the operator wrote it
      const YAML::Node& v = kv.second;
      const aspects::Field* field = nullptr;
      if (validate) {
        field = aspects::findField(schema, f.key);
        if (field == nullptr) {
          errors_->push_back({markPos(file, kv.first),
                              base::strCat(what, "'", shown, "': template '", template_name,
                                           "' has no such field (its fields: ",
                                           aspects::fieldNames(schema), ")")});
          continue;
        }
      }
      const bool message = field != nullptr && field->type == aspects::FieldType::kMessage;
      const bool map_field = field != nullptr && (field->type == aspects::FieldType::kValueMap ||
                                                  field->type == aspects::FieldType::kStringMap);
      if (v.IsMap()) {
        if (field != nullptr && !message && !map_field) {
          errors_->push_back(
              {markPos(file, v), base::strCat(what, "'", shown, "': want an expression of type ",
                                              aspects::fieldTypeName(field->type), ", not a map")});
          continue;
        }
        compileFields(v, file, base::strCat(what, shown, "."), manifest, options, &f.children,
                      message ? field->children : std::span<const aspects::Field>(), template_name,
                      message, depth + 1);
        if (message) {
          requireFields(v, markPos(file, v), base::strCat(what, shown, "."), field->children,
                        template_name, depth + 1);
        }
      } else if (v.IsScalar()) {
        if (message) {
          errors_->push_back(
              {markPos(file, v), base::strCat(what, "'", shown, "': want a map of its fields (",
                                              aspects::fieldNames(field->children), ")")});
          continue;
        }
        const std::string shared_key =
            base::strCat(options.dialect == expr::Dialect::kCel ? "cel:" : "cexl:", v.Scalar());
        if (auto known = shared_fields_.find(shared_key); known != shared_fields_.end()) {
          if (field != nullptr && !fits(*field, *known->second.first, file, v, what, shown)) {
            continue;
          }
          f.program = known->second.first;
          f.shared_id = known->second.second;
          out->push_back(std::move(f));
          continue;
        }
        auto p = expr::compile(v.Scalar(), manifest, options);
        if (!p.ok()) {
          errors_->push_back(expressionError(markPos(file, v), isQuoted(v), p.status(),
                                             base::strCat(what, "'", shown, "'")));
          continue;
        }
        if (field != nullptr && !fits(*field, **p, file, v, what, shown)) {
          continue;
        }
        f.program = *p;
        f.shared_id = static_cast<uint32_t>(shared_fields_.size());
        shared_fields_.emplace(shared_key, std::make_pair(f.program, f.shared_id));
      } else if (v.IsNull()) {
        continue;  // an absent field
      } else {
        errors_->push_back(
            {markPos(file, v),
             base::strCat(what, "'", shown, "': want an expression or a map of them")});
        continue;
      }
      out->push_back(std::move(f));
    }
  }

  // Reports (and returns false) when `program`'s type does not fit `field` (Istio's type check of
  // instance fields at load time).
  bool fits(const aspects::Field& field, const expr::Program& program, const std::string& file,
            const YAML::Node& v, const std::string& what, const std::string& shown) {
    if (aspects::fits(field.type, program.resultType())) {
      return true;
    }
    errors_->push_back(
        {markPos(file, v), base::strCat(what, "'", shown, "': the expression is of type ",
                                        expr::valueTypeName(program.resultType()),
                                        " but the field is ", aspects::fieldTypeName(field.type))});
    return false;
  }

  void compileAction(const config::Rule& rule, const config::Action& action, CompiledRule* cr) {
    if (auto g = generators_.find(action.handler); g != generators_.end()) {
      CompiledGenerateAction a;
      a.generator = g->second.get();
      a.handler_name = action.handler;
      for (const auto& name : action.instances) {
        auto it = generator_by_name_.find(name);
        if (it != generator_by_name_.end() && it->second->aspect == &g->second->aspect()) {
          a.instances.push_back(it->second);
          continue;
        }
        if (it != generator_by_name_.end() || by_name_.count(name) > 0) {
          errors_->push_back(
              {action.pos,
               base::strCat(describe(rule), ": handler '", action.handler,
                            "' generates attributes for template '", g->second->aspect().name,
                            "' only, not for instance '", name, "'")});
        }
      }
      if (!a.instances.empty()) {
        cr->generate_actions.push_back(std::move(a));
      }
      return;
    }
    auto ha = handler_adapters_.find(action.handler);
    if (ha == handler_adapters_.end()) {
      // A dangling reference (the loader reports those) or a handler with errors of its own.
      return;
    }
    const auto& info = ha->second->info();
    CompiledAction by_variety[3];
    for (const auto& name : action.instances) {
      auto it = by_name_.find(name);
      if (it == by_name_.end()) {
        if (auto u = unserved_.find(name); u != unserved_.end()) {
          errors_->push_back(
              {action.pos,
               base::strCat(describe(rule), ": handler '", action.handler, "' (adapter ", info.name,
                            ") does not serve template '", u->second->name, "' of instance '", name,
                            "' (", aspects::varietyName(u->second->variety),
                            ", not served by this mixs)")});
        }
        continue;  // dangling (reported by the loader) or an instance with errors of its own
      }
      const CompiledInstance* inst = it->second;
      if (std::find(info.templates.begin(), info.templates.end(), inst->template_name) ==
          info.templates.end()) {
        errors_->push_back(
            {action.pos, base::strCat(describe(rule), ": handler '", action.handler, "' (adapter ",
                                      info.name, ") does not serve template '", inst->template_name,
                                      "' of instance '", name, "'")});
        continue;
      }
      auto& a = by_variety[static_cast<int>(inst->variety)];
      a.handler_name = action.handler;
      a.instances.push_back(inst);
    }
    if (!by_variety[0].instances.empty()) {
      cr->check_actions.push_back(std::move(by_variety[0]));
    }
    if (!by_variety[1].instances.empty()) {
      cr->quota_actions.push_back(std::move(by_variety[1]));
    }
    if (!by_variety[2].instances.empty()) {
      cr->report_actions.push_back(std::move(by_variety[2]));
    }
  }

  void compileHeaderOps(const config::Rule& rule, const std::vector<config::HeaderOperation>& ops,
                        const expr::AttributeManifest& manifest,
                        const expr::CompileOptions& options,
                        std::vector<CompiledHeaderOperation>* out) {
    for (const auto& op : ops) {
      CompiledHeaderOperation c;
      c.name = op.name;
      c.op = op.op;
      for (const auto& v : op.values) {
        auto p = expr::compile(v, manifest, options);
        if (!p.ok()) {
          errors_->push_back(
              expressionError(op.pos, false, p.status(),
                              base::strCat("rule '", rule.name, "' header '", op.name, "' value")));
          continue;
        }
        c.values.push_back(*p);
      }
      out->push_back(std::move(c));
    }
  }

  const config::ConfigModel& model_;
  const adapter_host::AdapterRegistry& adapters_;
  std::vector<ConfigError>* errors_;
  std::map<std::string, const CompiledInstance*> by_name_;
  // Instances of aspect kinds declared but not served (validated, not compiled into the snapshot).
  std::map<std::string, const aspects::Aspect*> unserved_;
  // Handlers whose adapter is unavailable (unavailable_handlers.h): their rules are skipped.
  std::set<std::string> unavailable_;
  std::map<std::string, const adapter_host::LoadedAdapter*> handler_adapters_;
  const attribute::Vocabulary* vocabulary_ = nullptr;
  std::map<std::string, const CompiledGeneratorInstance*> generator_by_name_;
  static constexpr int kMaxFields = 10000;
  int fields_seen_ = 0;
  // The instance being compiled: its template fields as the operator wrote them (aspect model).
  const std::vector<std::pair<std::string, std::string>>* field_names_ = nullptr;
  // Instance field expressions compiled so far, by dialect and text: the Program and its id.
  std::map<std::string, std::pair<expr::ProgramConstSharedPtr, uint32_t>> shared_fields_;

 public:
  size_t sharedFieldCount() const { return shared_fields_.size(); }
  // Attribute generators by handler name, and their compiled instances.
  std::map<std::string, std::unique_ptr<AttributeGenerator>> generators_;
  // Those of them that call an adapter (bound to their handlers once created).
  std::map<std::string, AdapterGenerator*> adapter_generators_;
  std::vector<std::unique_ptr<CompiledGeneratorInstance>> generator_instances_;
  // Problems that do not stop the configuration from serving (logged).
  std::vector<ConfigError> warnings_;
};

}  // namespace

bool templateVariety(std::string_view template_name, Variety* out) {
  const aspects::Aspect* aspect = aspects::find(template_name);
  if (aspect == nullptr || !runtimeVariety(aspect->variety, out)) {
    return false;
  }
  return true;
}

ConfigSnapshot::~ConfigSnapshot() {
  // Rules point at handlers; close handlers (flushing adapters) before anything else goes.
  for (auto& h : handlers_) {
    h->close();
  }
}

const RuleSet& ConfigSnapshot::rulesFor(std::string_view ns) const {
  for (const auto& [name, rules] : namespace_rules_) {
    if (name == ns) {
      return rules;
    }
  }
  return default_rules_;
}

std::shared_ptr<const ConfigSnapshot> ConfigSnapshot::empty(
    attribute::VocabularyConstSharedPtr vocabulary, uint64_t generation) {
  auto s = std::shared_ptr<ConfigSnapshot>(new ConfigSnapshot());
  s->generation_ = generation;
  s->vocabulary_ = std::move(vocabulary);
  s->manifest_ = manifestFor(*s->vocabulary_);
  return s;
}

ConfigSnapshotConstSharedPtr compileSnapshot(const config::ConfigModel& model,
                                             const adapter_host::AdapterRegistry& adapters,
                                             const attribute::VocabularyConstSharedPtr& base,
                                             uint64_t generation, std::vector<ConfigError>* errors,
                                             bool validate_only) {
  // Errors the loader found are already in `errors`: compile anyway to report the rest, but
  // never produce a snapshot.
  const bool model_has_errors = !errors->empty();
  auto s = std::shared_ptr<ConfigSnapshot>(new ConfigSnapshot());
  s->generation_ = generation;
  s->default_namespace_ = model.default_namespace;
  Compiler c(model, adapters, errors);
  if (!c.compileVocabulary(base, &s->vocabulary_)) {
    return nullptr;
  }
  s->manifest_ = manifestFor(*s->vocabulary_);
  c.setVocabulary(*s->vocabulary_);
  c.compileInstances(*s->manifest_, &s->instances_);
  s->shared_field_count_ = c.sharedFieldCount();
  std::vector<Compiler::PendingHandler> pending;
  c.validateHandlers(&pending);
  c.compileRules(*s->manifest_, *s->vocabulary_, &s->rules_);
  if (!errors->empty() || model_has_errors) {
    return nullptr;
  }
  s->handler_count_ = pending.size();
  if (validate_only) {
    s->validate_only_ = true;
    return s;
  }
  std::map<std::string, adapter_host::Handler*> handlers;
  for (auto& p : pending) {
    auto h = p.adapter->createHandler(p.decl->name, p.params);
    if (!h.ok()) {
      errors->push_back(
          {p.decl->pos, base::strCat("handler '", p.decl->name, "': ", h.status().message())});
      continue;
    }
    handlers[p.decl->name] = h->get();
    s->handlers_.push_back(*std::move(h));
  }
  if (!errors->empty()) {
    return nullptr;
  }
  c.bindHandlers(&s->rules_, handlers);
  for (auto& [name, g] : c.adapter_generators_) {
    g->bind(handlers.at(name));
  }
  for (const auto& w : c.warnings_) {
    MIXER_LOG(Warn) << w.str();
  }
  for (auto& [name, g] : c.generators_) {
    s->generators_.push_back(std::move(g));
  }
  s->generator_instances_ = std::move(c.generator_instances_);
  s->has_generators_ = std::any_of(s->rules_.begin(), s->rules_.end(),
                                   [](const auto& r) { return !r->generate_actions.empty(); });

  for (const auto& r : s->rules_) {
    if (r->ns == s->default_namespace_) {
      addRule(r.get(), *s->vocabulary_, &s->default_rules_);
    }
  }
  for (const auto& r : s->rules_) {
    if (r->ns == s->default_namespace_) {
      continue;
    }
    auto it = std::find_if(s->namespace_rules_.begin(), s->namespace_rules_.end(),
                           [&](const auto& e) { return e.first == r->ns; });
    if (it == s->namespace_rules_.end()) {
      s->namespace_rules_.push_back({r->ns, {}});
      it = s->namespace_rules_.end() - 1;
      for (const auto& d : s->rules_) {
        if (d->ns == s->default_namespace_) {
          addRule(d.get(), *s->vocabulary_, &it->second);
        }
      }
    }
    addRule(r.get(), *s->vocabulary_, &it->second);
  }
  return s;
}

}  // namespace mixer::runtime
