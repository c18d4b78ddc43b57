// The abstract service model that every registry produces and the xDS translation consumes:
// services (hostname, address, ports with protocol, service accounts) and their instances
// (address, port, labels such as version, locality, health). Plain values; thread-compatible.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/yaml_reader.h"

namespace pilot::model {

enum class Protocol { kGrpc, kHttp2, kHttp, kTcp };

// Parses Istio's protocol names (GRPC, HTTP2, HTTP, TCP; case-insensitive).
std::optional<Protocol> parseProtocol(std::string_view name);
std::string_view protocolName(Protocol protocol);

// Expands a short host ("reviews" or "reviews.ns") in namespace `ns` to its FQDN
// ("reviews.ns.<domain_suffix>"); hosts with two or more dots are taken as they are.
std::string expandHost(std::string_view host, std::string_view ns, std::string_view domain_suffix);

// Every port is translated into its own listeners, routes and clusters; real services have a
// handful.
inline constexpr size_t kMaxPortsPerService = 100;

struct ServicePort {
  std::string name;
  uint32_t number = 0;
  Protocol protocol = Protocol::kGrpc;

  bool operator==(const ServicePort&) const = default;
};

enum class Health { kHealthy, kUnhealthy, kDraining, kUnknown };

std::optional<Health> parseHealth(std::string_view name);
std::string_view healthName(Health health);

struct Locality {
  std::string region;
  std::string zone;
  std::string sub_zone;

  bool operator==(const Locality&) const = default;
  auto operator<=>(const Locality&) const = default;
};

// Parses "region/zone/sub_zone" (trailing parts optional, "" is the empty locality).
Locality parseLocality(std::string_view text);

// One endpoint of a service: traffic for `service_port` of the service goes to address:port.
struct ServiceInstance {
  std::string address;
  uint32_t port = 0;
  uint32_t service_port = 0;
  std::map<std::string, std::string> labels;
  Locality locality;
  Health health = Health::kHealthy;

  bool operator==(const ServiceInstance&) const = default;
};

// Where a service is resolved: instances listed by a registry (served as EDS), or a DNS name the
// client resolves itself (a ServiceEntry with resolution DNS).
enum class Resolution { kStatic, kDns };

struct Service {
  std::string hostname;  // fully qualified, e.g. reviews.default.svc.cluster.local
  std::string address;   // optional virtual IP
  std::vector<ServicePort> ports;
  std::vector<std::string> service_accounts;
  Resolution resolution = Resolution::kStatic;
  std::vector<ServiceInstance> instances;
  // Where the service was declared ("file:line"), for error messages.
  std::string origin;

  const ServicePort* findPort(uint32_t number) const;
  // Equal in everything but the instances: the same resources apart from endpoints.
  bool sameShape(const Service& other) const {
    return hostname == other.hostname && address == other.address && ports == other.ports &&
           service_accounts == other.service_accounts && resolution == other.resolution;
  }
};

// A configuration or registry problem with its position: the shared error type of every module
// that reads operator-written YAML. pos.column is the 1-based column of the node the error is
// about, 0 when only the line is known (the Rules API turns the position into a field path).
using ConfigError = mixer::base::YamlError;

// "file:line: message": pilot reports positions without the column ("file:0: message" when the
// line is 0).
std::string formatError(const ConfigError& error);
// Each error formatted by formatError(), one a line.
std::string formatErrors(const std::vector<ConfigError>& errors);

// A source of services. Implementations decide where services come from (a directory of YAML
// files, Consul, Kubernetes, etcd); the discovery server only sees this interface. Implementations
// must be thread-safe: list() may be called from the push thread while watch() callbacks fire.
class ServiceRegistry {
 public:
  virtual ~ServiceRegistry() = default;

  // The registry's current services, sorted by hostname; on failure the errors, each with its
  // position. A failed list() leaves it to the caller to keep serving the last good result.
  virtual bool list(std::vector<Service>* services, std::vector<ConfigError>* errors) = 0;

  // Starts calling `on_change` (from any thread) whenever the services may have changed. The
  // callback may fire spuriously; the caller debounces and compares.
  virtual bool watch(std::function<void()> on_change, std::string* error) = 0;

  // Stops the notifications; no callback runs after stop() returns.
  virtual void stop() = 0;
};

}  // namespace pilot::model
