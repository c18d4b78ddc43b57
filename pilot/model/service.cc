#include "pilot/model/service.h"

#include <algorithm>
#include <cctype>

namespace pilot::model {
namespace {

std::string upper(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return out;
}

}  // namespace

std::optional<Protocol> parseProtocol(std::string_view name) {
  const std::string u = upper(name);
  if (u == "GRPC") return Protocol::kGrpc;
  if (u == "HTTP2") return Protocol::kHttp2;
  if (u == "HTTP") return Protocol::kHttp;
  if (u == "TCP") return Protocol::kTcp;
  return std::nullopt;
}

std::string_view protocolName(Protocol protocol) {
  switch (protocol) {
    case Protocol::kGrpc:
      return "GRPC";
    case Protocol::kHttp2:
      return "HTTP2";
    case Protocol::kHttp:
      return "HTTP";
    case Protocol::kTcp:
      return "TCP";
  }
  return "GRPC";
}

std::optional<Health> parseHealth(std::string_view name) {
  const std::string u = upper(name);
  if (u == "HEALTHY") return Health::kHealthy;
  if (u == "UNHEALTHY") return Health::kUnhealthy;
  if (u == "DRAINING") return Health::kDraining;
  if (u == "UNKNOWN") return Health::kUnknown;
  return std::nullopt;
}

std::string_view healthName(Health health) {
  switch (health) {
    case Health::kHealthy:
      return "HEALTHY";
    case Health::kUnhealthy:
      return "UNHEALTHY";
    case Health::kDraining:
      return "DRAINING";
    case Health::kUnknown:
      return "UNKNOWN";
  }
  return "UNKNOWN";
}

Locality parseLocality(std::string_view text) {
  Locality l;
  std::string* parts[] = {&l.region, &l.zone, &l.sub_zone};
  size_t part = 0;
  size_t start = 0;
  while (part < 3 && start <= text.size()) {
    const size_t slash = part == 2 ? std::string_view::npos : text.find('/', start);
    const size_t end = slash == std::string_view::npos ? text.size() : slash;
    *parts[part++] = std::string(text.substr(start, end - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return l;
}

std::string expandHost(std::string_view host, std::string_view ns, std::string_view domain_suffix) {
  const size_t dots = std::count(host.begin(), host.end(), '.');
  if (dots == 0)
    return std::string(host) + "." + std::string(ns) + "." + std::string(domain_suffix);
  if (dots == 1) return std::string(host) + "." + std::string(domain_suffix);
  return std::string(host);
}

const ServicePort* Service::findPort(uint32_t number) const {
  for (const ServicePort& p : ports) {
    if (p.number == number) return &p;
  }
  return nullptr;
}

std::string formatError(const ConfigError& error) {
  return error.pos.file + ":" + std::to_string(error.pos.line) + ": " + error.message;
}

std::string formatErrors(const std::vector<ConfigError>& errors) {
  std::string out;
  for (const ConfigError& e : errors) {
    out += formatError(e);
    out += '\n';
  }
  return out;
}

}  // namespace pilot::model
