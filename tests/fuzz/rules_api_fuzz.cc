// Fuzz target: the Rules API's request decoding, end to end in process. The input is one raw
// HTTP request (head and body) as pilot-discovery's Rules API port reads it: the framing
// (decodeHttpRequest), the path and query, the YAML or JSON body, the kind/name/namespace checks,
// validation with field paths, and the answer's encoding, against an in-memory store holding a
// DestinationRule. Invariants beyond "no crash, no hang": every answer has a known status and a
// body; JSON answers parse back; a 422 lists its causes; a successful write stores a document the
// loader reads back without errors.
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <string>

#include "pilot/routing/routing_config.h"
#include "pilot/rules/rules_api.h"
#include "pilot/rules/rules_server.h"

namespace {

constexpr char kDestinationRule[] =
    "apiVersion: networking.istio.io/v1beta1\nkind: DestinationRule\n"
    "metadata: {name: echo, namespace: default}\n"
    "spec:\n  host: echo\n  subsets:\n  - {name: v1, labels: {version: v1}}\n";

// Keeps the DestinationRule and, after a write, the written document.
class MemoryStore : public pilot::rules::RulesStore {
 public:
  std::string describe() const override { return "memory"; }
  bool load(const std::string& default_namespace, std::vector<pilot::rules::StoredObject>* objects,
            std::vector<pilot::rules::Source>* sources, std::string* error) override {
    std::lock_guard<std::mutex> lock(mu_);
    pilot::rules::objectsOf(kDestinationRule, "dr", default_namespace, objects);
    sources->push_back({"dr", "dr", kDestinationRule});
    return true;
  }
  Outcome write(const pilot::rules::StoredObject& target, const std::string* text,
                std::string* resource_version, std::string* error) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (text != nullptr) {
      std::vector<pilot::model::ConfigError> errors;
      pilot::routing::RoutingConfig config;
      pilot::routing::parseRoutingYaml(*text, "written", pilot::routing::ParseOptions(), &config,
                                       &errors);
      if (!errors.empty()) std::abort();  // validated, then stored unreadable
    }
    *resource_version = "1";
    return Outcome::kOk;
  }

 private:
  std::mutex mu_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 65536) return 0;
  static pilot::rules::RulesApi* api = new pilot::rules::RulesApi(
      std::make_unique<MemoryStore>(), pilot::routing::ParseOptions(), nullptr);
  const std::string raw(reinterpret_cast<const char*>(data), size);
  pilot::rules::ApiRequest request;
  const int code = pilot::rules::decodeHttpRequest(raw, &request);
  if (code != 0) {
    if (code != -1 && code != 400 && code != 405 && code != 411 && code != 413 && code != 431) {
      std::abort();
    }
    return 0;
  }
  if (pilot::rules::RulesApi::isWatch(request)) return 0;  // a stream: not decoding
  const pilot::rules::ApiResponse r = api->handle(request);
  switch (r.code) {
    case 200:
    case 201:
    case 400:
    case 403:
    case 404:
    case 405:
    case 409:
    case 422:
    case 503:
      break;
    default:
      std::abort();
  }
  if (r.body.empty()) std::abort();
  if (r.content_type == "application/json") {
    YAML::Node parsed;
    try {
      parsed = YAML::Load(r.body);
    } catch (const std::exception&) {
      std::abort();
    }
    if (r.code == 422 && r.body.find("\"causes\"") == std::string::npos &&
        r.body.find("is invalid") == std::string::npos &&
        r.body.find("cannot be deleted") == std::string::npos) {
      std::abort();
    }
  }
  return 0;
}
