// The aspect model of Istio 0.1/0.2, translated into handlers, instances and rules:
//   adapters[]{name, kind, impl, params}       -> Handler "name.adapter.<kind>" (in-tree adapter)
//   rules[]{selector, aspects[], rules[]}      -> Rule per selector (nested selectors ANDed)
//   aspects[]{kind, adapter, params}           -> Instance(s) of the kind's template + an Action
//   metrics/quotas descriptors                 -> merged into the params of the handlers using them
//   manifests[]{name, attributes}              -> AttributeDecl
// Adapters, descriptors and rules may be in different files: everything is collected first.
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "aspects/aspect.h"
#include "base/go_duration.h"
#include "base/str_cat.h"
#include "config/document_reader.h"

namespace mixer::config {
namespace {

struct AdapterBlock {
  std::string name;
  std::string kind;  // the aspect kind it serves
  size_t handler = 0;
  SourcePos pos;
  std::optional<bool> blacklist;  // set by the first lists aspect using it
  SourcePos blacklist_pos;
};

struct Descriptor {
  YAML::Node node;
  SourcePos pos;
};

// The in-tree adapter serving an aspect-model `impl`; unknown impls stay as written, so the
// runtime reports them as unknown adapters.
std::string adapterForImpl(const std::string& impl) {
  static const std::unordered_map<std::string, std::string> kImpls = {
      {"list", "listchecker"},
      {"genericListChecker", "listchecker"},
      {"ipListChecker", "listchecker"},
      {"listchecker", "listchecker"},
      {"denyChecker", "denier"},
      {"denier", "denier"},
      {"memQuota", "memquota"},
      {"memquota", "memquota"},
      {"redisQuota", "redisquota"},
      {"redisquota", "redisquota"},
      {"prometheus", "prometheus"},
      {"stdioLogger", "stdio"},
      {"stdio", "stdio"},
      // Attribute generators: 0.1's Kubernetes adapter (reported unavailable, as Istio 1.x's
      // kubernetesenv is) and the registry-backed one.
      {"kubernetes", "kubernetesenv"},
      {"kubernetesenv", "kubernetesenv"},
      {"registryenv", "registryenv"},
  };
  auto it = kImpls.find(impl);
  return it == kImpls.end() ? impl : it->second;
}

using ParamNames = std::vector<std::pair<std::string, std::string>>;

// The key of `map` spelled `key` or in snake_case, as written; empty when absent.
std::string writtenKey(const YAML::Node& map, std::string_view key) {
  const std::string snake = camelToSnake(key);
  for (const auto& entry : map) {
    if (entry.first.IsScalar() && (entry.first.Scalar() == key || entry.first.Scalar() == snake)) {
      return entry.first.Scalar();
    }
  }
  return "";
}

// Renames a key of a params map in place (either spelling of `from`), keeping its value, and
// records {to, as written} in `names`. A key already spelled `to` wins over an alias.
void renameKey(YAML::Node params, std::string_view from, const std::string& to, ParamNames* names) {
  const std::string written = writtenKey(params, from);
  if (written.empty() || written == to) {
    return;
  }
  const YAML::Node copy = YAML::Clone(base::field(params, from));
  params.remove(written);
  if (!base::field(params, to).IsDefined()) {
    params[to] = copy;
    names->emplace_back(to, written);
  }
}

// genericListChecker's listEntries as the 0.1 documentation wrote them: a YAML list, or one
// scalar of blank-separated, optionally quoted entries ("400" "401" "402").
YAML::Node listEntries(const YAML::Node& node) {
  if (!node.IsScalar()) {
    return node;
  }
  YAML::Node list(YAML::NodeType::Sequence);
  const std::string& text = node.Scalar();
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n')) {
      ++i;
    }
    if (i >= text.size()) {
      break;
    }
    size_t end;
    if (text[i] == '"' || text[i] == '\'') {
      end = text.find(text[i], i + 1);
      end = end == std::string::npos ? text.size() : end;
      YAML::Node entry(text.substr(i + 1, end - i - 1));
      entry.SetTag("!");  // a string, as a quoted scalar is
      list.push_back(entry);
      i = end + 1;
    } else {
      end = text.find_first_of(" \t\n", i);
      end = end == std::string::npos ? text.size() : end;
      YAML::Node entry(text.substr(i, end - i));
      entry.SetTag("!");
      list.push_back(entry);
      i = end;
    }
  }
  return list;
}

// The params of the 0.1 adapters, spelled as their 0.2+ successors expect; `names` gets the
// renamed keys, for errors.
YAML::Node translateParams(const std::string& impl, const YAML::Node& written, ParamNames* names) {
  YAML::Node params = written.IsMap() ? YAML::Clone(written) : YAML::Node(YAML::NodeType::Map);
  if (impl == "genericListChecker") {
    renameKey(params, "listEntries", "overrides", names);
    if (params["overrides"].IsScalar()) {
      params["overrides"] = listEntries(params["overrides"]);
    }
  } else if (impl == "ipListChecker") {
    // providerUrl is the field of the adapter's params; the 0.1 concept page wrote publisherUrl.
    renameKey(params, "providerUrl", "provider_url", names);
    renameKey(params, "publisherUrl", "provider_url", names);
    renameKey(params, "refreshInterval", "refresh_interval", names);
    renameKey(params, "caFile", "ca_file", names);
    // Without a ttl, the list is kept 300s or, for a longer refreshInterval (the 0.1 page has
    // 3600s), three intervals: the 0.1 reference asks for a ttl noticeably longer than it.
    const YAML::Node refresh = params["refresh_interval"];
    if (!base::field(params, "ttl").IsDefined() && refresh.IsScalar()) {
      int64_t nanos = 0;
      const double seconds =
          base::parseGoDuration(refresh.Scalar(), &nanos) ? static_cast<double>(nanos) / 1e9 : -1;
      if (seconds * 3 > 300) {
        params["ttl"] = base::strCat(static_cast<int64_t>(seconds * 3), "s");
      }
    }
    if (!base::field(params, "entryType").IsDefined()) {
      params["entry_type"] = "IP_ADDRESSES";
    }
  } else if (impl == "denyChecker") {
    renameKey(params, "error", "status", names);
  } else if (impl == "redisQuota") {
    // 0.1's redisQuota deduplicated for minDeduplicationDuration; redisquota keeps a dedup
    // record per quota window instead. Accepted and ignored.
    const std::string written_key = writtenKey(params, "minDeduplicationDuration");
    if (!written_key.empty()) {
      params.remove(written_key);
    }
  }
  return params;
}

// "(a) && (b)", or either alone when the other is empty or `true`.
std::string conjunction(const std::string& parent, const std::string& child) {
  const bool no_parent = parent.empty() || parent == "true";
  const bool no_child = child.empty() || child == "true";
  if (no_parent) {
    return no_child ? parent : child;
  }
  if (no_child) {
    return parent;
  }
  return base::strCat("(", parent, ") && (", child, ")");
}

std::string metricKindName(const YAML::Node& kind) {
  if (!kind.IsScalar()) {
    return "";
  }
  const std::string& k = kind.Scalar();
  if (k == "1") return "GAUGE";
  if (k == "2") return "COUNTER";
  if (k == "3") return "DISTRIBUTION";
  return k;
}

// Descriptor buckets ({explicit_buckets|explicit: {bounds}}, linear, exponential) in the
// prometheus adapter's spelling.
YAML::Node convertBuckets(const YAML::Node& buckets) {
  YAML::Node out = snakeKeys(buckets, 2);
  if (out.IsMap()) {
    for (std::string_view kind : {"explicit", "linear", "exponential"}) {
      const std::string key(kind);
      if (out[key].IsDefined() && !out[key].IsNull()) {
        out[key + "_buckets"] = YAML::Clone(out[key]);
        out.remove(key);
      }
    }
  }
  return out;
}

class AspectTranslator {
 public:
  explicit AspectTranslator(LoadResult* result) : result_(result), model_(result->model) {
    for (const Instance& instance : model_.instances) {
      instance_names_.insert(instance.name);
    }
  }

  void run() {
    std::vector<DocumentReader> readers;
    readers.reserve(result_->aspect_documents.size());
    for (const AspectDocument& doc : result_->aspect_documents) {
      readers.emplace_back(doc.file, doc.text, &result_->errors);
    }
    for (size_t i = 0; i < readers.size(); ++i) {
      collect(result_->aspect_documents[i].root, &readers[i]);
    }
    for (size_t i = 0; i < readers.size(); ++i) {
      const YAML::Node& root = result_->aspect_documents[i].root;
      translateRules(base::field(root, "rules"), "", &readers[i]);
      // Top-level aspects apply to every request: a rule whose selector is true.
      const YAML::Node aspects = base::field(root, "aspects");
      if (readers[i].sequence(aspects, "aspects")) {
        const SourcePos at = readers[i].keyPos(root, "aspects");
        translateAspects(aspects, "true", at, at, "top-level aspects", &readers[i]);
      }
    }
    // A quotas adapter no aspect uses has no quota to enforce (the aspects define them, and
    // memquota and redisquota want at least one): its block is checked, not instantiated.
    std::erase_if(model_.handlers, [&](const Handler& h) {
      return h.name.ends_with(".adapter.quotas") && !h.params["quotas"].IsDefined();
    });
    model_.aspect_model = true;
  }

 private:
  void collect(const YAML::Node& root, DocumentReader* reader) {
    reader->checkKeys(root,
                      {"subject", "revision", "adapters", "rules", "aspects", "manifests",
                       "metrics", "quotas", "logs", "monitoredResources", "principals"},
                      "an aspect-model document");
    const YAML::Node adapters = base::field(root, "adapters");
    if (reader->sequence(adapters, "adapters")) {
      for (const YAML::Node& item : adapters) {
        collectAdapter(item, reader);
      }
    }
    collectDescriptors(base::field(root, "metrics"), "metric", &metrics_, reader);
    collectDescriptors(base::field(root, "quotas"), "quota", &quotas_, reader);
    collectDescriptors(base::field(root, "logs"), "log", &logs_, reader);
    collectDescriptors(base::field(root, "monitoredResources"), "monitored resource",
                       &monitored_resources_, reader);
    collectDescriptors(base::field(root, "principals"), "principal", &principals_, reader);
    const YAML::Node manifests = base::field(root, "manifests");
    if (reader->sequence(manifests, "manifests")) {
      for (const YAML::Node& manifest : manifests) {
        if (!reader->mapping(manifest, "a manifest") || !manifest.IsMap()) {
          continue;
        }
        reader->checkKeys(manifest, {"name", "revision", "attributes"}, "a manifest");
        addManifestAttributes(base::field(manifest, "attributes"), reader, &model_);
      }
    }
  }

  void collectAdapter(const YAML::Node& item, DocumentReader* reader) {
    if (!reader->mapping(item, "an adapter") || !item.IsMap()) {
      return;
    }
    reader->checkKeys(item, {"name", "kind", "impl", "params"}, "an adapter");
    std::optional<std::string> name = reader->requiredScalar(item, "name", "adapter name");
    std::optional<std::string> kind = reader->requiredScalar(item, "kind", "adapter kind");
    std::optional<std::string> impl = reader->requiredScalar(item, "impl", "adapter impl");
    if (!name || !kind || !impl) {
      return;
    }
    const SourcePos pos = reader->pos(base::field(item, "name"));
    for (const AdapterBlock& other : adapters_) {
      if (other.name == *name && other.kind == *kind) {
        reader->error(pos, base::strCat("duplicate adapter '", *name, "' of kind '", *kind,
                                        "' (first defined at ", other.pos.str(), ")"));
        return;
      }
    }
    const YAML::Node params = base::field(item, "params");
    reader->mapping(params, base::strCat("the params of adapter '", *name, "'"));
    Handler handler;
    handler.name = base::strCat(*name, ".adapter.", *kind);
    handler.ns = model_.default_namespace;
    handler.adapter = adapterForImpl(*impl);
    handler.params = translateParams(*impl, params, &handler.param_names);
    handler.written_params = params;
    handler.pos = pos;
    handler.origin = base::strCat("adapter '", *name, "' (kind ", *kind, ", impl ", *impl, ")");
    adapters_.push_back(AdapterBlock{*name, *kind, model_.handlers.size(), pos, {}, {}});
    model_.handlers.push_back(std::move(handler));
  }

  // A single descriptor written as a mapping (as the 0.1 reference's MetricDescriptor example
  // does) counts as a list of one.
  void collectDescriptors(const YAML::Node& written, std::string_view what,
                          std::unordered_map<std::string, Descriptor>* out,
                          DocumentReader* reader) {
    YAML::Node one(YAML::NodeType::Sequence);
    if (written.IsMap()) {
      one.push_back(written);
    }
    const YAML::Node list = written.IsMap() ? one : written;
    if (!reader->sequence(list, base::strCat(what, " descriptors"))) {
      return;
    }
    for (const YAML::Node& item : list) {
      if (!reader->mapping(item, base::strCat("a ", what, " descriptor")) || !item.IsMap()) {
        continue;
      }
      std::optional<std::string> name =
          reader->requiredScalar(item, "name", base::strCat(what, " descriptor name"));
      if (!name) {
        continue;
      }
      const SourcePos pos = reader->pos(base::field(item, "name"));
      auto [it, inserted] = out->emplace(*name, Descriptor{item, pos});
      if (!inserted) {
        reader->error(pos, base::strCat("duplicate ", what, " descriptor '", *name,
                                        "' (first defined at ", it->second.pos.str(), ")"));
      }
    }
  }

  void translateRules(const YAML::Node& rules, const std::string& parent_selector,
                      DocumentReader* reader) {
    if (!reader->sequence(rules, "rules")) {
      return;
    }
    for (const YAML::Node& item : rules) {
      if (!reader->mapping(item, "a rule") || !item.IsMap()) {
        continue;
      }
      reader->checkKeys(item, {"selector", "aspects", "rules"}, "a rule");
      const YAML::Node selector_node = base::field(item, "selector");
      std::string selector = reader->scalar(selector_node, "selector").value_or("");
      selector = conjunction(parent_selector, selector);
      const YAML::Node aspects = base::field(item, "aspects");
      if (reader->sequence(aspects, "aspects")) {
        const SourcePos rule_pos = reader->pos(item);
        translateAspects(aspects, selector,
                         selector_node.IsDefined() && !selector_node.IsNull()
                             ? reader->pos(selector_node)
                             : rule_pos,
                         rule_pos, "rule selector", reader);
      }
      translateRules(base::field(item, "rules"), selector, reader);
    }
  }

  Rule newRule(const SourcePos& pos, const std::string& match, const SourcePos& match_pos,
               std::string origin) {
    Rule rule;
    rule.pos = pos;
    rule.name = base::strCat("selector@", pos.str());
    rule.ns = model_.default_namespace;
    rule.match = match;
    rule.match_pos = match_pos;
    rule.origin = std::move(origin);
    return rule;
  }

  // The aspects of one rule (or the top-level ones): one Rule for them, and one more for each
  // aspect with a selector of its own (the 0.1 concept page puts `selector` on an aspect), whose
  // match is the rule's selector and the aspect's.
  void translateAspects(const YAML::Node& aspects, const std::string& selector,
                        const SourcePos& match_pos, const SourcePos& rule_pos,
                        const std::string& origin, DocumentReader* reader) {
    Rule rule = newRule(rule_pos, selector, match_pos, origin);
    std::vector<Rule> own;
    for (const YAML::Node& aspect : aspects) {
      const YAML::Node aspect_selector = base::field(aspect, "selector");
      if (aspect.IsMap() && aspect_selector.IsDefined() && !aspect_selector.IsNull()) {
        const std::string text = reader->scalar(aspect_selector, "selector").value_or("");
        own.push_back(newRule(reader->pos(aspect), conjunction(selector, text),
                              reader->pos(aspect_selector), "aspect selector"));
        translateAspect(aspect, reader, &own.back());
      } else {
        translateAspect(aspect, reader, &rule);
      }
    }
    if (!rule.actions.empty()) {
      model_.rules.push_back(std::move(rule));
    }
    for (Rule& r : own) {
      if (!r.actions.empty()) {
        model_.rules.push_back(std::move(r));
      }
    }
  }

  // The adapter block an aspect names, or nullptr after reporting why there is none.
  AdapterBlock* findAdapter(const YAML::Node& aspect, const std::string& kind,
                            DocumentReader* reader) {
    const YAML::Node adapter_node = base::field(aspect, "adapter");
    const std::string name = reader->scalar(adapter_node, "adapter").value_or("default");
    const SourcePos pos = adapter_node.IsDefined() && !adapter_node.IsNull()
                              ? reader->pos(adapter_node)
                              : reader->pos(aspect);
    AdapterBlock* other_kind = nullptr;
    for (AdapterBlock& block : adapters_) {
      if (block.name == name) {
        if (block.kind == kind) {
          return &block;
        }
        other_kind = &block;
      }
    }
    if (other_kind != nullptr) {
      reader->error(pos, base::strCat("aspect of kind '", kind, "' uses adapter '", name,
                                      "', which is of kind '", other_kind->kind, "' (declared at ",
                                      other_kind->pos.str(), ")"));
    } else {
      reader->error(pos, base::strCat("aspect of kind '", kind, "' uses adapter '", name,
                                      "', but no adapter of that name is declared"));
    }
    return nullptr;
  }

  std::string addInstance(const std::string& base, const std::string& template_name,
                          YAML::Node params, const SourcePos& pos, std::string origin,
                          std::vector<std::pair<std::string, std::string>> field_names = {}) {
    const std::string suffix = base::strCat(".", template_name, ".", model_.default_namespace);
    std::string name = base::strCat(base, suffix);
    for (int n = 2; instance_names_.count(name) != 0; ++n) {
      name = base::strCat(base, "-", n, suffix);
    }
    instance_names_.insert(name);
    Instance instance;
    instance.name = name;
    instance.ns = model_.default_namespace;
    instance.template_name = template_name;
    instance.params = std::move(params);
    instance.pos = pos;
    instance.origin = std::move(origin);
    instance.field_names = std::move(field_names);
    model_.instances.push_back(std::move(instance));
    return name;
  }

  // Appends `entry` to the list `key` of a handler's params.
  void appendHandlerParam(size_t handler, const std::string& key, YAML::Node entry) {
    YAML::Node& params = model_.handlers[handler].params;
    if (!params.IsMap()) {
      params = YAML::Node(YAML::NodeType::Map);
    }
    YAML::Node list = params[key];
    if (!list.IsSequence()) {
      params[key] = YAML::Node(YAML::NodeType::Sequence);
      list = params[key];
    }
    list.push_back(entry);
  }

  void translateAspect(const YAML::Node& aspect, DocumentReader* reader, Rule* rule) {
    if (!reader->mapping(aspect, "an aspect") || !aspect.IsMap()) {
      return;
    }
    reader->checkKeys(aspect, {"kind", "adapter", "params", "inputs", "selector"}, "an aspect");
    std::optional<std::string> kind = reader->requiredScalar(aspect, "kind", "aspect kind");
    if (!kind) {
      return;
    }
    const YAML::Node kind_node = base::field(aspect, "kind");
    // The template its aspects become is the aspect unit's (aspects/); reading the params of
    // each 0.1 kind is this model's.
    const aspects::Aspect* target = aspects::findByLegacyKind(*kind);
    if (target == nullptr) {
      reader->error(kind_node, base::strCat("unknown aspect kind '", *kind, "' (expected ",
                                            aspects::legacyKindNames(), ")"));
      return;
    }
    AdapterBlock* adapter = findAdapter(aspect, *kind, reader);
    if (adapter == nullptr) {
      return;
    }
    const YAML::Node params = base::field(aspect, "params");
    reader->mapping(params, base::strCat("the params of a ", *kind, " aspect"));
    const SourcePos pos = reader->pos(aspect);

    Action action;
    action.handler = model_.handlers[adapter->handler].name;
    action.pos = pos;
    const YAML::Node adapter_node = base::field(aspect, "adapter");
    action.handler_pos = adapter_node.IsDefined() ? reader->pos(adapter_node) : pos;
    auto add = [&](const std::string& instance, const SourcePos& at) {
      action.instances.push_back(instance);
      action.instance_pos.push_back(at);
    };

    if (*kind == "denials") {
      add(addInstance(adapter->name, std::string(target->name), YAML::Node(YAML::NodeType::Null),
                      pos, base::strCat("denials aspect of adapter '", adapter->name, "'")),
          pos);
    } else if (*kind == "lists") {
      translateList(*target, params, adapter, pos, reader, add);
    } else if (*kind == "quotas") {
      translateQuotas(*target, params, adapter, reader, add);
    } else if (*kind == "metrics") {
      translateMetrics(*target, params, adapter, reader, add);
    } else if (*kind == "attributes") {
      translateAttributes(*target, params, adapter, pos, reader, add);
    } else {
      translateLogs(*target, *kind, params, adapter, pos, reader, add);
    }
    if (!action.instances.empty()) {
      rule->actions.push_back(std::move(action));
    }
  }

  // attributes{inputExpressions, attributeBindings}: one instance of the attribute generation
  // template `kubernetes` (its fields: the input expressions; its attribute_bindings: the
  // bindings). A binding written as a bare output name (`sourceService`, `source_service_host`)
  // reads that output, as `$out.<name>` does.
  template <typename Add>
  void translateAttributes(const aspects::Aspect& generator, const YAML::Node& params,
                           AdapterBlock* adapter, const SourcePos& pos, DocumentReader* reader,
                           Add& add) {
    if (!params.IsMap()) {
      reader->error(pos,
                    "an attributes aspect needs params with inputExpressions and "
                    "attributeBindings");
      return;
    }
    reader->checkKeys(
        params,
        {"inputExpressions", "input_expressions", "attributeBindings", "attribute_bindings"},
        "the params of an attributes aspect");
    YAML::Node inputs = base::field(params, "inputExpressions");
    if (!inputs.IsDefined() || inputs.IsNull()) {
      inputs = base::field(params, "input_expressions");
    }
    YAML::Node bindings = base::field(params, "attributeBindings");
    if (!bindings.IsDefined() || bindings.IsNull()) {
      bindings = base::field(params, "attribute_bindings");
    }
    if (!reader->mapping(bindings, "attributeBindings of an attributes aspect") ||
        !bindings.IsMap() || bindings.size() == 0) {
      reader->error(bindings.IsDefined() ? reader->pos(bindings) : pos,
                    "an attributes aspect needs attributeBindings (attribute: output)");
      return;
    }
    YAML::Node instance(YAML::NodeType::Map);
    if (inputs.IsDefined() && !inputs.IsNull()) {
      if (!reader->mapping(inputs, "inputExpressions of an attributes aspect")) {
        return;
      }
      for (const auto& kv : inputs) {
        instance.force_insert(kv.first, kv.second);
      }
    }
    YAML::Node out(YAML::NodeType::Map);
    for (const auto& kv : bindings) {
      YAML::Node value = kv.second;
      if (value.IsScalar()) {
        const std::string& written = value.Scalar();
        if (const aspects::Field* output = aspects::findField(generator.outputs, written)) {
          value = base::strCat("$out.", output->name);  // in place: keeps the written position
        }
      }
      out.force_insert(kv.first, value);
    }
    instance.force_insert(YAML::Node("attribute_bindings"), out);
    add(addInstance(adapter->name, std::string(generator.name), instance, pos,
                    base::strCat("attributes aspect of adapter '", adapter->name, "'")),
        pos);
  }

  template <typename Add>
  void translateList(const aspects::Aspect& target, const YAML::Node& params, AdapterBlock* adapter,
                     const SourcePos& pos, DocumentReader* reader, Add& add) {
    if (!params.IsMap()) {
      reader->error(pos, "a lists aspect needs params with a checkExpression");
      return;
    }
    reader->checkKeys(params, {"blacklist", "checkExpression"}, "the params of a lists aspect");
    std::optional<std::string> expression =
        reader->requiredScalar(params, "checkExpression", "checkExpression of a lists aspect");
    if (!expression) {
      return;
    }
    const YAML::Node blacklist_node = base::field(params, "blacklist");
    const bool blacklist = blacklist_node.IsScalar() && blacklist_node.Scalar() == "true";
    const SourcePos blacklist_pos = blacklist_node.IsDefined() ? reader->pos(blacklist_node) : pos;
    if (!adapter->blacklist) {
      adapter->blacklist = blacklist;
      adapter->blacklist_pos = blacklist_pos;
      model_.handlers[adapter->handler].params["blacklist"] = blacklist;
    } else if (*adapter->blacklist != blacklist) {
      reader->error(blacklist_pos,
                    base::strCat("adapter '", adapter->name, "' is used as a ",
                                 blacklist ? "blacklist" : "whitelist", " here but as a ",
                                 *adapter->blacklist ? "blacklist" : "whitelist", " at ",
                                 adapter->blacklist_pos.str(), "; declare one adapter for each"));
      return;
    }
    // The written nodes (not copies), so that expression errors have their position.
    const YAML::Node expression_node = base::field(params, "checkExpression");
    YAML::Node instance_params(YAML::NodeType::Map);
    instance_params["value"] = expression_node;
    add(addInstance(adapter->name, std::string(target.name), instance_params, pos,
                    base::strCat("lists aspect of adapter '", adapter->name, "', param"),
                    {{"value", "checkExpression"}}),
        reader->pos(expression_node));
  }

  template <typename Add>
  void translateQuotas(const aspects::Aspect& target, const YAML::Node& params,
                       AdapterBlock* adapter, DocumentReader* reader, Add& add) {
    if (params.IsMap()) {
      reader->checkKeys(params, {"quotas"}, "the params of a quotas aspect");
    }
    const YAML::Node quotas = base::field(params, "quotas");
    if (!reader->sequence(quotas, "quotas")) {
      return;
    }
    for (const YAML::Node& quota : quotas) {
      if (!reader->mapping(quota, "a quota") || !quota.IsMap()) {
        continue;
      }
      reader->checkKeys(quota, {"descriptorName", "labels", "maxAmount", "expiration"},
                        "a quota of a quotas aspect");
      std::optional<std::string> descriptor_name =
          reader->requiredScalar(quota, "descriptorName", "descriptorName of a quota");
      if (!descriptor_name) {
        continue;
      }
      const YAML::Node name_node = base::field(quota, "descriptorName");
      auto descriptor = quotas_.find(*descriptor_name);
      if (descriptor == quotas_.end()) {
        reader->error(name_node, base::strCat("quota descriptor '", *descriptor_name,
                                              "' not found (declare it under quotas:)"));
        continue;
      }
      const YAML::Node labels = base::field(quota, "labels");
      reader->mapping(labels, "labels");
      YAML::Node instance_params(YAML::NodeType::Map);
      instance_params["dimensions"] = labels.IsMap() ? labels : YAML::Node(YAML::NodeType::Map);
      const SourcePos at = reader->pos(name_node);
      const std::string instance =
          addInstance(*descriptor_name, std::string(target.name), instance_params, at,
                      base::strCat("quotas aspect of adapter '", adapter->name, "', quota '",
                                   *descriptor_name, "',"),
                      {{"dimensions", "labels"}});
      add(instance, at);

      YAML::Node entry(YAML::NodeType::Map);
      entry["name"] = instance;
      const YAML::Node& d = descriptor->second.node;
      // A descriptor's rateLimit is a flag in the 0.1 API (`rate_limit: true`); older files
      // gave the amount there.
      for (const YAML::Node& amount : {base::field(quota, "maxAmount"), base::field(d, "maxAmount"),
                                       base::field(d, "rateLimit")}) {
        if (amount.IsScalar() && amount.Scalar() != "true" && amount.Scalar() != "false") {
          entry["max_amount"] = amount.Scalar();
          break;
        }
      }
      for (const YAML::Node& duration :
           {base::field(quota, "expiration"), base::field(d, "expiration"),
            base::field(d, "validDuration")}) {
        if (duration.IsScalar()) {
          entry["valid_duration"] = duration.Scalar();
          break;
        }
      }
      appendHandlerParam(adapter->handler, "quotas", entry);
    }
  }

  template <typename Add>
  void translateMetrics(const aspects::Aspect& target, const YAML::Node& params,
                        AdapterBlock* adapter, DocumentReader* reader, Add& add) {
    if (params.IsMap()) {
      reader->checkKeys(params, {"metrics"}, "the params of a metrics aspect");
    }
    const YAML::Node metrics = base::field(params, "metrics");
    if (!reader->sequence(metrics, "metrics")) {
      return;
    }
    for (const YAML::Node& metric : metrics) {
      if (!reader->mapping(metric, "a metric") || !metric.IsMap()) {
        continue;
      }
      reader->checkKeys(metric, {"descriptorName", "descriptor", "value", "labels"},
                        "a metric of a metrics aspect");
      // `descriptor` is how the 0.1 MetricDescriptor reference spelled descriptorName.
      const std::string_view name_key = base::field(metric, "descriptorName").IsDefined() ||
                                                !base::field(metric, "descriptor").IsDefined()
                                            ? "descriptorName"
                                            : "descriptor";
      std::optional<std::string> descriptor_name =
          reader->requiredScalar(metric, name_key, "descriptorName of a metric");
      std::optional<std::string> value =
          reader->requiredScalar(metric, "value", "value of a metric");
      if (!descriptor_name || !value) {
        continue;
      }
      const YAML::Node name_node = base::field(metric, name_key);
      auto descriptor = metrics_.find(*descriptor_name);
      if (descriptor == metrics_.end()) {
        reader->error(name_node, base::strCat("metric descriptor '", *descriptor_name,
                                              "' not found (declare it under metrics:)"));
        continue;
      }
      const YAML::Node labels = base::field(metric, "labels");
      reader->mapping(labels, "labels");
      YAML::Node instance_params(YAML::NodeType::Map);
      instance_params["value"] = base::field(metric, "value");
      instance_params["dimensions"] = labels.IsMap() ? labels : YAML::Node(YAML::NodeType::Map);
      const SourcePos at = reader->pos(name_node);
      const std::string instance =
          addInstance(*descriptor_name, std::string(target.name), instance_params, at,
                      base::strCat("metrics aspect of adapter '", adapter->name, "', metric '",
                                   *descriptor_name, "',"),
                      {{"dimensions", "labels"}});
      add(instance, at);

      const YAML::Node& d = descriptor->second.node;
      YAML::Node entry(YAML::NodeType::Map);
      entry["name"] = *descriptor_name;
      entry["instance_name"] = instance;
      const std::string kind = metricKindName(base::field(d, "kind"));
      if (!kind.empty()) {
        entry["kind"] = kind;
      }
      YAML::Node label_names(YAML::NodeType::Sequence);
      const YAML::Node descriptor_labels = base::field(d, "labels");
      for (const auto& label : descriptor_labels.IsMap() ? descriptor_labels : labels) {
        if (label.first.IsScalar()) {
          label_names.push_back(label.first.Scalar());
        }
      }
      entry["label_names"] = label_names;
      const YAML::Node buckets = base::field(d, "buckets");
      if (buckets.IsMap()) {
        entry["buckets"] = convertBuckets(buckets);
      }
      appendHandlerParam(adapter->handler, "metrics", entry);
    }
  }

  template <typename Add>
  void translateLogs(const aspects::Aspect& target, const std::string& kind,
                     const YAML::Node& params, AdapterBlock* adapter, const SourcePos& pos,
                     DocumentReader* reader, Add& add) {
    if (params.IsMap()) {
      reader->checkKeys(params, {"logName", "log", "logs"}, "the params of a logs aspect");
    }
    const std::string log_name =
        reader->scalar(base::field(params, "logName"), "logName").value_or("");
    std::vector<YAML::Node> logs;
    const YAML::Node log = base::field(params, "log");
    if (reader->mapping(log, "log")) {
      logs.push_back(log);
    }
    const YAML::Node list = base::field(params, "logs");
    if (reader->sequence(list, "logs")) {
      for (const YAML::Node& item : list) {
        if (reader->mapping(item, "a log") && item.IsMap()) {
          logs.push_back(item);
        }
      }
    }
    if (logs.empty()) {
      reader->error(params.IsMap() ? reader->pos(params) : pos,
                    "a logs aspect needs a log (or logs) in its params");
      return;
    }
    for (const YAML::Node& entry : logs) {
      reader->checkKeys(entry,
                        {"descriptorName", "templateExpressions", "labels", "severity", "timestamp",
                         "timestampFormat", "timeFormat", "logFormat"},
                        "a log of a logs aspect");
      YAML::Node variables(YAML::NodeType::Map);
      for (std::string_view key : {"labels", "templateExpressions"}) {
        const YAML::Node map = base::field(entry, key);
        if (reader->mapping(map, key)) {
          for (const auto& item : map) {
            if (item.first.IsScalar()) {
              variables[item.first.Scalar()] = item.second;
            }
          }
        }
      }
      YAML::Node instance_params(YAML::NodeType::Map);
      instance_params["variables"] = variables;
      const YAML::Node severity = base::field(entry, "severity");
      instance_params["severity"] = severity.IsScalar() ? severity.Scalar() : "\"INFO\"";
      const YAML::Node timestamp = base::field(entry, "timestamp");
      instance_params["timestamp"] = timestamp.IsScalar() ? timestamp.Scalar() : "request.time";
      std::string base = log_name;
      if (base.empty()) {
        base = reader->scalar(base::field(entry, "descriptorName"), "descriptorName")
                   .value_or(adapter->name);
      }
      const SourcePos at = reader->pos(entry);
      add(addInstance(
              base, std::string(target.name), instance_params, at,
              base::strCat(kind, " aspect of adapter '", adapter->name, "', log '", base, "',"),
              {{"variables", "labels"}}),
          at);
    }
  }

  LoadResult* result_;
  ConfigModel& model_;
  std::vector<AdapterBlock> adapters_;
  std::unordered_map<std::string, Descriptor> metrics_;
  std::unordered_map<std::string, Descriptor> quotas_;
  std::unordered_map<std::string, Descriptor> logs_;
  std::unordered_map<std::string, Descriptor> monitored_resources_;
  std::unordered_map<std::string, Descriptor> principals_;
  std::unordered_set<std::string> instance_names_;
};

}  // namespace

void translateAspectDocuments(LoadResult* result) {
  if (result->aspect_documents.empty()) {
    return;
  }
  AspectTranslator(result).run();
}

}  // namespace mixer::config
