#include "mixer/runtime/attribute_generator.h"

#include <arpa/inet.h>
#include <yaml-cpp/yaml.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "base/log.h"
#include "base/str_cat.h"
#include "mixer/adapter_host/handler.h"
#include "mixer/runtime/encoded_instances.h"
#include "pilot/model/file_registry.h"

namespace mixer::runtime {
namespace {

using attribute::AttributeId;
using attribute::ValueType;

ValueType outputType(aspects::FieldType t) {
  switch (t) {
    case aspects::FieldType::kString:
      return ValueType::kString;
    case aspects::FieldType::kInt64:
      return ValueType::kInt64;
    case aspects::FieldType::kDouble:
      return ValueType::kDouble;
    case aspects::FieldType::kBool:
      return ValueType::kBool;
    case aspects::FieldType::kTimestamp:
      return ValueType::kTimestamp;
    case aspects::FieldType::kDuration:
      return ValueType::kDuration;
    case aspects::FieldType::kIpAddress:
      return ValueType::kIpAddress;
    case aspects::FieldType::kValueMap:
    case aspects::FieldType::kStringMap:
      return ValueType::kStringMap;
    case aspects::FieldType::kValue:
    case aspects::FieldType::kMessage:
      break;
  }
  return ValueType::kUnspecified;
}

// The raw bytes (4 or 16) of an IP address written as text; "" when it is not one.
std::string ipBytes(const std::string& text) {
  unsigned char buf[16];
  if (inet_pton(AF_INET, text.c_str(), buf) == 1) {
    return std::string(reinterpret_cast<char*>(buf), 4);
  }
  if (inet_pton(AF_INET6, text.c_str(), buf) == 1) {
    return std::string(reinterpret_cast<char*>(buf), 16);
  }
  return "";
}

// One workload endpoint of the registry: an instance of a service, with what the registry says
// (or its naming conventions imply) about the workload behind it.
struct Workload {
  std::string ip;  // raw bytes
  uint32_t port = 0;
  uint32_t service_port = 0;
  std::vector<std::pair<std::string, std::string>> label_storage;
  std::vector<attribute::StringMapEntry> labels;
  std::string ns;               // "" when unknown
  std::string workload_name;    // "" when unknown
  std::string workload_uid;     // "" when unknown
  std::string service_account;  // "" when unknown
  std::string service_host;
  std::string service_name;
};

// "reviews" and "default" of "reviews.default.svc.cluster.local" (Kubernetes service names);
// only the first for other host names.
void splitHost(const std::string& host, std::string* name, std::string* ns) {
  const size_t dot = host.find('.');
  *name = host.substr(0, dot);
  ns->clear();
  if (dot == std::string::npos) {
    return;
  }
  const size_t dot2 = host.find('.', dot + 1);
  if (dot2 != std::string::npos && host.compare(dot2 + 1, 3, "svc") == 0 &&
      (dot2 + 4 == host.size() || host[dot2 + 4] == '.')) {
    *ns = host.substr(dot + 1, dot2 - dot - 1);
  }
}

// The service account name of "spiffe://TRUST_DOMAIN/ns/NAMESPACE/sa/NAME".
std::string serviceAccountName(const std::string& identity) {
  const size_t sa = identity.rfind("/sa/");
  return identity.starts_with("spiffe://") && sa != std::string::npos ? identity.substr(sa + 4)
                                                                      : "";
}

class RegistryGenerator final : public AttributeGenerator {
 public:
  explicit RegistryGenerator(const std::vector<pilot::model::Service>& services) {
    const aspects::Aspect& a = aspect();
    auto input = [&](std::string_view name) {
      for (size_t i = 0; i < a.fields.size(); ++i) {
        if (a.fields[i].name == name) {
          return static_cast<int>(i);
        }
      }
      return -1;
    };
    source_ip_ = input("source_ip");
    destination_ip_ = input("destination_ip");
    destination_port_ = input("destination_port");
    for (const char* side : {"source_", "destination_"}) {
      Side& s = side[0] == 's' ? source_ : destination_;
      s.pod_ip = output(side, "pod_ip");
      s.labels = output(side, "labels");
      s.ns = output(side, "namespace");
      s.service_account = output(side, "service_account_name");
      s.workload_name = output(side, "workload_name");
      s.workload_namespace = output(side, "workload_namespace");
      s.workload_uid = output(side, "workload_uid");
      s.service_host = output(side, "service_host");
      s.service_name = output(side, "service_name");
      s.service_namespace = output(side, "service_namespace");
    }
    for (const auto& svc : services) {
      std::string name, ns;
      splitHost(svc.hostname, &name, &ns);
      std::string account;
      if (svc.service_accounts.size() == 1) {
        account = serviceAccountName(svc.service_accounts[0]);
      }
      for (const auto& inst : svc.instances) {
        Workload w;
        w.ip = ipBytes(inst.address);
        if (w.ip.empty()) {
          continue;
        }
        w.port = inst.port;
        w.service_port = inst.service_port;
        w.label_storage.assign(inst.labels.begin(), inst.labels.end());
        w.ns = ns;
        auto version = inst.labels.find("version");
        w.workload_name =
            version == inst.labels.end() ? name : base::strCat(name, "-", version->second);
        if (!ns.empty()) {
          w.workload_uid = base::strCat("istio://", ns, "/workloads/", w.workload_name);
        }
        w.service_account = account;
        w.service_host = svc.hostname;
        w.service_name = name;
        workloads_.push_back(std::move(w));
      }
    }
    for (size_t i = 0; i < workloads_.size(); ++i) {
      Workload& w = workloads_[i];
      for (const auto& [k, v] : w.label_storage) {
        w.labels.push_back({k, v});
      }
      by_ip_[w.ip].push_back(i);
    }
  }

  const aspects::Aspect& aspect() const override { return *aspects::find("kubernetes"); }

  void generate(const GenerateCall& /*call*/, std::span<const expr::Value> inputs,
                attribute::AttributeBag* outputs) const override {
    const int64_t port =
        destination_port_ >= 0 && inputs[destination_port_].type == expr::ValueType::kInt64
            ? inputs[destination_port_].int_value
            : -1;
    if (const Workload* w = find(inputs, source_ip_, -1)) {
      fill(source_, *w, outputs);
    }
    if (const Workload* w = find(inputs, destination_ip_, port)) {
      fill(destination_, *w, outputs);
    }
  }

 private:
  struct Side {
    AttributeId pod_ip, labels, ns, service_account, workload_name, workload_namespace,
        workload_uid, service_host, service_name, service_namespace;
  };

  AttributeId output(std::string_view side, std::string_view field) const {
    const std::string name = base::strCat(side, field);
    const auto& outs = aspect().outputs;
    for (size_t i = 0; i < outs.size(); ++i) {
      if (outs[i].name == name) {
        return static_cast<AttributeId>(i);
      }
    }
    return attribute::kNoAttribute;
  }

  // The workload at the IP address of input `field`; with several (one IP in several services),
  // the one whose instance or service port is `port`, else the first.
  const Workload* find(std::span<const expr::Value> inputs, int field, int64_t port) const {
    if (field < 0 || inputs[field].type != expr::ValueType::kIpAddress) {
      return nullptr;
    }
    const std::string_view ip = inputs[field].stringView();
    auto it = by_ip_.find(absl::string_view(ip.data(), ip.size()));
    if (it == by_ip_.end()) {
      return nullptr;
    }
    for (size_t i : it->second) {
      const Workload& w = workloads_[i];
      if (port >= 0 && (w.port == port || w.service_port == port)) {
        return &w;
      }
    }
    return &workloads_[it->second.front()];
  }

  static void setString(AttributeId id, const std::string& s, attribute::AttributeBag* out) {
    if (id != attribute::kNoAttribute && !s.empty()) {
      out->set(id, attribute::AttributeValue::string(s));
    }
  }

  static void fill(const Side& s, const Workload& w, attribute::AttributeBag* out) {
    if (s.pod_ip != attribute::kNoAttribute) {
      out->set(s.pod_ip, attribute::AttributeValue::bytes(w.ip, ValueType::kIpAddress));
    }
    if (s.labels != attribute::kNoAttribute) {
      out->set(s.labels, attribute::AttributeValue::stringMap(
                             w.labels.data(), static_cast<uint32_t>(w.labels.size())));
    }
    setString(s.ns, w.ns, out);
    setString(s.service_account, w.service_account, out);
    setString(s.workload_name, w.workload_name, out);
    setString(s.workload_namespace, w.ns, out);
    setString(s.workload_uid, w.workload_uid, out);
    setString(s.service_host, w.service_host, out);
    setString(s.service_name, w.service_name, out);
    setString(s.service_namespace, w.ns, out);
  }

  int source_ip_ = -1, destination_ip_ = -1, destination_port_ = -1;
  Side source_{}, destination_{};
  std::vector<Workload> workloads_;
  absl::flat_hash_map<std::string, std::vector<size_t>> by_ip_;
};

}  // namespace

attribute::VocabularyConstSharedPtr outputVocabulary(const aspects::Aspect& aspect) {
  static std::mutex mu;
  static std::map<const aspects::Aspect*, attribute::VocabularyConstSharedPtr> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto& v = cache[&aspect];
  if (!v) {
    std::vector<attribute::AttributeDecl> decls;
    for (const aspects::Field& f : aspect.outputs) {
      decls.push_back({base::strCat("_out.", f.name), outputType(f.type)});
    }
    v = *attribute::Vocabulary::create(std::move(decls));
  }
  return v;
}

bool inProcessGenerator(std::string_view adapter) { return adapter == "registryenv"; }

const aspects::Aspect* generatorAspect(std::span<const std::string> templates) {
  for (const std::string& t : templates) {
    const aspects::Aspect* a = aspects::find(t);
    if (a != nullptr && a->variety == aspects::Variety::AttributeGeneration) {
      return a;
    }
  }
  return nullptr;
}

namespace {

bool isText(uint32_t type) {
  return type == MIXER_VALUE_STRING || type == MIXER_VALUE_URI || type == MIXER_VALUE_DNS_NAME ||
         type == MIXER_VALUE_EMAIL_ADDRESS;
}

// Sets output `id` of type `type` from a value an adapter answered; false when it does not fit.
bool setOutput(AttributeId id, aspects::FieldType type, const adapter_host::AbiValue& v,
               attribute::AttributeBag* out) {
  switch (type) {
    case aspects::FieldType::kString:
      if (!isText(v.type())) return false;
      out->set(id, attribute::AttributeValue::string(out->own(v.stringValue())));
      return true;
    case aspects::FieldType::kIpAddress: {
      std::string raw;
      if (v.type() == MIXER_VALUE_IP_ADDRESS || v.type() == MIXER_VALUE_BYTES) {
        raw = v.stringValue();
      } else if (v.type() == MIXER_VALUE_STRING) {
        raw = ipBytes(v.stringValue());
      }
      if (raw.size() != 4 && raw.size() != 16) return false;
      out->set(id,
               attribute::AttributeValue::bytes(out->own(std::move(raw)), ValueType::kIpAddress));
      return true;
    }
    case aspects::FieldType::kInt64:
      if (v.type() != MIXER_VALUE_INT64) return false;
      out->set(id, attribute::AttributeValue::int64(v.int64Value()));
      return true;
    case aspects::FieldType::kDouble:
      if (v.type() == MIXER_VALUE_INT64) {
        out->set(id, attribute::AttributeValue::doubleValue(static_cast<double>(v.int64Value())));
        return true;
      }
      if (v.type() != MIXER_VALUE_DOUBLE) return false;
      out->set(id, attribute::AttributeValue::doubleValue(v.doubleValue()));
      return true;
    case aspects::FieldType::kBool:
      if (v.type() != MIXER_VALUE_BOOL) return false;
      out->set(id, attribute::AttributeValue::boolean(v.boolValue()));
      return true;
    case aspects::FieldType::kTimestamp: {
      if (v.type() != MIXER_VALUE_TIMESTAMP) return false;
      const int64_t ns = v.int64Value();
      int64_t seconds = ns / 1000000000;
      int64_t nanos = ns % 1000000000;
      if (nanos < 0) {
        --seconds;
        nanos += 1000000000;
      }
      out->set(id, attribute::AttributeValue::timestamp({seconds, static_cast<int32_t>(nanos)}));
      return true;
    }
    case aspects::FieldType::kDuration: {
      if (v.type() != MIXER_VALUE_DURATION) return false;
      const int64_t ns = v.int64Value();
      out->set(id, attribute::AttributeValue::duration(
                       {ns / 1000000000, static_cast<int32_t>(ns % 1000000000)}));
      return true;
    }
    case aspects::FieldType::kStringMap:
    case aspects::FieldType::kValueMap: {
      if (!v.isMap()) return false;
      const auto& entries = v.mapValue();
      for (const auto& [key, value] : entries) {
        if (!isText(value.type())) return false;
      }
      attribute::StringMapEntry* e = out->allocateMapEntries(static_cast<uint32_t>(entries.size()));
      for (size_t i = 0; i < entries.size(); ++i) {
        e[i] = {out->own(entries[i].first), out->own(entries[i].second.stringValue())};
      }
      out->set(id, attribute::AttributeValue::stringMap(e, static_cast<uint32_t>(entries.size())));
      return true;
    }
    case aspects::FieldType::kValue:
    case aspects::FieldType::kMessage:
      break;
  }
  return false;
}

}  // namespace

void AdapterGenerator::generate(const GenerateCall& call, std::span<const expr::Value> inputs,
                                attribute::AttributeBag* outputs) const {
  if (handler_ == nullptr) {
    return;
  }
  // Per thread, reused: the instance crosses the ABI from these arrays without allocating once
  // they have grown.
  thread_local EncodedInstances encoded;
  encoded.clear();
  const size_t base = encoded.addInstance(call.instance, aspect_.name, aspect_.fields.size());
  for (size_t i = 0; i < aspect_.fields.size(); ++i) {
    encoded.setKey(base + i, aspect_.fields[i].name);
    encoded.setValue({false, base + i}, i < inputs.size() ? inputs[i] : expr::Value());
  }
  encoded.finalize();
  absl::StatusOr<adapter_host::AbiValue> answer =
      handler_->generateAndWait(*encoded.instances()[0], call.timeout);
  static std::atomic<uint64_t> logs{0};
  if (!answer.ok()) {
    if (logSampled(logs)) {
      MIXER_LOG(Warn) << "attribute generation by instance '" << call.instance
                      << "' failed: " << answer.status().message();
    }
    return;
  }
  for (const auto& [name, value] : answer->mapValue()) {
    const aspects::Field* field = aspects::findField(aspect_.outputs, name);
    if (field == nullptr || value.isNull()) {
      continue;
    }
    const auto id = static_cast<AttributeId>(field - aspect_.outputs.data());
    if (!setOutput(id, field->type, value, outputs) && logSampled(logs)) {
      MIXER_LOG(Warn) << "attribute generation by instance '" << call.instance << "': output '"
                      << name << "' is not of type " << aspects::fieldTypeName(field->type);
    }
  }
}

std::unique_ptr<AttributeGenerator> makeRegistryGenerator(const YAML::Node& params,
                                                          std::string* warning,
                                                          std::string* error) {
  std::string directory;
  if (params && params.IsMap()) {
    for (const auto& kv : params) {
      const std::string key = kv.first.as<std::string>("");
      if (key != "directory") {
        *error = base::strCat("params: unknown field '", key, "' (registryenv takes: directory)");
        return nullptr;
      }
      if (!kv.second.IsScalar() || kv.second.Scalar().empty()) {
        *error = "params.directory: want the path of a service registry directory";
        return nullptr;
      }
      directory = kv.second.Scalar();
    }
  } else if (params && !params.IsNull()) {
    *error = "params: want a map";
    return nullptr;
  }
  if (directory.empty()) {
    *error = "params.directory is required (the service registry directory)";
    return nullptr;
  }
  std::vector<pilot::model::Service> services;
  std::error_code ec;
  if (!std::filesystem::is_directory(directory, ec)) {
    *warning =
        base::strCat("service registry directory '", directory,
                     "' does not exist: no workload is found (the bindings' defaults apply)");
  } else {
    pilot::model::FileRegistry registry(directory);
    std::vector<pilot::model::ConfigError> errors;
    if (!registry.list(&services, &errors)) {
      services.clear();
      *warning = base::strCat("service registry directory '", directory,
                              "' has errors: no workload is found (the bindings' defaults apply): ",
                              pilot::model::formatErrors(errors));
    }
  }
  return std::make_unique<RegistryGenerator>(services);
}

}  // namespace mixer::runtime
