#include "pilot/rules/store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "pilot/model/file_registry.h"
#include "pilot/model/yaml_reader.h"

namespace pilot::rules {
namespace {

std::string scalarAt(const YAML::Node& map, const char* key) {
  if (!map.IsMap()) return "";
  const YAML::Node v = map[key];
  return v.IsDefined() && v.IsScalar() ? v.Scalar() : "";
}

bool writeFileAtomically(const std::string& path, const std::string& text, std::string* error) {
  const std::filesystem::path p(path);
  const std::string tmp =
      (p.parent_path() / ("." + p.filename().string() + ".tmp" + std::to_string(getpid())))
          .string();
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    *error = "cannot create " + tmp + ": " + std::strerror(errno);
    return false;
  }
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      *error = "cannot write " + tmp + ": " + std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      return false;
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    *error = "cannot write " + tmp + ": " + std::strerror(errno);
    ::unlink(tmp.c_str());
    return false;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    *error = "cannot rename " + tmp + " to " + path + ": " + std::strerror(errno);
    ::unlink(tmp.c_str());
    return false;
  }
  return true;
}

}  // namespace

void objectsOf(const std::string& text, const std::string& location,
               const std::string& default_namespace, std::vector<StoredObject>* out) {
  std::vector<model::ConfigError> errors;
  model::YamlReader reader(location, &errors);
  std::vector<YAML::Node> docs = model::loadDocuments(text, &reader);
  size_t count = 0;
  for (const YAML::Node& d : docs) count += d.IsDefined() && !d.IsNull();
  for (const YAML::Node& d : docs) {
    if (!d.IsMap()) continue;
    const KindInfo* kind = kindByKind(scalarAt(d, "kind"));
    const YAML::Node meta = d["metadata"];
    const std::string name = scalarAt(meta, "name");
    if (kind == nullptr || name.empty()) continue;
    StoredObject o;
    o.kind = kind;
    o.name = name;
    o.ns = scalarAt(meta, "namespace");
    if (o.ns.empty()) o.ns = default_namespace;
    o.doc = d;
    o.location = location;
    o.shared = count > 1;
    o.resource_version = contentVersion(d);
    out->push_back(std::move(o));
  }
}

bool DirStore::load(const std::string& default_namespace, std::vector<StoredObject>* objects,
                    std::vector<Source>* sources, std::string* error) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::vector<std::string> files = model::yamlFilesIn(dir_, error);
  if (!error->empty()) return false;
  for (const std::string& f : files) {
    std::string text;
    if (!model::readFile(f, &text, error)) return false;
    objectsOf(text, f, default_namespace, objects);
    sources->push_back(Source{f, f, std::move(text)});
  }
  return true;
}

RulesStore::Outcome DirStore::write(const StoredObject& target, const std::string* text,
                                    std::string* resource_version, std::string* error) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string path = target.location;
  if (path.empty()) {
    path = (std::filesystem::path(dir_) /
            (std::string(target.kind->plural) + "_" + target.ns + "_" + target.name + ".yaml"))
               .string();
    if (std::filesystem::exists(path)) {
      *error = path + " exists already";
      return Outcome::kConflict;
    }
  } else {
    // Compare: the file must still hold the version the caller saw.
    std::string current;
    if (!model::readFile(path, &current, error)) return Outcome::kConflict;
    std::vector<StoredObject> now;
    objectsOf(current, path, target.ns, &now);
    bool same = false;
    for (const StoredObject& o : now) {
      same = same || (o.kind == target.kind && o.name == target.name &&
                      o.resource_version == target.resource_version && !o.shared);
    }
    if (!same) {
      *error = path + " has changed";
      return Outcome::kConflict;
    }
  }
  if (text == nullptr) {
    if (::unlink(path.c_str()) != 0) {
      *error = "cannot remove " + path + ": " + std::strerror(errno);
      return Outcome::kError;
    }
    resource_version->clear();
    return Outcome::kOk;
  }
  if (!writeFileAtomically(path, *text, error)) return Outcome::kError;
  std::vector<StoredObject> written;
  objectsOf(*text, path, target.ns, &written);
  *resource_version = written.empty() ? "" : written.front().resource_version;
  return Outcome::kOk;
}

std::string EtcdStore::describe() const {
  return "etcd " + options_.host + ":" + std::to_string(options_.port) + " under " +
         options_.prefix;
}

bool EtcdStore::load(const std::string& default_namespace, std::vector<StoredObject>* objects,
                     std::vector<Source>* sources, std::string* error) {
  std::vector<model::EtcdKv> kvs;
  int64_t revision = 0;
  if (!model::etcdRangeKvs(options_, &kvs, &revision, error)) return false;
  for (const model::EtcdKv& kv : kvs) {
    const size_t before = objects->size();
    objectsOf(kv.value, kv.key, default_namespace, objects);
    for (size_t i = before; i < objects->size(); ++i) {
      (*objects)[i].resource_version = std::to_string(kv.mod_revision);
    }
    sources->push_back(Source{"etcd:" + kv.key, kv.key, kv.value});
  }
  return true;
}

RulesStore::Outcome EtcdStore::write(const StoredObject& target, const std::string* text,
                                     std::string* resource_version, std::string* error) {
  std::string key = target.location;
  int64_t expected = 0;
  if (key.empty()) {
    key = options_.prefix + std::string(target.kind->plural) + "/" + target.ns + "/" + target.name;
  } else {
    try {
      expected = std::stoll(target.resource_version);
    } catch (...) {
      *error = "bad resourceVersion";
      return Outcome::kConflict;
    }
  }
  bool swapped = false;
  int64_t revision = 0;
  if (!model::etcdCompareAndSwap(options_, key, text, expected, &swapped, &revision, error)) {
    return Outcome::kError;
  }
  if (!swapped) {
    *error = "etcd key " + key + " has changed";
    return Outcome::kConflict;
  }
  *resource_version = text == nullptr ? "" : std::to_string(revision);
  return Outcome::kOk;
}

bool loadRoutingEtcd(const model::EtcdOptions& options, const routing::ParseOptions& parse,
                     routing::RoutingConfig* config, std::vector<model::ConfigError>* errors,
                     std::string* fingerprint) {
  std::vector<model::EtcdKv> kvs;
  int64_t revision = 0;
  std::string error;
  if (!model::etcdRangeKvs(options, &kvs, &revision, &error)) {
    errors->push_back(model::ConfigError{{"etcd:" + options.prefix, 1}, error});
    return false;
  }
  std::string print;
  for (const model::EtcdKv& kv : kvs) {
    print += kv.key + '\0' + std::to_string(kv.mod_revision) + '\0';
  }
  *fingerprint = print;
  const size_t before = errors->size();
  routing::RoutingConfig loaded;
  for (const model::EtcdKv& kv : kvs) {
    routing::parseRoutingYaml(kv.value, "etcd:" + kv.key, parse, &loaded, errors);
  }
  routing::validateRouting(loaded, errors);
  if (errors->size() != before) return false;
  *config = std::move(loaded);
  return true;
}

}  // namespace pilot::rules
