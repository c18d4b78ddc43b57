#include "pilot/model/file_registry.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>

#include "pilot/model/yaml_reader.h"

namespace pilot::model {
namespace {

bool isIpAddress(std::string_view s) {
  if (s.empty()) return false;
  if (s.find(':') != std::string_view::npos) {  // IPv6: hex digits, colons, dots
    return std::all_of(s.begin(), s.end(), [](char c) {
      return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
    });
  }
  int parts = 0;
  size_t start = 0;
  while (true) {
    const size_t dot = s.find('.', start);
    const std::string_view part =
        s.substr(start, dot == std::string_view::npos ? s.npos : dot - start);
    if (part.empty() || part.size() > 3 ||
        !std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        std::stoi(std::string(part)) > 255) {
      return false;
    }
    ++parts;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return parts == 4;
}

void parsePorts(const YAML::Node& node, YamlReader& r, Service* service) {
  if (!r.expectSequence(node, "ports")) return;
  if (node.size() > kMaxPortsPerService) {
    r.error(node, "service has " + std::to_string(node.size()) + " ports, more than " +
                      std::to_string(kMaxPortsPerService));
    return;
  }
  for (const YAML::Node& p : node) {
    if (!r.expectMap(p, "port", {"name", "number", "protocol"})) continue;
    ServicePort port;
    port.name = r.str(p, "name", false).value_or("");
    const auto number = r.integer(p, "number", true, 1, 65535);
    if (!number) continue;
    port.number = static_cast<uint32_t>(*number);
    if (const auto proto = r.str(p, "protocol", false)) {
      const auto parsed = parseProtocol(*proto);
      if (!parsed) {
        r.error(p["protocol"], "unknown protocol '" + *proto + "' (GRPC, HTTP2, HTTP, TCP)");
        continue;
      }
      port.protocol = *parsed;
    }
    if (service->findPort(port.number) != nullptr) {
      r.error(p, "port " + std::to_string(port.number) + " is declared twice");
      continue;
    }
    service->ports.push_back(port);
  }
}

void parseInstances(const YAML::Node& node, YamlReader& r, Service* service) {
  if (!r.expectSequence(node, "instances")) return;
  for (const YAML::Node& i : node) {
    if (!r.expectMap(i, "instance",
                     {"address", "port", "servicePort", "labels", "locality", "health"})) {
      continue;
    }
    ServiceInstance inst;
    const auto address = r.str(i, "address", true);
    const auto port = r.integer(i, "port", true, 1, 65535);
    if (!address || !port) continue;
    if (!isIpAddress(*address)) {
      r.error(i["address"], "instance address must be an IP address, got '" + *address + "'");
      continue;
    }
    inst.address = *address;
    inst.port = static_cast<uint32_t>(*port);
    if (const auto sp = r.integer(i, "servicePort", false, 1, 65535)) {
      if (service->findPort(static_cast<uint32_t>(*sp)) == nullptr) {
        r.error(i["servicePort"],
                "servicePort " + std::to_string(*sp) + " is not a port of " + service->hostname);
        continue;
      }
      inst.service_port = static_cast<uint32_t>(*sp);
    } else if (service->ports.size() == 1) {
      inst.service_port = service->ports[0].number;
    } else {
      r.error(i, "instance needs servicePort: " + service->hostname + " has " +
                     std::to_string(service->ports.size()) + " ports");
      continue;
    }
    inst.labels = r.stringMap(i, "labels");
    inst.locality = parseLocality(r.str(i, "locality", false).value_or(""));
    if (const auto h = r.str(i, "health", false)) {
      const auto parsed = parseHealth(*h);
      if (!parsed) {
        r.error(i["health"], "unknown health '" + *h + "' (HEALTHY, UNHEALTHY, DRAINING, UNKNOWN)");
        continue;
      }
      inst.health = *parsed;
    }
    service->instances.push_back(std::move(inst));
  }
}

}  // namespace

bool parseRegistryYaml(std::string_view text, const std::string& file_name,
                       std::vector<Service>* services, std::vector<ConfigError>* errors) {
  const size_t errors_before = errors->size();
  YamlReader r(file_name, errors);
  for (const YAML::Node& doc : loadDocuments(text, &r)) {
    if (!r.expectMap(doc, "registry file", {"services"})) continue;
    const YAML::Node list = doc["services"];
    if (!list.IsDefined() || list.IsNull()) continue;
    if (!r.expectSequence(list, "services")) continue;
    for (const YAML::Node& s : list) {
      if (!r.expectMap(s, "service",
                       {"hostname", "address", "ports", "serviceAccounts", "instances"})) {
        continue;
      }
      Service service;
      const auto hostname = r.str(s, "hostname", true);
      if (!hostname) continue;
      if (!isDnsName(*hostname)) {
        r.error(s["hostname"], "hostname '" + *hostname + "' is not a DNS name");
        continue;
      }
      service.hostname = *hostname;
      service.origin = file_name + ":" + std::to_string(YamlReader::lineOf(s));
      service.address = r.str(s, "address", false).value_or("");
      if (!s["ports"].IsDefined()) {
        r.error(s, "service " + service.hostname + " has no ports");
        continue;
      }
      parsePorts(s["ports"], r, &service);
      service.service_accounts = r.stringList(s, "serviceAccounts", false);
      if (s["instances"].IsDefined() && !s["instances"].IsNull()) {
        parseInstances(s["instances"], r, &service);
      }
      services->push_back(std::move(service));
    }
  }
  return errors->size() == errors_before;
}

std::vector<std::string> yamlFilesIn(const std::string& dir, std::string* error) {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.empty() || name[0] == '.' || !e.is_regular_file()) continue;
    if (name.ends_with(".yaml") || name.ends_with(".yml")) files.push_back(e.path().string());
  }
  if (ec) {
    *error = "cannot read directory " + dir + ": " + ec.message();
    return {};
  }
  std::sort(files.begin(), files.end());
  return files;
}

bool readFile(const std::string& path, std::string* contents, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = "cannot open " + path;
    return false;
  }
  contents->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return true;
}

std::string dirFingerprint(const std::string& dir) {
  std::string error;
  std::string out;
  for (const std::string& f : yamlFilesIn(dir, &error)) {
    std::string text;
    if (!readFile(f, &text, &error)) text = "\x01unreadable";
    out += f;
    out += '\0';
    out += std::to_string(text.size());
    out += '\0';
    out += text;
  }
  return error.empty() ? out : "\x01" + error;
}

bool mergeServices(std::vector<Service> all, bool ok, std::vector<Service>* services,
                   std::vector<ConfigError>* errors) {
  std::map<std::string, const Service*> seen;
  for (const Service& s : all) {
    auto [it, inserted] = seen.emplace(s.hostname, &s);
    if (!inserted) {
      const size_t colon = s.origin.rfind(':');
      errors->push_back(
          ConfigError{{s.origin.substr(0, colon), std::stoi(s.origin.substr(colon + 1))},
                      "service " + s.hostname + " is already declared at " + it->second->origin});
      ok = false;
    }
  }
  if (!ok) return false;
  std::sort(all.begin(), all.end(),
            [](const Service& a, const Service& b) { return a.hostname < b.hostname; });
  *services = std::move(all);
  return true;
}

bool FileRegistry::list(std::vector<Service>* services, std::vector<ConfigError>* errors) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string error;
  const std::vector<std::string> files = yamlFilesIn(dir_, &error);
  if (!error.empty()) {
    errors->push_back(ConfigError{{dir_, 1}, error});
    return false;
  }
  std::vector<Service> all;
  bool ok = true;
  for (const std::string& f : files) {
    std::string text;
    if (!readFile(f, &text, &error)) {
      errors->push_back(ConfigError{{f, 1}, error});
      ok = false;
      continue;
    }
    ok = parseRegistryYaml(text, f, &all, errors) && ok;
  }
  return mergeServices(std::move(all), ok, services, errors);
}

bool FileRegistry::watch(std::function<void()> on_change, std::string* error) {
  return watcher_.start(dir_, std::move(on_change), error);
}

void FileRegistry::stop() { watcher_.stop(); }

}  // namespace pilot::model
