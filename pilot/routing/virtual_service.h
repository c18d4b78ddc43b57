// VirtualService (networking.istio.io v1alpha3, v1beta1 and v1): how requests for a set of hosts
// are routed — matches on the path and headers, weighted destinations (host, subset, port),
// timeouts, retries and fault injection. Plain values; thread-compatible.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "pilot/model/yaml_reader.h"
#include "pilot/routing/parse_options.h"

namespace pilot::routing {

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

struct VirtualService {
  std::string name;
  std::string namespace_;
  std::vector<std::string> hosts;  // FQDNs
  std::vector<HttpRoute> http;
  Origin origin;
};

// What the translation makes of one VirtualService per service port: each match (or the route
// itself when it has none) is a route entry carrying its headers and destinations, so
// sum over matches of (1 + destinations + headers).
size_t routeEntries(const VirtualService& vs);

// Bound on routeEntries() of one VirtualService, so that aliases cannot turn a small file into an
// enormous route table.
inline constexpr size_t kMaxVirtualServiceRouteEntries = 20000;

// Reads the spec of the VirtualService `name` in namespace `ns`, declared at `origin`, reporting
// errors to `r`. Hosts and destination hosts are expanded to FQDNs in `ns`; unknown fields, and
// Istio fields that proxyless clients cannot honour, are errors. Returns the VirtualService only
// if no route had an error. Subsets are checked against DestinationRules by validateRouting
// (routing_config.h).
std::optional<VirtualService> parseVirtualService(const YAML::Node& spec, const Origin& origin,
                                                  std::string name, std::string ns,
                                                  model::YamlReader& r,
                                                  const ParseOptions& options);

}  // namespace pilot::routing
