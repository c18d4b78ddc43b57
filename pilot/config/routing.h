// Istio routing configuration (networking.istio.io v1alpha3, v1beta1 and v1): VirtualService,
// DestinationRule and ServiceEntry, read from a directory of YAML files with file:line errors.
// Short hosts ("reviews") are expanded to FQDNs in the resource's namespace
// ("reviews.default.svc.cluster.local"). Plain values; thread-compatible.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pilot/model/service.h"

namespace pilot::config {

using model::ConfigError;

struct StringMatch {
  enum class Kind { kExact, kPrefix, kRegex };
  Kind kind = Kind::kExact;
  std::string value;
};

struct HttpMatch {
  std::optional<StringMatch> uri;
  std::vector<std::pair<std::string, StringMatch>> headers;  // sorted by header name
  bool ignore_uri_case = false;
};

struct Destination {
  std::string host;  // FQDN
  std::string subset;
  uint32_t port = 0;  // 0: the service's only port, or the port the request came in on
};

struct RouteDestination {
  Destination destination;
  uint32_t weight = 100;
};

struct FaultInjection {
  struct Delay {
    std::chrono::milliseconds fixed_delay{0};
    double percent = 100;
  };
  struct Abort {
    uint32_t http_status = 0;  // exactly one of http_status and grpc_status is set
    std::optional<uint32_t> grpc_status;
    double percent = 100;
  };
  std::optional<Delay> delay;
  std::optional<Abort> abort;
};

struct Retries {
  uint32_t attempts = 0;
  std::optional<std::chrono::milliseconds> per_try_timeout;
  std::string retry_on;
};

struct HttpRoute {
  std::string name;
  std::vector<HttpMatch> matches;  // empty: matches every request
  std::vector<RouteDestination> route;
  std::optional<std::chrono::milliseconds> timeout;
  std::optional<Retries> retries;
  std::optional<FaultInjection> fault;
  int line = 0;
};

// Where a resource came from.
struct Origin {
  std::string file;
  int line = 0;
  std::string str() const { return file + ":" + std::to_string(line); }
};

struct VirtualService {
  std::string name;
  std::string namespace_;
  std::vector<std::string> hosts;  // FQDNs
  std::vector<HttpRoute> http;
  Origin origin;
};

struct LoadBalancer {
  enum class Kind { kRoundRobin, kLeastRequest, kRandom, kRingHash };
  Kind kind = Kind::kRoundRobin;
  std::string hash_header;  // for kRingHash: consistentHash.httpHeaderName ("" = channel id)
  uint64_t minimum_ring_size = 0;
};

struct Subset {
  std::string name;
  std::map<std::string, std::string> labels;
  std::optional<LoadBalancer> load_balancer;
};

struct DestinationRule {
  std::string name;
  std::string namespace_;
  std::string host;  // FQDN
  std::optional<LoadBalancer> load_balancer;
  std::vector<Subset> subsets;
  Origin origin;

  const Subset* findSubset(std::string_view subset_name) const;
};

struct RoutingConfig {
  std::vector<VirtualService> virtual_services;
  std::vector<DestinationRule> destination_rules;
  // ServiceEntries, already in the service model (hostname, ports, endpoints as instances).
  std::vector<model::Service> service_entries;

  const VirtualService* virtualServiceFor(std::string_view fqdn) const;
  const DestinationRule* destinationRuleFor(std::string_view fqdn) const;
};

struct ParseOptions {
  std::string domain_suffix = "svc.cluster.local";
  std::string default_namespace = "default";
};

// Expands a short host ("reviews" or "reviews.ns") in `ns` to its FQDN; hosts with two or more
// dots are taken as they are.
std::string expandHost(std::string_view host, std::string_view ns, const ParseOptions& options);

// Parses one file's YAML documents into `config`, appending errors (file:line). Documents of kinds
// other than the three are reported as errors, as are unknown fields.
void parseRoutingYaml(std::string_view text, const std::string& file_name,
                      const ParseOptions& options, RoutingConfig* config,
                      std::vector<ConfigError>* errors);

// Checks what a single document cannot: one VirtualService and one DestinationRule per host,
// destination subsets that some DestinationRule defines, route weights.
void validateRouting(const RoutingConfig& config, std::vector<ConfigError>* errors);

// Checks what translation will produce against the services it applies to (registry services
// and ServiceEntries): each VirtualService's routes are repeated for every port of every host
// it names, and each DestinationRule subset is a cluster per port. Errors at the resource's
// position when that exceeds the translation budget.
inline constexpr size_t kMaxTranslatedRouteEntries = 200000;
inline constexpr size_t kMaxTranslatedSubsetClusters = 100000;
void validateTranslationSize(const RoutingConfig& config,
                             const std::vector<model::Service>& services,
                             std::vector<ConfigError>* errors);

// Reads every *.yaml/*.yml of `dir` (name order), then validates. True if no errors.
bool loadRoutingDir(const std::string& dir, const ParseOptions& options, RoutingConfig* config,
                    std::vector<ConfigError>* errors);

}  // namespace pilot::config
