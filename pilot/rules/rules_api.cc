#include "pilot/rules/rules_api.h"

#include <algorithm>
#include <chrono>
#include <ctime>

#include "base/log.h"

namespace pilot::rules {
namespace {

constexpr char kRequestSource[] = "request";
constexpr size_t kMaxEvents = 4096;

YAML::Node text(const std::string& s) {
  YAML::Node n(s);
  n.SetTag("!");
  return n;
}

std::string scalarAt(const YAML::Node& map, const char* key) {
  if (!map.IsMap()) return "";
  const YAML::Node v = map[key];
  return v.IsDefined() && v.IsScalar() ? v.Scalar() : "";
}

bool wantsYaml(const ApiRequest& r) {
  for (const auto& [k, v] : r.headers) {
    if (k == "accept" && v.find("yaml") != std::string::npos) return true;
  }
  return false;
}

std::string objectKey(const KindInfo* kind, const std::string& ns, const std::string& name) {
  return std::string(kind->plural) + "/" + ns + "/" + name;
}

std::string nowRfc3339() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

YAML::Node statusNode(int code, const std::string& reason, const std::string& message) {
  YAML::Node s;
  s["kind"] = text("Status");
  s["apiVersion"] = text("v1");
  s["metadata"] = YAML::Node(YAML::NodeType::Map);
  s["status"] = text(code < 300 ? "Success" : "Failure");
  s["message"] = text(message);
  s["reason"] = text(reason);
  s["code"] = code;
  return s;
}

ApiResponse statusResponse(int code, const std::string& reason, const std::string& message) {
  return ApiResponse{code, "application/json", emitJson(statusNode(code, reason, message)) + "\n"};
}

}  // namespace

RulesApi::RulesApi(std::unique_ptr<RulesStore> store, routing::ParseOptions parse,
                   const security::tls::CallerGate* gate, std::function<void()> on_write)
    : store_(std::move(store)),
      parse_(std::move(parse)),
      gate_(gate),
      on_write_(std::move(on_write)) {
  poller_ = std::thread([this] { poll(); });
}

RulesApi::~RulesApi() {
  stop();
  if (poller_.joinable()) poller_.join();
}

void RulesApi::stop() {
  std::lock_guard<std::mutex> lock(mu_);
  stopping_ = true;
  cv_.notify_all();
}

std::string RulesApi::queryParam(const std::string& query, const std::string& name) {
  size_t pos = 0;
  while (pos <= query.size()) {
    const size_t amp = std::min(query.find('&', pos), query.size());
    const std::string part = query.substr(pos, amp - pos);
    const size_t eq = part.find('=');
    if (part.substr(0, eq) == name) return eq == std::string::npos ? "true" : part.substr(eq + 1);
    pos = amp + 1;
  }
  return "";
}

bool RulesApi::parseTarget(const std::string& path, Target* t, ApiResponse* error) {
  std::vector<std::string> parts;
  size_t pos = 1;
  if (path.empty() || path[0] != '/') {
    *error = statusResponse(404, "NotFound", "the path must start with /apis/networking.istio.io/");
    return false;
  }
  while (pos <= path.size()) {
    const size_t slash = std::min(path.find('/', pos), path.size());
    parts.push_back(path.substr(pos, slash - pos));
    pos = slash + 1;
  }
  if (!parts.empty() && parts.back().empty()) parts.pop_back();  // a trailing slash
  const auto notFound = [&](const std::string& why) {
    *error = statusResponse(404, "NotFound", why);
    return false;
  };
  if (parts.size() < 3 || parts[0] != "apis" || parts[1] != kGroup) {
    return notFound("not found: the Rules API is under /apis/networking.istio.io/v1beta1/");
  }
  if (!isVersion(parts[2])) {
    return notFound("unknown version " + parts[2] +
                    " of networking.istio.io (v1alpha3, v1beta1, v1)");
  }
  t->version = parts[2];
  if (parts.size() == 3) {
    t->discovery = true;
    return true;
  }
  std::string plural;
  if (parts.size() == 4) {
    plural = parts[3];
  } else if ((parts.size() == 6 || parts.size() == 7) && parts[3] == "namespaces") {
    t->ns = parts[4];
    plural = parts[5];
    if (!isNamespaceName(t->ns)) return notFound("namespace \"" + t->ns + "\" is not a valid name");
    if (parts.size() == 7) {
      t->name = parts[6];
      if (!isObjectName(t->name)) return notFound("\"" + t->name + "\" is not a valid object name");
    }
  } else {
    return notFound("not found: want .../namespaces/{namespace}/{resource}[/{name}]");
  }
  t->kind = kindByPlural(plural);
  if (t->kind == nullptr) {
    return notFound("the server does not serve \"" + plural +
                    "\" (virtualservices, destinationrules, serviceentries)");
  }
  return true;
}

bool RulesApi::isWatch(const ApiRequest& r) {
  const std::string w = queryParam(r.query, "watch");
  return r.method == "GET" && (w == "true" || w == "1");
}

bool RulesApi::admit(const ApiRequest& request, bool write, ApiResponse* refusal) const {
  if (gate_ == nullptr) return true;
  security::tls::Caller caller;
  std::string why;
  if (gate_->admitIdentity(request.authenticated, request.principal,
                           write ? security::tls::Api::kRulesWrite : security::tls::Api::kRules,
                           &caller, request.peer, &why)) {
    return true;
  }
  *refusal = statusResponse(403, "Forbidden", why);
  return false;
}

std::string RulesApi::render(const ApiRequest& request, const YAML::Node& node) const {
  return wantsYaml(request) ? emitYaml(node) : emitJson(node, 2) + "\n";
}

YAML::Node RulesApi::present(const StoredObject& o, const std::string& version) const {
  YAML::Node doc = YAML::Clone(o.doc);
  doc["apiVersion"] = text(std::string(kGroup) + "/" + version);
  if (!doc["metadata"].IsMap()) doc["metadata"] = YAML::Node(YAML::NodeType::Map);
  doc["metadata"]["namespace"] = text(o.ns);
  doc["metadata"]["resourceVersion"] = text(o.resource_version);
  return doc;
}

ApiResponse RulesApi::handle(const ApiRequest& request) {
  Target target;
  ApiResponse error;
  if (!parseTarget(request.path, &target, &error)) return error;
  const bool write = request.method == "POST" || request.method == "PUT" ||
                     request.method == "DELETE" || request.method == "PATCH";
  if (!admit(request, write, &error)) return error;
  if (target.discovery) {
    if (request.method != "GET") return statusResponse(405, "MethodNotAllowed", "use GET");
    YAML::Node list;
    list["kind"] = text("APIResourceList");
    list["apiVersion"] = text("v1");
    list["groupVersion"] = text(std::string(kGroup) + "/" + target.version);
    list["resources"] = YAML::Node(YAML::NodeType::Sequence);
    for (const KindInfo& k : kinds()) {
      YAML::Node r;
      r["name"] = text(std::string(k.plural));
      r["singularName"] = text(std::string(k.singular));
      r["namespaced"] = true;
      r["kind"] = text(std::string(k.kind));
      r["shortNames"].push_back(text(std::string(k.short_name)));
      for (const char* verb : {"create", "delete", "get", "list", "update", "watch"}) {
        r["verbs"].push_back(text(verb));
      }
      list["resources"].push_back(r);
    }
    return ApiResponse{200, wantsYaml(request) ? "application/yaml" : "application/json",
                       render(request, list)};
  }
  for (const char* selector : {"labelSelector", "fieldSelector"}) {
    if (!queryParam(request.query, selector).empty()) {
      // Ignoring a selector would answer with more than was asked for.
      return statusResponse(400, "BadRequest",
                            std::string(selector) + " is not supported by this server");
    }
  }
  if (target.name.empty()) {
    if (request.method == "GET") {
      if (isWatch(request)) {
        return statusResponse(400, "BadRequest", "a watch is served as a stream");
      }
      return list(request, target);
    }
    if (request.method == "POST") {
      if (target.ns.empty()) {
        return statusResponse(
            405, "MethodNotAllowed",
            "POST to .../namespaces/{namespace}/" + std::string(target.kind->plural));
      }
      return put(request, target, true);
    }
    return statusResponse(405, "MethodNotAllowed",
                          request.method + " is not allowed on a collection (GET, POST)");
  }
  if (request.method == "GET") return get(request, target);
  if (request.method == "PUT") return put(request, target, false);
  if (request.method == "DELETE") return remove(request, target);
  return statusResponse(405, "MethodNotAllowed",
                        request.method +
                            " is not supported (GET, PUT, DELETE; PATCH is not: "
                            "replace the object with PUT)");
}

ApiResponse RulesApi::list(const ApiRequest& request, const Target& target) {
  std::vector<StoredObject> objects;
  std::vector<Source> sources;
  std::string error;
  if (!store_->load(parse_.default_namespace, &objects, &sources, &error)) {
    return statusResponse(503, "ServiceUnavailable", store_->describe() + ": " + error);
  }
  std::sort(objects.begin(), objects.end(), [](const StoredObject& a, const StoredObject& b) {
    return std::tie(a.ns, a.name) < std::tie(b.ns, b.name);
  });
  YAML::Node out;
  out["apiVersion"] = text(std::string(kGroup) + "/" + target.version);
  out["kind"] = text(std::string(target.kind->kind) + "List");
  out["metadata"] = YAML::Node(YAML::NodeType::Map);
  out["items"] = YAML::Node(YAML::NodeType::Sequence);
  for (const StoredObject& o : objects) {
    if (o.kind != target.kind || (!target.ns.empty() && o.ns != target.ns)) continue;
    out["items"].push_back(present(o, target.version));
  }
  return ApiResponse{200, wantsYaml(request) ? "application/yaml" : "application/json",
                     render(request, out)};
}

ApiResponse RulesApi::get(const ApiRequest& request, const Target& target) {
  std::vector<StoredObject> objects;
  std::vector<Source> sources;
  std::string error;
  if (!store_->load(parse_.default_namespace, &objects, &sources, &error)) {
    return statusResponse(503, "ServiceUnavailable", store_->describe() + ": " + error);
  }
  for (const StoredObject& o : objects) {
    if (o.kind == target.kind && o.ns == target.ns && o.name == target.name) {
      return ApiResponse{200, wantsYaml(request) ? "application/yaml" : "application/json",
                         render(request, present(o, target.version))};
    }
  }
  return statusResponse(404, "NotFound",
                        std::string(target.kind->plural) + "." + std::string(kGroup) + " \"" +
                            target.name + "\" not found");
}

bool RulesApi::validate(const std::vector<Source>& sources, const StoredObject* existing,
                        const std::string* replacement, const YAML::Node* replacement_doc,
                        std::vector<std::pair<std::string, model::ConfigError>>* causes) {
  std::vector<model::ConfigError> errors;
  routing::RoutingConfig cfg;
  for (const Source& s : sources) {
    if (existing != nullptr && s.location == existing->location) continue;
    routing::parseRoutingYaml(s.text, s.name, parse_, &cfg, &errors);
  }
  if (replacement != nullptr) {
    routing::parseRoutingYaml(*replacement, kRequestSource, parse_, &cfg, &errors);
  }
  routing::validateRouting(cfg, &errors);
  for (const model::ConfigError& e : errors) {
    if (e.pos.file == kRequestSource && replacement_doc != nullptr) {
      causes->emplace_back(fieldPath(*replacement_doc, e), e);
    } else {
      causes->emplace_back("", e);
    }
  }
  return errors.empty();
}

ApiResponse RulesApi::put(const ApiRequest& request, const Target& target, bool create) {
  const std::string what = std::string(target.kind->kind) + "." + std::string(kGroup);
  YAML::Node doc;
  std::string error;
  if (!decodeDocument(request.body, &doc, &error)) {
    return statusResponse(400, "BadRequest", "cannot decode the body: " + error);
  }
  const std::string kind = scalarAt(doc, "kind");
  if (kind != target.kind->kind) {
    return statusResponse(400, "BadRequest",
                          "the body's kind \"" + kind + "\" does not match the path's " +
                              std::string(target.kind->plural) + " (want " +
                              std::string(target.kind->kind) + ")");
  }
  if (!doc["metadata"].IsDefined() || doc["metadata"].IsNull()) {
    doc["metadata"] = YAML::Node(YAML::NodeType::Map);
  }
  YAML::Node meta = doc["metadata"];
  if (!meta.IsMap()) {
    return statusResponse(400, "BadRequest", "metadata must be a map");
  }
  std::string name = scalarAt(meta, "name");
  if (create) {
    if (name.empty()) {
      ApiResponse r =
          statusResponse(422, "Invalid", what + " is invalid: metadata.name: Required value");
      return r;
    }
  } else {
    if (name.empty()) {
      meta["name"] = text(target.name);
      name = target.name;
    } else if (name != target.name) {
      return statusResponse(400, "BadRequest",
                            "the name of the object (" + name +
                                ") does not match the name on the URL (" + target.name + ")");
    }
  }
  if (!isObjectName(name)) {
    return statusResponse(422, "Invalid",
                          what + " \"" + name +
                              "\" is invalid: metadata.name: Invalid value: "
                              "a lowercase RFC 1123 subdomain must consist of lower case "
                              "alphanumeric characters, '-' or '.', and must start and end with "
                              "an alphanumeric character");
  }
  const std::string ns = scalarAt(meta, "namespace");
  if (!ns.empty() && ns != target.ns) {
    return statusResponse(400, "BadRequest",
                          "the namespace of the provided object (" + ns +
                              ") does not match the namespace sent on the request (" + target.ns +
                              ")");
  }
  const std::string wanted_version = scalarAt(meta, "resourceVersion");
  const bool dry_run = queryParam(request.query, "dryRun") == "All";

  std::unique_lock<std::mutex> lock(write_mu_);
  std::vector<StoredObject> objects;
  std::vector<Source> sources;
  if (!store_->load(parse_.default_namespace, &objects, &sources, &error)) {
    return statusResponse(503, "ServiceUnavailable", store_->describe() + ": " + error);
  }
  const StoredObject* existing = nullptr;
  for (const StoredObject& o : objects) {
    if (o.kind == target.kind && o.ns == target.ns && o.name == name) existing = &o;
  }
  if (create && existing != nullptr) {
    return statusResponse(409, "AlreadyExists", what + " \"" + name + "\" already exists");
  }
  if (!create && existing == nullptr) {
    return statusResponse(404, "NotFound", what + " \"" + name + "\" not found");
  }
  if (existing != nullptr && !wanted_version.empty() &&
      wanted_version != existing->resource_version) {
    return statusResponse(409, "Conflict",
                          "Operation cannot be fulfilled on " + std::string(target.kind->plural) +
                              "." + std::string(kGroup) + " \"" + name +
                              "\": the object has been modified; please apply your changes to "
                              "the latest version and try again");
  }
  if (existing != nullptr && existing->shared) {
    return statusResponse(409, "Conflict",
                          what + " \"" + name + "\" is defined in " + existing->location +
                              " together with other documents: change it in that file");
  }
  // The stored document: the object as sent, in its namespace, with its generation bumped.
  YAML::Node stored = YAML::Clone(doc);
  stored["metadata"]["namespace"] = text(target.ns);
  stored["metadata"].remove("resourceVersion");
  int64_t generation = 0;
  std::string created = nowRfc3339();
  if (existing != nullptr) {
    try {
      generation = std::stoll(scalarAt(existing->doc["metadata"], "generation"));
    } catch (...) {
      generation = 0;
    }
    if (const std::string c = scalarAt(existing->doc["metadata"], "creationTimestamp");
        !c.empty()) {
      created = c;
    }
  }
  stored["metadata"]["generation"] = generation + 1;
  stored["metadata"]["creationTimestamp"] = text(created);
  const std::string stored_text = emitYaml(stored);
  YAML::Node reparsed;
  try {
    reparsed = YAML::Load(stored_text);
  } catch (const std::exception& e) {
    return statusResponse(400, "BadRequest", std::string("cannot re-read the object: ") + e.what());
  }
  std::vector<std::pair<std::string, model::ConfigError>> causes;
  if (!validate(sources, existing, &stored_text, &reparsed, &causes)) {
    YAML::Node s = statusNode(422, "Invalid", "");
    std::string message = what + " \"" + name + "\" is invalid: ";
    s["details"]["name"] = text(name);
    s["details"]["group"] = text(std::string(kGroup));
    s["details"]["kind"] = text(std::string(target.kind->plural));
    s["details"]["causes"] = YAML::Node(YAML::NodeType::Sequence);
    for (size_t i = 0; i < causes.size(); ++i) {
      const auto& [field, e] = causes[i];
      YAML::Node c;
      c["reason"] = text("FieldValueInvalid");
      const std::string m =
          field.empty() && e.pos.file != kRequestSource ? model::formatError(e) : e.message;
      c["message"] = text(m);
      c["field"] = text(field);
      s["details"]["causes"].push_back(c);
      message += (i ? "; " : "") + (field.empty() ? m : field + ": " + m);
    }
    s["message"] = text(message);
    return ApiResponse{422, "application/json", emitJson(s) + "\n"};
  }
  StoredObject target_object;
  target_object.kind = target.kind;
  target_object.ns = target.ns;
  target_object.name = name;
  if (existing != nullptr) {
    target_object.location = existing->location;
    target_object.resource_version = existing->resource_version;
  }
  target_object.doc = reparsed;
  if (!dry_run) {
    std::string version;
    const RulesStore::Outcome outcome =
        store_->write(target_object, &stored_text, &version, &error);
    if (outcome == RulesStore::Outcome::kConflict) {
      return statusResponse(409, "Conflict",
                            "Operation cannot be fulfilled on " + std::string(target.kind->plural) +
                                "." + std::string(kGroup) + " \"" + name + "\": " + error +
                                "; please apply your changes to the latest version and try again");
    }
    if (outcome == RulesStore::Outcome::kError) {
      return statusResponse(500, "InternalError", store_->describe() + ": " + error);
    }
    target_object.resource_version = version;
    lock.unlock();
    MIXER_LOG(Info) << "rules API: " << (create ? "created " : "replaced ")
                    << objectKey(target.kind, target.ns, name)
                    << (request.principal.empty() ? "" : " for " + request.principal);
    {
      std::lock_guard<std::mutex> l(mu_);
      dirty_ = true;
      cv_.notify_all();
    }
    if (on_write_) on_write_();
  }
  return ApiResponse{create ? 201 : 200,
                     wantsYaml(request) ? "application/yaml" : "application/json",
                     render(request, present(target_object, target.version))};
}

ApiResponse RulesApi::remove(const ApiRequest& request, const Target& target) {
  const std::string what = std::string(target.kind->kind) + "." + std::string(kGroup);
  std::string wanted_version;
  if (!request.body.empty()) {
    // DeleteOptions: {"preconditions": {"resourceVersion": "..."}}.
    YAML::Node options;
    std::string error;
    if (!decodeDocument(request.body, &options, &error)) {
      return statusResponse(400, "BadRequest", "cannot decode DeleteOptions: " + error);
    }
    wanted_version = scalarAt(options["preconditions"], "resourceVersion");
  }
  const bool dry_run = queryParam(request.query, "dryRun") == "All";
  std::unique_lock<std::mutex> lock(write_mu_);
  std::vector<StoredObject> objects;
  std::vector<Source> sources;
  std::string error;
  if (!store_->load(parse_.default_namespace, &objects, &sources, &error)) {
    return statusResponse(503, "ServiceUnavailable", store_->describe() + ": " + error);
  }
  const StoredObject* existing = nullptr;
  for (const StoredObject& o : objects) {
    if (o.kind == target.kind && o.ns == target.ns && o.name == target.name) existing = &o;
  }
  if (existing == nullptr) {
    return statusResponse(404, "NotFound", what + " \"" + target.name + "\" not found");
  }
  if (!wanted_version.empty() && wanted_version != existing->resource_version) {
    return statusResponse(409, "Conflict",
                          "Operation cannot be fulfilled on " + std::string(target.kind->plural) +
                              "." + std::string(kGroup) + " \"" + target.name +
                              "\": the object has been modified (precondition failed)");
  }
  if (existing->shared) {
    return statusResponse(409, "Conflict",
                          what + " \"" + target.name + "\" is defined in " + existing->location +
                              " together with other documents: remove it from that file");
  }
  std::vector<std::pair<std::string, model::ConfigError>> causes;
  if (!validate(sources, existing, nullptr, nullptr, &causes)) {
    std::string message = what + " \"" + target.name +
                          "\" cannot be deleted: the configuration without it is invalid: ";
    for (size_t i = 0; i < causes.size(); ++i) {
      message += (i ? "; " : "") + model::formatError(causes[i].second);
    }
    return statusResponse(422, "Invalid", message);
  }
  if (!dry_run) {
    std::string version;
    const RulesStore::Outcome outcome = store_->write(*existing, nullptr, &version, &error);
    if (outcome == RulesStore::Outcome::kConflict) {
      return statusResponse(409, "Conflict",
                            "Operation cannot be fulfilled on " + std::string(target.kind->plural) +
                                "." + std::string(kGroup) + " \"" + target.name + "\": " + error);
    }
    if (outcome == RulesStore::Outcome::kError) {
      return statusResponse(500, "InternalError", store_->describe() + ": " + error);
    }
    lock.unlock();
    MIXER_LOG(Info) << "rules API: deleted " << objectKey(target.kind, target.ns, target.name)
                    << (request.principal.empty() ? "" : " for " + request.principal);
    {
      std::lock_guard<std::mutex> l(mu_);
      dirty_ = true;
      cv_.notify_all();
    }
    if (on_write_) on_write_();
  }
  YAML::Node s = statusNode(200, "", "");
  s.remove("reason");
  s.remove("message");
  s["details"]["name"] = text(target.name);
  s["details"]["group"] = text(std::string(kGroup));
  s["details"]["kind"] = text(std::string(target.kind->plural));
  return ApiResponse{200, wantsYaml(request) ? "application/yaml" : "application/json",
                     render(request, s)};
}

void RulesApi::refreshLocked() {
  // mu_ is held; the store is read without it.
  mu_.unlock();
  std::vector<StoredObject> objects;
  std::vector<Source> sources;
  std::string error;
  const bool ok = store_->load(parse_.default_namespace, &objects, &sources, &error);
  mu_.lock();
  if (!ok) return;
  std::map<std::string, StoredObject> now;
  for (StoredObject& o : objects) {
    o.text = emitYaml(o.doc);
    o.doc = YAML::Node();
    std::string key = objectKey(o.kind, o.ns, o.name);
    now.emplace(std::move(key), std::move(o));  // the first definition wins, as in listing
  }
  if (baseline_) {
    for (const auto& [key, o] : now) {
      auto it = seen_.find(key);
      if (it == seen_.end()) {
        events_.push_back(Event{next_seq_++, "ADDED", o});
      } else if (it->second.resource_version != o.resource_version) {
        events_.push_back(Event{next_seq_++, "MODIFIED", o});
      }
    }
    for (const auto& [key, o] : seen_) {
      if (now.find(key) == now.end()) events_.push_back(Event{next_seq_++, "DELETED", o});
    }
    while (events_.size() > kMaxEvents) events_.pop_front();
  }
  seen_ = std::move(now);
  baseline_ = true;
  cv_.notify_all();
}

void RulesApi::poll() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    if (watchers_ == 0) {
      baseline_ = false;  // nobody watches: no need to follow changes
      cv_.wait(lock, [this] { return stopping_ || watchers_ > 0; });
      continue;
    }
    cv_.wait_for(lock, std::chrono::milliseconds(250), [this] { return stopping_ || dirty_; });
    if (stopping_) break;
    dirty_ = false;
    refreshLocked();
  }
}

void RulesApi::watch(const ApiRequest& request,
                     const std::function<bool(const ApiResponse&)>& start,
                     const std::function<bool(const std::string&)>& write) {
  Target target;
  ApiResponse error;
  if (!parseTarget(request.path, &target, &error) || !admit(request, false, &error)) {
    start(error);
    return;
  }
  if (target.discovery || !target.name.empty()) {
    start(statusResponse(400, "BadRequest", "watch a collection: .../{resource}?watch=true"));
    return;
  }
  const auto matches = [&](const StoredObject& o) {
    return o.kind == target.kind && (target.ns.empty() || o.ns == target.ns);
  };
  const auto eventLine = [&](const std::string& type, const StoredObject& shared) {
    StoredObject o = shared;
    try {
      o.doc = YAML::Load(shared.text);  // a private copy of the document
    } catch (const std::exception&) {
      o.doc = YAML::Node(YAML::NodeType::Map);
    }
    YAML::Node e;
    e["type"] = text(type);
    e["object"] = present(o, target.version);
    return emitJson(e) + "\n";
  };
  std::vector<StoredObject> initial;
  uint64_t next;
  {
    std::unique_lock<std::mutex> lock(mu_);
    ++watchers_;
    cv_.notify_all();
    if (!baseline_) refreshLocked();
    if (!baseline_) {
      --watchers_;
      lock.unlock();
      start(statusResponse(503, "ServiceUnavailable", store_->describe() + " cannot be read"));
      return;
    }
    for (const auto& [key, o] : seen_) {
      if (matches(o)) initial.push_back(o);
    }
    next = next_seq_;
  }
  const auto done = [&] {
    std::lock_guard<std::mutex> lock(mu_);
    --watchers_;
  };
  if (!start(ApiResponse{200, "application/json", ""})) {
    done();
    return;
  }
  for (const StoredObject& o : initial) {
    if (!write(eventLine("ADDED", o))) {
      done();
      return;
    }
  }
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, std::chrono::seconds(1),
                 [&] { return stopping_ || (!events_.empty() && events_.back().seq >= next); });
    if (stopping_) break;
    if (!events_.empty() && events_.front().seq > next && next < next_seq_) {
      lock.unlock();
      YAML::Node e;
      e["type"] = text("ERROR");
      e["object"] = statusNode(410, "Expired", "too old resource version: the watch fell behind");
      write(emitJson(e) + "\n");
      lock.lock();
      break;
    }
    std::vector<std::string> lines;
    for (const Event& e : events_) {
      if (e.seq < next) continue;
      if (matches(e.object)) lines.push_back(eventLine(e.type, e.object));
      next = e.seq + 1;
    }
    lock.unlock();
    bool alive = true;
    for (const std::string& l : lines) alive = alive && write(l);
    if (lines.empty()) alive = write("");  // "" asks the transport whether the peer is there
    lock.lock();
    if (!alive) break;
  }
  --watchers_;
}

}  // namespace pilot::rules
