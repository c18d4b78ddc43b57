// The Istio 1.x model: `kind: handler|instance|rule|attributemanifest` documents, adapter-specific
// handler kinds and template-specific instance kinds, each a Kubernetes-style resource with
// metadata {name, namespace, annotations} and a spec.
#include <algorithm>
#include <array>
#include <cctype>
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "aspects/aspect.h"
#include "base/str_cat.h"
#include "config/descriptor_set.h"
#include "config/document_reader.h"

namespace mixer::config {
namespace {

// Handler kinds named after the adapter that serves them (the spec is the adapter's params).
// `kubernetesenv` loads, and the runtime reports it unavailable (mixer/runtime/config_snapshot.cc);
// `registryenv` is the runtime's in-process attribute generator (attribute_generator.h).
constexpr std::array<std::string_view, 9> kAdapterKinds = {
    "denier", "listchecker", "memquota",      "redisquota", "prometheus",
    "stdio",  "zipkin",      "kubernetesenv", "registryenv"};
// config.istio.io kinds that configure the proxy, not Mixer: skipped.
constexpr std::array<std::string_view, 4> kProxySideKinds = {"QuotaSpec", "QuotaSpecBinding",
                                                             "HTTPAPISpec", "HTTPAPISpecBinding"};

template <size_t N>
bool contains(const std::array<std::string_view, N>& list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

template <size_t N>
std::string joined(const std::array<std::string_view, N>& list) {
  std::string out;
  for (std::string_view s : list) {
    out = out.empty() ? std::string(s) : base::strCat(out, ", ", s);
  }
  return out;
}

// Instance kinds named after their template (the spec is the template's params): every aspect
// kind aspects/ declares.
bool isTemplateKind(std::string_view kind) {
  for (const aspects::Aspect* a : aspects::all()) {
    if (a->name == kind) {
      return true;
    }
  }
  return false;
}

std::string templateKinds() {
  std::string out;
  for (const aspects::Aspect* a : aspects::all()) {
    out = out.empty() ? std::string(a->name) : base::strCat(out, ", ", a->name);
  }
  return out;
}

struct Metadata {
  std::string name;
  std::string ns;
  std::string lang = "cexl";
  SourcePos pos;  // of the name
};

bool readMetadata(const YAML::Node& doc, const std::string& default_namespace,
                  DocumentReader* reader, Metadata* out) {
  const YAML::Node metadata = base::field(doc, "metadata");
  if (!metadata.IsDefined() || metadata.IsNull()) {
    reader->error(reader->keyPos(doc, "kind"), "metadata.name is required");
    return false;
  }
  if (!reader->mapping(metadata, "metadata")) {
    return false;
  }
  std::optional<std::string> name = reader->requiredScalar(metadata, "name", "metadata.name");
  if (!name) {
    return false;
  }
  out->name = *name;
  out->pos = reader->pos(base::field(metadata, "name"));
  std::optional<std::string> ns =
      reader->scalar(base::field(metadata, "namespace"), "metadata.namespace");
  out->ns = ns && !ns->empty() ? *ns : default_namespace;

  const YAML::Node annotations = base::field(metadata, "annotations");
  if (reader->mapping(annotations, "metadata.annotations")) {
    const YAML::Node lang = annotations["policy.istio.io/lang"];
    if (std::optional<std::string> value = reader->scalar(lang, "policy.istio.io/lang")) {
      std::string upper = *value;
      std::transform(upper.begin(), upper.end(), upper.begin(),
                     [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
      if (upper == "CEL") {
        out->lang = "cel";
      } else if (upper == "CEXL" || upper == "COMPAT" || upper.empty()) {
        // COMPAT is CEL evaluated with CEXL's syntax: the syntax is what the loader decides.
        out->lang = "cexl";
      } else {
        reader->error(lang, base::strCat("unknown policy.istio.io/lang '", *value,
                                         "' (expected CEXL, CEL or COMPAT)"));
      }
    }
  }
  return true;
}

// The params of a `kind: handler` / `kind: instance` spec, or the whole spec of a specific kind.
YAML::Node paramsOf(const YAML::Node& node, std::string_view what, DocumentReader* reader) {
  if (!node.IsDefined() || node.IsNull()) {
    return YAML::Node(YAML::NodeType::Null);
  }
  if (!reader->mapping(node, what)) {
    return YAML::Node(YAML::NodeType::Null);
  }
  return node;
}

void loadHeaderOperations(const YAML::Node& list, std::string_view where, DocumentReader* reader,
                          std::vector<HeaderOperation>* out) {
  if (!reader->sequence(list, where)) {
    return;
  }
  for (const YAML::Node& item : list) {
    if (!reader->mapping(item, base::strCat("an entry of ", where)) || !item.IsMap()) {
      continue;
    }
    reader->checkKeys(item, {"name", "values", "operation"}, where);
    HeaderOperation op;
    op.pos = reader->pos(item);
    std::optional<std::string> name = reader->requiredScalar(item, "name", "header name");
    if (!name) {
      continue;
    }
    op.name = *name;
    const YAML::Node values = base::field(item, "values");
    if (reader->sequence(values, "values")) {
      for (const YAML::Node& v : values) {
        if (std::optional<std::string> value = reader->scalar(v, "a header value")) {
          op.values.push_back(*value);
        }
      }
    }
    const YAML::Node operation = base::field(item, "operation");
    if (std::optional<std::string> text = reader->scalar(operation, "operation")) {
      std::string upper = *text;
      std::transform(upper.begin(), upper.end(), upper.begin(),
                     [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
      if (upper == "REPLACE") {
        op.op = HeaderOperation::Op::Replace;
      } else if (upper == "REMOVE") {
        op.op = HeaderOperation::Op::Remove;
      } else if (upper == "APPEND") {
        op.op = HeaderOperation::Op::Append;
      } else {
        reader->error(operation, base::strCat("unknown header operation '", *text,
                                              "' (expected REPLACE, REMOVE or APPEND)"));
        continue;
      }
    }
    out->push_back(std::move(op));
  }
}

void loadRule(const YAML::Node& spec, const Metadata& meta, const SourcePos& doc_pos,
              DocumentReader* reader, ConfigModel* model) {
  Rule rule;
  rule.name = base::strCat(meta.name, ".rule.", meta.ns);
  rule.ns = meta.ns;
  rule.lang = meta.lang;
  rule.pos = meta.pos;
  const std::string where = base::strCat("rule '", rule.name, "'");
  if (spec.IsMap()) {
    reader->checkKeys(
        spec,
        {"match", "actions", "requestHeaderOperations", "responseHeaderOperations", "sampling"},
        base::strCat("the spec of ", where));
  }
  const YAML::Node match = base::field(spec, "match");
  if (std::optional<std::string> text = reader->scalar(match, "match")) {
    rule.match = *text;
    rule.match_pos = reader->pos(match);
  }
  const YAML::Node actions = base::field(spec, "actions");
  if (reader->sequence(actions, "actions")) {
    for (const YAML::Node& item : actions) {
      if (!reader->mapping(item, "an action") || !item.IsMap()) {
        continue;
      }
      reader->checkKeys(item, {"handler", "instances", "name"},
                        base::strCat("an action of ", where));
      Action action;
      action.pos = reader->pos(item);
      const YAML::Node handler = base::field(item, "handler");
      std::optional<std::string> handler_name = reader->requiredScalar(
          item, "handler", base::strCat("the handler of an action of ", where));
      if (handler_name) {
        action.handler = *handler_name;
        action.handler_pos = reader->pos(handler);
      }
      const YAML::Node instances = base::field(item, "instances");
      if (reader->sequence(instances, "instances")) {
        for (const YAML::Node& instance : instances) {
          std::optional<std::string> name = reader->scalar(instance, "an instance reference");
          if (name && !name->empty()) {
            action.instances.push_back(*name);
            action.instance_pos.push_back(reader->pos(instance));
          } else if (instance.IsNull() || (instance.IsScalar() && instance.Scalar().empty())) {
            reader->error(instance, "an instance reference must not be empty");
          }
        }
      }
      const bool written = instances.IsDefined() && !instances.IsNull();
      if (action.instances.empty() &&
          (!written || (instances.IsSequence() && instances.size() == 0))) {
        reader->error(written ? reader->pos(instances) : action.pos,
                      base::strCat("an action of ", where, " has no instances"));
      }
      if (std::optional<std::string> name =
              reader->scalar(base::field(item, "name"), "action name")) {
        action.name = *name;
      }
      if (handler_name) {
        rule.actions.push_back(std::move(action));
      }
    }
  }
  loadHeaderOperations(base::field(spec, "requestHeaderOperations"), "requestHeaderOperations",
                       reader, &rule.request_header_operations);
  loadHeaderOperations(base::field(spec, "responseHeaderOperations"), "responseHeaderOperations",
                       reader, &rule.response_header_operations);
  if ((!actions.IsDefined() || actions.IsNull() || (actions.IsSequence() && actions.size() == 0)) &&
      rule.request_header_operations.empty() && rule.response_header_operations.empty()) {
    reader->error(doc_pos, base::strCat(where, " has no actions"));
  }
  model->rules.push_back(std::move(rule));
}

// A `kind: template` (spec.descriptor: the template's FileDescriptorSet, base64) or `kind:
// adapter` (spec: description, session_based, templates[], config: the adapter config's
// FileDescriptorSet) document of an out-of-process adapter: checked (the descriptors decode and
// build) and kept in the model, for the handlers with a `connection` that name the adapter
// (mixer/adapter_host/remote_adapter.h).
void loadDescriptorDocument(const std::string& kind, const YAML::Node& spec,
                            const std::string& full_name, const Metadata& meta,
                            DocumentReader* reader, LoadResult* result) {
  const std::string where = base::strCat(kind, " '", full_name, "'");
  if (!spec.IsMap()) {
    reader->error(meta.pos, base::strCat(where, " has no spec"));
    return;
  }
  std::string_view descriptor_key = "descriptor";
  AdapterDescriptor adapter;
  if (kind == "template") {
    reader->checkKeys(spec, {"descriptor"}, base::strCat("the spec of ", where));
  } else {
    reader->checkKeys(
        spec, {"name", "description", "sessionBased", "session_based", "templates", "config"},
        base::strCat("the spec of ", where));
    descriptor_key = "config";
    const YAML::Node templates = base::field(spec, "templates");
    if (reader->sequence(templates, "templates")) {
      for (const YAML::Node& t : templates) {
        if (std::optional<std::string> name = reader->scalar(t, "a template name")) {
          adapter.templates.push_back(*name);
        }
      }
    }
    if (std::optional<std::string> d =
            reader->scalar(base::field(spec, "description"), "description")) {
      adapter.description = *d;
    }
    for (const char* key : {"sessionBased", "session_based"}) {
      const YAML::Node sb = base::field(spec, key);
      if (std::optional<std::string> v = reader->scalar(sb, key)) {
        adapter.session_based = *v == "true";
      }
    }
  }
  const YAML::Node descriptor = base::field(spec, descriptor_key);
  std::optional<std::string> text;
  if (kind == "template") {
    text = reader->requiredScalar(spec, descriptor_key, base::strCat("spec.descriptor of ", where));
    if (!text) {
      return;
    }
  } else {
    text = reader->scalar(descriptor, "config");
  }
  std::string bytes;
  if (text && !text->empty()) {
    std::vector<std::string> messages;
    std::string error;
    if (!checkDescriptorSet(*text, &messages, &error)) {
      reader->error(descriptor, base::strCat(where, ": spec.", descriptor_key, ": ", error));
      return;
    }
    decodeDescriptorSet(*text, &bytes);
  }
  if (kind == "template") {
    TemplateDescriptor t;
    t.name = meta.name;
    t.ns = meta.ns;
    t.descriptor_set = std::move(bytes);
    t.pos = meta.pos;
    result->model.templates.push_back(std::move(t));
  } else {
    adapter.name = meta.name;
    adapter.ns = meta.ns;
    adapter.config_descriptor_set = std::move(bytes);
    adapter.pos = meta.pos;
    result->model.adapters.push_back(std::move(adapter));
  }
  ++result->descriptor_documents;
}

// `connection: {address: HOST:PORT, timeout}` of a handler served by an out-of-process adapter.
void loadConnection(const YAML::Node& connection, const std::string& full_name,
                    DocumentReader* reader, Handler* handler) {
  if (!connection.IsDefined() || connection.IsNull() ||
      !reader->mapping(connection, "connection") || !connection.IsMap()) {
    return;
  }
  reader->checkKeys(connection, {"address", "timeout", "authentication"},
                    base::strCat("the connection of handler '", full_name, "'"));
  handler->connection_pos = reader->pos(connection);
  std::optional<std::string> address =
      reader->requiredScalar(connection, "address", "connection.address");
  if (!address) {
    return;
  }
  if (address->empty() || address->find(':') == std::string::npos) {
    reader->error(base::field(connection, "address"),
                  base::strCat("handler '", full_name, "': connection.address '", *address,
                               "' is not HOST:PORT"));
    return;
  }
  handler->connection_address = *address;
  const YAML::Node timeout = base::field(connection, "timeout");
  if (std::optional<std::string> t = reader->scalar(timeout, "connection.timeout")) {
    absl::Duration d;
    if (!absl::ParseDuration(*t, &d) || d < absl::ZeroDuration()) {
      reader->error(timeout, base::strCat("handler '", full_name, "': connection.timeout '", *t,
                                          "' is not a duration such as 1s or 500ms"));
    } else {
      handler->connection_timeout = d;
    }
  }
  const YAML::Node auth = base::field(connection, "authentication");
  if (auth.IsDefined() && !auth.IsNull()) {
    // Sending the calls in plaintext instead would silently drop what the operator asked for.
    reader->error(auth,
                  base::strCat("handler '", full_name,
                               "': connection.authentication (TLS or mutual TLS to the adapter) "
                               "is not supported by this mixs; the connection is plaintext gRPC"));
  }
}

}  // namespace

void loadIstioDocument(const YAML::Node& doc, DocumentReader* reader, LoadResult* result) {
  const YAML::Node kind_node = base::field(doc, "kind");
  std::optional<std::string> kind_value = reader->scalar(kind_node, "kind");
  if (!kind_value || kind_value->empty()) {
    if (!kind_node.IsDefined() || kind_node.IsNull() || kind_node.IsScalar()) {
      reader->error(reader->pos(doc), "kind is required");
    }
    return;
  }
  const std::string& kind = *kind_value;
  if (contains(kProxySideKinds, kind)) {
    ++result->skipped_documents;
    return;
  }
  const bool known = kind == "handler" || kind == "instance" || kind == "rule" ||
                     kind == "attributemanifest" || kind == "template" || kind == "adapter" ||
                     contains(kAdapterKinds, kind) || isTemplateKind(kind);
  if (!known) {
    reader->error(
        kind_node,
        base::strCat(
            "unknown kind '", kind,
            "' (expected handler, instance, rule, attributemanifest, template, adapter, an "
            "adapter kind (",
            joined(kAdapterKinds), ") or a template kind (", templateKinds(), "))"));
    return;
  }
  ConfigModel& model = result->model;
  Metadata meta;
  if (!readMetadata(doc, model.default_namespace, reader, &meta)) {
    return;
  }
  // The Istio 0.2 reference's rule example writes its spec as a list of one rule: read as that
  // rule (only then; any other list is an error).
  const YAML::Node written_spec = base::field(doc, "spec");
  const bool listed_rule = kind == "rule" && written_spec.IsSequence() &&
                           written_spec.size() == 1 && written_spec[0].IsMap();
  const YAML::Node spec = listed_rule ? written_spec[0] : written_spec;
  if (spec.IsDefined() && !spec.IsNull() && !reader->mapping(spec, "spec")) {
    return;
  }
  const std::string full_name = base::strCat(meta.name, ".", kind, ".", meta.ns);

  if (kind == "template" || kind == "adapter") {
    loadDescriptorDocument(kind, spec, full_name, meta, reader, result);
  } else if (kind == "attributemanifest") {
    if (spec.IsMap()) {
      reader->checkKeys(spec, {"attributes", "name", "revision"},
                        base::strCat("the spec of attributemanifest '", full_name, "'"));
    }
    addManifestAttributes(base::field(spec, "attributes"), reader, &model);
  } else if (kind == "rule") {
    loadRule(spec, meta, meta.pos, reader, &model);
  } else if (kind == "handler" || contains(kAdapterKinds, kind)) {
    Handler handler;
    handler.name = full_name;
    handler.ns = meta.ns;
    handler.pos = meta.pos;
    if (kind == "handler") {
      reader->checkKeys(spec, {"compiledAdapter", "adapter", "params", "connection"},
                        base::strCat("the spec of handler '", full_name, "'"));
      YAML::Node adapter = base::field(spec, "compiledAdapter");
      if (!adapter.IsDefined() || adapter.IsNull()) {
        adapter = base::field(spec, "adapter");
      }
      std::optional<std::string> name = reader->scalar(adapter, "adapter");
      if (!name || name->empty()) {
        if (!adapter.IsDefined() || adapter.IsNull() || adapter.IsScalar()) {
          reader->error(
              spec.IsMap() ? reader->keyPos(doc, "spec") : meta.pos,
              base::strCat("handler '", full_name, "' has no compiledAdapter (or adapter)"));
        }
        return;
      }
      handler.adapter = *name;
      handler.params = paramsOf(base::field(spec, "params"), "params", reader);
      loadConnection(base::field(spec, "connection"), full_name, reader, &handler);
    } else {
      handler.adapter = kind;
      handler.params = paramsOf(spec, "spec", reader);
    }
    model.handlers.push_back(std::move(handler));
  } else {
    Instance instance;
    instance.name = full_name;
    instance.ns = meta.ns;
    instance.pos = meta.pos;
    instance.lang = meta.lang;
    if (kind == "instance") {
      reader->checkKeys(spec, {"compiledTemplate", "template", "params", "attributeBindings"},
                        base::strCat("the spec of instance '", full_name, "'"));
      YAML::Node tmpl = base::field(spec, "compiledTemplate");
      if (!tmpl.IsDefined() || tmpl.IsNull()) {
        tmpl = base::field(spec, "template");
      }
      std::optional<std::string> name = reader->scalar(tmpl, "template");
      if (!name || name->empty()) {
        if (!tmpl.IsDefined() || tmpl.IsNull() || tmpl.IsScalar()) {
          reader->error(
              spec.IsMap() ? reader->keyPos(doc, "spec") : meta.pos,
              base::strCat("instance '", full_name, "' has no compiledTemplate (or template)"));
        }
        return;
      }
      instance.template_name = *name;
      instance.params = paramsOf(base::field(spec, "params"), "params", reader);
      // An attribute generator's bindings sit beside its params; the runtime takes them from
      // the params, as in the template-kind form (`kind: kubernetes`).
      const YAML::Node bindings = base::field(spec, "attributeBindings");
      if (bindings.IsDefined() && !bindings.IsNull()) {
        YAML::Node params(YAML::NodeType::Map);
        if (instance.params.IsMap()) {
          for (const auto& kv : instance.params) {
            params.force_insert(kv.first, kv.second);
          }
        }
        params.force_insert(YAML::Node("attribute_bindings"), bindings);
        instance.params.reset(params);
      }
    } else {
      instance.template_name = kind;
      instance.params = paramsOf(spec, "spec", reader);
    }
    model.instances.push_back(std::move(instance));
  }
}

}  // namespace mixer::config
