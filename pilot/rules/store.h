// Where the Rules API keeps routing config: the same store pilot-discovery loads it from.
//   DirStore:  the --config-dir. An object the API creates is one file,
//              <plural>_<namespace>_<name>.yaml, written to a hidden temporary and renamed into
//              place (the directory watcher sees one complete file). An object that is the only
//              document of a hand-written file is replaced in that file; one that shares its file
//              with other documents can be read but not changed through the API.
//   EtcdStore: keys <prefix><plural>/<namespace>/<name> (prefix default "/pilot/config/"), one
//              YAML document each, written with etcd compare-and-swap transactions.
// resourceVersion: the object's etcd mod_revision; for files, a hash of the document's content
// (every write through the API also bumps metadata.generation, so no two writes look alike).
// Thread-safe.
#pragma once

#include <yaml-cpp/yaml.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "pilot/model/etcd_registry.h"
#include "pilot/routing/routing_config.h"
#include "pilot/rules/resource.h"

namespace pilot::rules {

struct StoredObject {
  const KindInfo* kind = nullptr;
  std::string ns;
  std::string name;
  std::string resource_version;
  YAML::Node doc;
  std::string location;  // the file path or etcd key holding it
  bool shared = false;   // its file or key holds other documents too
  // The document as text, for copies shared across threads (yaml-cpp nodes share their data
  // and are not safe to read concurrently); set by the watcher, which drops `doc`.
  std::string text;
};

// A file or key of routing config, as the loader reads it.
struct Source {
  std::string name;  // the loader's name for it (file path, "etcd:<key>")
  std::string location;
  std::string text;
};

class RulesStore {
 public:
  virtual ~RulesStore() = default;
  virtual std::string describe() const = 0;
  // Every object of the three kinds (documents that do not parse are skipped: the loader
  // reports them) and every source of routing config. `default_namespace` for documents
  // without one.
  virtual bool load(const std::string& default_namespace, std::vector<StoredObject>* objects,
                    std::vector<Source>* sources, std::string* error) = 0;

  enum class Outcome { kOk, kConflict, kError };
  // Writes `text` (one document) as `target`'s content, or with `text` null deletes it. An
  // existing object (target.location set) must still have target.resource_version (else
  // kConflict); a new one must not exist yet (else kConflict). *resource_version: the new one.
  virtual Outcome write(const StoredObject& target, const std::string* text,
                        std::string* resource_version, std::string* error) = 0;
};

class DirStore : public RulesStore {
 public:
  explicit DirStore(std::string dir) : dir_(std::move(dir)) {}
  std::string describe() const override { return "config directory " + dir_; }
  bool load(const std::string& default_namespace, std::vector<StoredObject>* objects,
            std::vector<Source>* sources, std::string* error) override;
  Outcome write(const StoredObject& target, const std::string* text, std::string* resource_version,
                std::string* error) override;

 private:
  const std::string dir_;
  std::mutex mu_;
};

class EtcdStore : public RulesStore {
 public:
  explicit EtcdStore(model::EtcdOptions options) : options_(std::move(options)) {}
  std::string describe() const override;
  bool load(const std::string& default_namespace, std::vector<StoredObject>* objects,
            std::vector<Source>* sources, std::string* error) override;
  Outcome write(const StoredObject& target, const std::string* text, std::string* resource_version,
                std::string* error) override;

 private:
  const model::EtcdOptions options_;
};

// The objects of one source's text (documents that are maps of a known kind with a name).
void objectsOf(const std::string& text, const std::string& location,
               const std::string& default_namespace, std::vector<StoredObject>* out);

// Reads the routing config from etcd keys under options.prefix (the scheduler's loader): the
// keys' values parsed as the loader parses files, named "etcd:<key>". `fingerprint` changes when
// any key does.
bool loadRoutingEtcd(const model::EtcdOptions& options, const routing::ParseOptions& parse,
                     routing::RoutingConfig* config, std::vector<model::ConfigError>* errors,
                     std::string* fingerprint);

}  // namespace pilot::rules
