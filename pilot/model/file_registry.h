// A service registry backed by a directory of YAML files (*.yaml, *.yml), watched for changes.
// Each file holds a `services:` list:
//
//   services:
//   - hostname: reviews.default.svc.cluster.local
//     address: 10.0.0.12                      # optional virtual IP
//     ports: [{name: grpc, number: 9080, protocol: GRPC}]
//     serviceAccounts: [spiffe://cluster.local/ns/default/sa/reviews]
//     instances:
//     - {address: 127.0.0.1, port: 40001, servicePort: 9080,
//        labels: {version: v1}, locality: us-east/zone-a, health: HEALTHY}
//
// servicePort may be left out when the service has one port. Errors carry file:line.
// Thread-safe.
#pragma once

#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "pilot/model/dir_watcher.h"
#include "pilot/model/service.h"

namespace pilot::model {

// Parses one registry file's text into `services`; returns false if it reported errors.
bool parseRegistryYaml(std::string_view text, const std::string& file_name,
                       std::vector<Service>* services, std::vector<ConfigError>* errors);

// Checks that no hostname is declared twice (an error at the second declaration, naming the
// first) and, if `ok` and no duplicates, stores `all` sorted by hostname into `services`.
bool mergeServices(std::vector<Service> all, bool ok, std::vector<Service>* services,
                   std::vector<ConfigError>* errors);

class FileRegistry : public ServiceRegistry {
 public:
  explicit FileRegistry(std::string dir) : dir_(std::move(dir)) {}
  ~FileRegistry() override { stop(); }

  bool list(std::vector<Service>* services, std::vector<ConfigError>* errors) override;
  bool watch(std::function<void()> on_change, std::string* error) override;
  void stop() override;

 private:
  const std::string dir_;
  std::mutex mu_;
  DirWatcher watcher_;
};

// The YAML files of `dir` in name order (hidden files and editor temporaries excluded).
std::vector<std::string> yamlFilesIn(const std::string& dir, std::string* error);

// The names and contents of the YAML files of `dir`: equal fingerprints mean nothing to reload.
std::string dirFingerprint(const std::string& dir);

// Reads a whole file; false with `error` set on failure.
bool readFile(const std::string& path, std::string* contents, std::string* error);

}  // namespace pilot::model
