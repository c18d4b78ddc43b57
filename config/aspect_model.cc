// The aspect model of Istio 0.1/0.2, translated into handlers, instances and rules:
//   adapters[]{name, kind, impl, params}       -> Handler "name.adapter.<kind>" (in-tree adapter)
//   rules[]{selector, aspects[], rules[]}      -> Rule per selector (nested selectors ANDed)
//   aspects[]{kind, adapter, params}           -> Instance(s) of the kind's template + an Action
//   metrics/quotas descriptors                 -> merged into the params of the handlers using them
//   manifests[]{name, attributes}              -> AttributeDecl
// Adapters, descriptors and rules may be in different files: everything is collected first.
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "config/document_reader.h"
#include "mixer/common/str_cat.h"

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
  };
  auto it = kImpls.find(impl);
  return it == kImpls.end() ? impl : it->second;
}

// Renames a key of a params map in place (either spelling of `from`), keeping its value.
void renameKey(YAML::Node params, std::string_view from, const std::string& to) {
  const YAML::Node value = DocumentReader::field(params, from);
  if (!value.IsDefined()) {
    return;
  }
  const YAML::Node copy = YAML::Clone(value);
  params.remove(std::string(from));
  params.remove(camelToSnake(from));
  params[to] = copy;
}

// The params of the 0.1 adapters, spelled as their 0.2+ successors expect.
YAML::Node translateParams(const std::string& impl, const YAML::Node& written) {
  YAML::Node params = written.IsMap() ? YAML::Clone(written) : YAML::Node(YAML::NodeType::Map);
  if (impl == "genericListChecker") {
    renameKey(params, "listEntries", "overrides");
  } else if (impl == "ipListChecker") {
    if (!DocumentReader::field(params, "entryType").IsDefined()) {
      params["entry_type"] = "IP_ADDRESSES";
    }
  } else if (impl == "denyChecker") {
    renameKey(params, "error", "status");
  }
  return params;
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
      const YAML::Node rules = DocumentReader::field(result_->aspect_documents[i].root, "rules");
      translateRules(rules, "", &readers[i]);
    }
  }

 private:
  void collect(const YAML::Node& root, DocumentReader* reader) {
    reader->checkKeys(root,
                      {"subject", "revision", "adapters", "rules", "manifests", "metrics", "quotas",
                       "logs", "monitoredResources", "principals"},
                      "an aspect-model document");
    const YAML::Node adapters = DocumentReader::field(root, "adapters");
    if (reader->sequence(adapters, "adapters")) {
      for (const YAML::Node& item : adapters) {
        collectAdapter(item, reader);
      }
    }
    collectDescriptors(DocumentReader::field(root, "metrics"), "metric", &metrics_, reader);
    collectDescriptors(DocumentReader::field(root, "quotas"), "quota", &quotas_, reader);
    collectDescriptors(DocumentReader::field(root, "logs"), "log", &logs_, reader);
    const YAML::Node manifests = DocumentReader::field(root, "manifests");
    if (reader->sequence(manifests, "manifests")) {
      for (const YAML::Node& manifest : manifests) {
        if (!reader->mapping(manifest, "a manifest") || !manifest.IsMap()) {
          continue;
        }
        reader->checkKeys(manifest, {"name", "revision", "attributes"}, "a manifest");
        addManifestAttributes(DocumentReader::field(manifest, "attributes"), reader, &model_);
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
    const SourcePos pos = reader->pos(DocumentReader::field(item, "name"));
    for (const AdapterBlock& other : adapters_) {
      if (other.name == *name && other.kind == *kind) {
        reader->error(pos, strCat("duplicate adapter '", *name, "' of kind '", *kind,
                                  "' (first defined at ", other.pos.str(), ")"));
        return;
      }
    }
    const YAML::Node params = DocumentReader::field(item, "params");
    reader->mapping(params, strCat("the params of adapter '", *name, "'"));
    Handler handler;
    handler.name = strCat(*name, ".adapter.", *kind);
    handler.ns = model_.default_namespace;
    handler.adapter = adapterForImpl(*impl);
    handler.params = translateParams(*impl, params);
    handler.pos = pos;
    adapters_.push_back(AdapterBlock{*name, *kind, model_.handlers.size(), pos, {}, {}});
    model_.handlers.push_back(std::move(handler));
  }

  void collectDescriptors(const YAML::Node& list, std::string_view what,
                          std::unordered_map<std::string, Descriptor>* out,
                          DocumentReader* reader) {
    if (!reader->sequence(list, strCat(what, " descriptors"))) {
      return;
    }
    for (const YAML::Node& item : list) {
      if (!reader->mapping(item, strCat("a ", what, " descriptor")) || !item.IsMap()) {
        continue;
      }
      std::optional<std::string> name =
          reader->requiredScalar(item, "name", strCat(what, " descriptor name"));
      if (!name) {
        continue;
      }
      const SourcePos pos = reader->pos(DocumentReader::field(item, "name"));
      auto [it, inserted] = out->emplace(*name, Descriptor{item, pos});
      if (!inserted) {
        reader->error(pos, strCat("duplicate ", what, " descriptor '", *name,
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
      const YAML::Node selector_node = DocumentReader::field(item, "selector");
      std::string selector = reader->scalar(selector_node, "selector").value_or("");
      if (!parent_selector.empty() && !selector.empty()) {
        selector = strCat("(", parent_selector, ") && (", selector, ")");
      } else if (selector.empty()) {
        selector = parent_selector;
      }
      const YAML::Node aspects = DocumentReader::field(item, "aspects");
      if (reader->sequence(aspects, "aspects") && aspects.size() > 0) {
        Rule rule;
        rule.pos = reader->pos(item);
        rule.name = strCat("selector@", rule.pos.str());
        rule.ns = model_.default_namespace;
        rule.match = selector;
        rule.match_pos = selector_node.IsDefined() && !selector_node.IsNull()
                             ? reader->pos(selector_node)
                             : rule.pos;
        for (const YAML::Node& aspect : aspects) {
          translateAspect(aspect, reader, &rule);
        }
        if (!rule.actions.empty()) {
          model_.rules.push_back(std::move(rule));
        }
      }
      translateRules(DocumentReader::field(item, "rules"), selector, reader);
    }
  }

  // The adapter block an aspect names, or nullptr after reporting why there is none.
  AdapterBlock* findAdapter(const YAML::Node& aspect, const std::string& kind,
                            DocumentReader* reader) {
    const YAML::Node adapter_node = DocumentReader::field(aspect, "adapter");
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
      reader->error(
          pos, strCat("aspect of kind '", kind, "' uses adapter '", name, "', which is of kind '",
                      other_kind->kind, "' (declared at ", other_kind->pos.str(), ")"));
    } else {
      reader->error(pos, strCat("aspect of kind '", kind, "' uses adapter '", name,
                                "', but no adapter of that name is declared"));
    }
    return nullptr;
  }

  std::string addInstance(const std::string& base, const std::string& template_name,
                          YAML::Node params, const SourcePos& pos) {
    const std::string suffix = strCat(".", template_name, ".", model_.default_namespace);
    std::string name = strCat(base, suffix);
    for (int n = 2; instance_names_.count(name) != 0; ++n) {
      name = strCat(base, "-", n, suffix);
    }
    instance_names_.insert(name);
    Instance instance;
    instance.name = name;
    instance.ns = model_.default_namespace;
    instance.template_name = template_name;
    instance.params = std::move(params);
    instance.pos = pos;
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
    reader->checkKeys(aspect, {"kind", "adapter", "params", "inputs"}, "an aspect");
    std::optional<std::string> kind = reader->requiredScalar(aspect, "kind", "aspect kind");
    if (!kind) {
      return;
    }
    const YAML::Node kind_node = DocumentReader::field(aspect, "kind");
    static const std::unordered_set<std::string> kKinds = {
        "access-logs", "application-logs", "denials", "lists", "metrics", "quotas"};
    if (kKinds.count(*kind) == 0) {
      if (*kind == "attributes") {
        reader->error(kind_node,
                      "aspect kind 'attributes' is not supported (attribute generation is done by "
                      "the proxy)");
      } else {
        reader->error(kind_node, strCat("unknown aspect kind '", *kind,
                                        "' (expected access-logs, application-logs, denials, "
                                        "lists, metrics or quotas)"));
      }
      return;
    }
    AdapterBlock* adapter = findAdapter(aspect, *kind, reader);
    if (adapter == nullptr) {
      return;
    }
    const YAML::Node params = DocumentReader::field(aspect, "params");
    reader->mapping(params, strCat("the params of a ", *kind, " aspect"));
    const SourcePos pos = reader->pos(aspect);

    Action action;
    action.handler = model_.handlers[adapter->handler].name;
    action.pos = pos;
    const YAML::Node adapter_node = DocumentReader::field(aspect, "adapter");
    action.handler_pos = adapter_node.IsDefined() ? reader->pos(adapter_node) : pos;
    auto add = [&](const std::string& instance, const SourcePos& at) {
      action.instances.push_back(instance);
      action.instance_pos.push_back(at);
    };

    if (*kind == "denials") {
      add(addInstance(adapter->name, "checknothing", YAML::Node(YAML::NodeType::Null), pos), pos);
    } else if (*kind == "lists") {
      translateList(params, adapter, pos, reader, add);
    } else if (*kind == "quotas") {
      translateQuotas(params, adapter, reader, add);
    } else if (*kind == "metrics") {
      translateMetrics(params, adapter, reader, add);
    } else {
      translateLogs(params, adapter, pos, reader, add);
    }
    if (!action.instances.empty()) {
      rule->actions.push_back(std::move(action));
    }
  }

  template <typename Add>
  void translateList(const YAML::Node& params, AdapterBlock* adapter, const SourcePos& pos,
                     DocumentReader* reader, Add& add) {
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
    const YAML::Node blacklist_node = DocumentReader::field(params, "blacklist");
    const bool blacklist = blacklist_node.IsScalar() && blacklist_node.Scalar() == "true";
    const SourcePos blacklist_pos = blacklist_node.IsDefined() ? reader->pos(blacklist_node) : pos;
    if (!adapter->blacklist) {
      adapter->blacklist = blacklist;
      adapter->blacklist_pos = blacklist_pos;
      model_.handlers[adapter->handler].params["blacklist"] = blacklist;
    } else if (*adapter->blacklist != blacklist) {
      reader->error(blacklist_pos,
                    strCat("adapter '", adapter->name, "' is used as a ",
                           blacklist ? "blacklist" : "whitelist", " here but as a ",
                           *adapter->blacklist ? "blacklist" : "whitelist", " at ",
                           adapter->blacklist_pos.str(), "; declare one adapter for each"));
      return;
    }
    YAML::Node instance_params(YAML::NodeType::Map);
    instance_params["value"] = *expression;
    const YAML::Node expression_node = DocumentReader::field(params, "checkExpression");
    add(addInstance(adapter->name, "listentry", instance_params, pos),
        reader->pos(expression_node));
  }

  template <typename Add>
  void translateQuotas(const YAML::Node& params, AdapterBlock* adapter, DocumentReader* reader,
                       Add& add) {
    if (params.IsMap()) {
      reader->checkKeys(params, {"quotas"}, "the params of a quotas aspect");
    }
    const YAML::Node quotas = DocumentReader::field(params, "quotas");
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
      const YAML::Node name_node = DocumentReader::field(quota, "descriptorName");
      auto descriptor = quotas_.find(*descriptor_name);
      if (descriptor == quotas_.end()) {
        reader->error(name_node, strCat("quota descriptor '", *descriptor_name,
                                        "' not found (declare it under quotas:)"));
        continue;
      }
      const YAML::Node labels = DocumentReader::field(quota, "labels");
      reader->mapping(labels, "labels");
      YAML::Node instance_params(YAML::NodeType::Map);
      instance_params["dimensions"] =
          labels.IsMap() ? YAML::Clone(labels) : YAML::Node(YAML::NodeType::Map);
      const SourcePos at = reader->pos(name_node);
      const std::string instance = addInstance(*descriptor_name, "quota", instance_params, at);
      add(instance, at);

      YAML::Node entry(YAML::NodeType::Map);
      entry["name"] = instance;
      const YAML::Node& d = descriptor->second.node;
      for (const YAML::Node& amount :
           {DocumentReader::field(quota, "maxAmount"), DocumentReader::field(d, "maxAmount"),
            DocumentReader::field(d, "rateLimit")}) {
        if (amount.IsScalar()) {
          entry["max_amount"] = amount.Scalar();
          break;
        }
      }
      for (const YAML::Node& duration :
           {DocumentReader::field(quota, "expiration"), DocumentReader::field(d, "expiration"),
            DocumentReader::field(d, "validDuration")}) {
        if (duration.IsScalar()) {
          entry["valid_duration"] = duration.Scalar();
          break;
        }
      }
      appendHandlerParam(adapter->handler, "quotas", entry);
    }
  }

  template <typename Add>
  void translateMetrics(const YAML::Node& params, AdapterBlock* adapter, DocumentReader* reader,
                        Add& add) {
    if (params.IsMap()) {
      reader->checkKeys(params, {"metrics"}, "the params of a metrics aspect");
    }
    const YAML::Node metrics = DocumentReader::field(params, "metrics");
    if (!reader->sequence(metrics, "metrics")) {
      return;
    }
    for (const YAML::Node& metric : metrics) {
      if (!reader->mapping(metric, "a metric") || !metric.IsMap()) {
        continue;
      }
      reader->checkKeys(metric, {"descriptorName", "value", "labels"},
                        "a metric of a metrics aspect");
      std::optional<std::string> descriptor_name =
          reader->requiredScalar(metric, "descriptorName", "descriptorName of a metric");
      std::optional<std::string> value =
          reader->requiredScalar(metric, "value", "value of a metric");
      if (!descriptor_name || !value) {
        continue;
      }
      const YAML::Node name_node = DocumentReader::field(metric, "descriptorName");
      auto descriptor = metrics_.find(*descriptor_name);
      if (descriptor == metrics_.end()) {
        reader->error(name_node, strCat("metric descriptor '", *descriptor_name,
                                        "' not found (declare it under metrics:)"));
        continue;
      }
      const YAML::Node labels = DocumentReader::field(metric, "labels");
      reader->mapping(labels, "labels");
      YAML::Node instance_params(YAML::NodeType::Map);
      instance_params["value"] = *value;
      instance_params["dimensions"] =
          labels.IsMap() ? YAML::Clone(labels) : YAML::Node(YAML::NodeType::Map);
      const SourcePos at = reader->pos(name_node);
      const std::string instance = addInstance(*descriptor_name, "metric", instance_params, at);
      add(instance, at);

      const YAML::Node& d = descriptor->second.node;
      YAML::Node entry(YAML::NodeType::Map);
      entry["name"] = *descriptor_name;
      entry["instance_name"] = instance;
      const std::string kind = metricKindName(DocumentReader::field(d, "kind"));
      if (!kind.empty()) {
        entry["kind"] = kind;
      }
      YAML::Node label_names(YAML::NodeType::Sequence);
      const YAML::Node descriptor_labels = DocumentReader::field(d, "labels");
      for (const auto& label : descriptor_labels.IsMap() ? descriptor_labels : labels) {
        if (label.first.IsScalar()) {
          label_names.push_back(label.first.Scalar());
        }
      }
      entry["label_names"] = label_names;
      const YAML::Node buckets = DocumentReader::field(d, "buckets");
      if (buckets.IsMap()) {
        entry["buckets"] = convertBuckets(buckets);
      }
      appendHandlerParam(adapter->handler, "metrics", entry);
    }
  }

  template <typename Add>
  void translateLogs(const YAML::Node& params, AdapterBlock* adapter, const SourcePos& pos,
                     DocumentReader* reader, Add& add) {
    if (params.IsMap()) {
      reader->checkKeys(params, {"logName", "log", "logs"}, "the params of a logs aspect");
    }
    const std::string log_name =
        reader->scalar(DocumentReader::field(params, "logName"), "logName").value_or("");
    std::vector<YAML::Node> logs;
    const YAML::Node log = DocumentReader::field(params, "log");
    if (reader->mapping(log, "log")) {
      logs.push_back(log);
    }
    const YAML::Node list = DocumentReader::field(params, "logs");
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
                         "timestampFormat"},
                        "a log of a logs aspect");
      YAML::Node variables(YAML::NodeType::Map);
      for (std::string_view key : {"labels", "templateExpressions"}) {
        const YAML::Node map = DocumentReader::field(entry, key);
        if (reader->mapping(map, key)) {
          for (const auto& item : map) {
            if (item.first.IsScalar()) {
              variables[item.first.Scalar()] = YAML::Clone(item.second);
            }
          }
        }
      }
      YAML::Node instance_params(YAML::NodeType::Map);
      instance_params["variables"] = variables;
      const YAML::Node severity = DocumentReader::field(entry, "severity");
      instance_params["severity"] = severity.IsScalar() ? severity.Scalar() : "\"INFO\"";
      const YAML::Node timestamp = DocumentReader::field(entry, "timestamp");
      instance_params["timestamp"] = timestamp.IsScalar() ? timestamp.Scalar() : "request.time";
      std::string base = log_name;
      if (base.empty()) {
        base = reader->scalar(DocumentReader::field(entry, "descriptorName"), "descriptorName")
                   .value_or(adapter->name);
      }
      const SourcePos at = reader->pos(entry);
      add(addInstance(base, "logentry", instance_params, at), at);
    }
  }

  LoadResult* result_;
  ConfigModel& model_;
  std::vector<AdapterBlock> adapters_;
  std::unordered_map<std::string, Descriptor> metrics_;
  std::unordered_map<std::string, Descriptor> quotas_;
  std::unordered_map<std::string, Descriptor> logs_;
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
