// The Rules API: VirtualService, DestinationRule and ServiceEntry over REST, at Kubernetes'
// paths, read from and written to the store pilot-discovery loads its routing config from
// (docs/pilot.md, "Rules API"):
//
//   GET    /apis/networking.istio.io/{v}/{plural}                        all namespaces
//   GET    /apis/networking.istio.io/{v}/namespaces/{ns}/{plural}        list (?watch=true: stream)
//   POST   /apis/networking.istio.io/{v}/namespaces/{ns}/{plural}        create
//   GET    /apis/networking.istio.io/{v}/namespaces/{ns}/{plural}/{name} get
//   PUT    /apis/networking.istio.io/{v}/namespaces/{ns}/{plural}/{name} replace
//   DELETE /apis/networking.istio.io/{v}/namespaces/{ns}/{plural}/{name} delete
//
// {v} is v1alpha3, v1beta1 or v1 (one schema). Bodies are YAML or JSON; answers are JSON, or YAML
// when Accept names yaml. Errors are Kubernetes Status objects. A write is validated as the file
// loader validates the whole resulting configuration (422 with each error's field path and
// reason; nothing written); a replace or delete carrying a resourceVersion other than the
// current one is a 409, as is a write that loses a race in the store. ?dryRun=All validates
// without writing. Writes are serialised in the process; etcd's compare-and-swap covers writers
// in other processes. Thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "pilot/routing/routing_config.h"
#include "pilot/rules/store.h"
#include "security/tls/caller_gate.h"

namespace pilot::rules {

struct ApiRequest {
  std::string method;
  std::string path;                                          // without the query
  std::string query;                                         // after '?', undecoded
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-case
  std::string body;
  bool authenticated = false;  // a verified client certificate
  std::string principal;
  std::string peer;  // for logs
};

struct ApiResponse {
  int code = 200;
  std::string content_type = "application/json";
  std::string body;
};

class RulesApi {
 public:
  // `gate`: with a caller policy, reads need the API `rules` and writes `rules_write`; null or
  // without a policy, every caller the transport lets in may read and write. `on_write`: called
  // after each write (the scheduler's notify, so that the change is served without waiting for
  // the watcher). OWNERSHIP: gate borrowed.
  RulesApi(std::unique_ptr<RulesStore> store, routing::ParseOptions parse,
           const security::tls::CallerGate* gate, std::function<void()> on_write = nullptr);
  ~RulesApi();

  // Every request but a watch.
  ApiResponse handle(const ApiRequest& request);

  // A watch (GET of a collection with ?watch=true or 1)?
  static bool isWatch(const ApiRequest& request);
  // Serves a watch: `start` with the status line's code and content type (a non-200 is the
  // whole answer, with `body`), then one JSON event per line through `write`
  // ({"type":"ADDED|MODIFIED|DELETED","object":{...}}), first ADDED for every object that
  // exists, until `write` returns false or stop() is called.
  void watch(const ApiRequest& request, const std::function<bool(const ApiResponse&)>& start,
             const std::function<bool(const std::string&)>& write);
  void stop();

  // Decoding a request (the fuzz target's entry): its target kind, namespace and name, or an
  // error answer. Pure.
  struct Target {
    const KindInfo* kind = nullptr;  // null: all kinds (discovery)
    std::string version;
    std::string ns;    // "" for all namespaces
    std::string name;  // "" for a collection
    bool discovery = false;
  };
  static bool parseTarget(const std::string& path, Target* target, ApiResponse* error);
  static std::string queryParam(const std::string& query, const std::string& name);

 private:
  struct Event {
    uint64_t seq;
    std::string type;
    StoredObject object;
  };

  bool admit(const ApiRequest& request, bool write, ApiResponse* refusal) const;
  ApiResponse list(const ApiRequest& request, const Target& target);
  ApiResponse get(const ApiRequest& request, const Target& target);
  ApiResponse put(const ApiRequest& request, const Target& target, bool create);
  ApiResponse remove(const ApiRequest& request, const Target& target);
  // Validates the configuration with `replacement` (source text) in place of `existing`.
  bool validate(const std::vector<Source>& sources, const StoredObject* existing,
                const std::string* replacement, const YAML::Node* replacement_doc,
                std::vector<std::pair<std::string, model::ConfigError>>* causes);
  std::string render(const ApiRequest& request, const YAML::Node& node) const;
  YAML::Node present(const StoredObject& o, const std::string& version) const;
  void poll();
  void refreshLocked();

  std::unique_ptr<RulesStore> store_;
  const routing::ParseOptions parse_;
  const security::tls::CallerGate* gate_;
  std::function<void()> on_write_;
  std::mutex write_mu_;

  // The watcher: the last objects seen, and recent events.
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool dirty_ = false;
  int watchers_ = 0;
  bool baseline_ = false;
  std::map<std::string, StoredObject> seen_;
  std::deque<Event> events_;
  uint64_t next_seq_ = 1;
  std::thread poller_;
};

}  // namespace pilot::rules
