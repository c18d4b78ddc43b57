// A service registry in etcd (v3, through its JSON gateway over plain HTTP): every key under a
// prefix (default "/pilot/services/") holds one registry document in the file registry's format
// (a `services:` list; file_registry.h). Errors name the key: "etcd:/pilot/services/reviews:3: …".
// Changes are found by polling the store revision. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "pilot/model/service.h"

namespace pilot::model {

struct EtcdOptions {
  std::string host = "127.0.0.1";
  int port = 2379;
  std::string prefix = "/pilot/services/";
  std::chrono::milliseconds poll{500};
  std::chrono::milliseconds timeout{5000};
};

// Parses "host:port" into options; false if malformed.
bool parseEtcdAddress(const std::string& address, EtcdOptions* options);

// Small etcd v3 JSON-gateway client calls (used by the registry, tests and tooling).
bool etcdPut(const EtcdOptions& options, const std::string& key, const std::string& value,
             std::string* error);
bool etcdDelete(const EtcdOptions& options, const std::string& key, std::string* error);
// The keys and values under options.prefix and the store revision.
bool etcdRange(const EtcdOptions& options, std::vector<std::pair<std::string, std::string>>* kvs,
               int64_t* revision, std::string* error);

// A key with its value and the store revision that last modified it.
struct EtcdKv {
  std::string key;
  std::string value;
  int64_t mod_revision = 0;
};
// The keys under options.prefix with their modification revisions, and the store revision.
bool etcdRangeKvs(const EtcdOptions& options, std::vector<EtcdKv>* kvs, int64_t* revision,
                  std::string* error);
// Compare-and-swap in one etcd transaction: puts key = value (or, with `value` null, deletes the
// key) only if the key's mod_revision is `expected` (0: the key does not exist). True when etcd
// answered; *swapped says whether the compare held, *revision is the store revision after.
bool etcdCompareAndSwap(const EtcdOptions& options, const std::string& key,
                        const std::string* value, int64_t expected, bool* swapped,
                        int64_t* revision, std::string* error);

class EtcdRegistry : public ServiceRegistry {
 public:
  explicit EtcdRegistry(EtcdOptions options) : options_(std::move(options)) {}
  ~EtcdRegistry() override { stop(); }

  bool list(std::vector<Service>* services, std::vector<ConfigError>* errors) override;
  bool watch(std::function<void()> on_change, std::string* error) override;
  void stop() override;

 private:
  void poll();

  const EtcdOptions options_;
  std::function<void()> on_change_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  int64_t revision_ = -1;
  std::thread thread_;
};

}  // namespace pilot::model
