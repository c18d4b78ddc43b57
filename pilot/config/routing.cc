#include "pilot/config/routing.h"

#include <re2/re2.h>

#include <algorithm>
#include <set>

#include "mixer/common/grpc_codes.h"
#include "pilot/model/file_registry.h"
#include "pilot/model/yaml_reader.h"

namespace pilot::config {
namespace {

using model::YamlReader;

constexpr std::string_view kApiGroup = "networking.istio.io/";
constexpr size_t kMaxServiceEntryInstances = 10000;
constexpr size_t kMaxVirtualServiceCost = 20000;

// Istio's field names that pilot-discovery knows but cannot honour for proxyless gRPC clients;
// they are errors rather than silently dropped settings.
bool reportUnsupported(const YAML::Node& map, YamlReader& r, std::string_view what,
                       std::initializer_list<const char*> fields) {
  bool any = false;
  for (const char* f : fields) {
    if (map[f].IsDefined()) {
      r.error(map[f], std::string("field '") + f + "' of " + std::string(what) +
                          " is not supported by pilot-discovery");
      any = true;
    }
  }
  return any;
}

std::optional<StringMatch> parseStringMatch(const YAML::Node& node, YamlReader& r,
                                            std::string_view what) {
  if (!r.expectMap(node, what, {"exact", "prefix", "regex"})) return std::nullopt;
  std::optional<StringMatch> out;
  int count = 0;
  for (auto [key, kind] : {std::pair{"exact", StringMatch::Kind::kExact},
                           std::pair{"prefix", StringMatch::Kind::kPrefix},
                           std::pair{"regex", StringMatch::Kind::kRegex}}) {
    if (const auto v = r.str(node, key, false)) {
      ++count;
      out = StringMatch{kind, *v};
      if (kind == StringMatch::Kind::kRegex) {
        RE2 re(*v, RE2::Quiet);
        if (!re.ok()) {
          r.error(node[key], "invalid regex '" + *v + "': " + re.error());
          return std::nullopt;
        }
      }
    }
  }
  if (count != 1) {
    r.error(node, std::string(what) + " needs exactly one of exact, prefix, regex");
    return std::nullopt;
  }
  return out;
}

std::optional<double> parsePercentage(const YAML::Node& parent, YamlReader& r) {
  const YAML::Node p = parent["percentage"];
  if (p.IsDefined()) {
    if (!r.expectMap(p, "percentage", {"value"})) return std::nullopt;
    return r.number(p, "value", true, 0, 100);
  }
  if (parent["percent"].IsDefined()) {
    const auto v = r.integer(parent, "percent", true, 0, 100);
    if (!v) return std::nullopt;
    return static_cast<double>(*v);
  }
  return 100.0;
}

std::optional<FaultInjection> parseFault(const YAML::Node& node, YamlReader& r) {
  if (!r.expectMap(node, "fault", {"delay", "abort"})) return std::nullopt;
  FaultInjection fault;
  if (const YAML::Node d = node["delay"]; d.IsDefined()) {
    if (!r.expectMap(d, "fault delay", {"fixedDelay", "percentage", "percent"})) {
      return std::nullopt;
    }
    FaultInjection::Delay delay;
    const auto fixed = r.duration(d, "fixedDelay", true);
    const auto pct = parsePercentage(d, r);
    if (!fixed || !pct) return std::nullopt;
    delay.fixed_delay = *fixed;
    delay.percent = *pct;
    fault.delay = delay;
  }
  if (const YAML::Node a = node["abort"]; a.IsDefined()) {
    if (!r.expectMap(a, "fault abort", {"httpStatus", "grpcStatus", "percentage", "percent"})) {
      return std::nullopt;
    }
    FaultInjection::Abort abort;
    const bool http = a["httpStatus"].IsDefined();
    const bool grpc = a["grpcStatus"].IsDefined();
    if (http == grpc) {
      r.error(a, "fault abort needs exactly one of httpStatus, grpcStatus");
      return std::nullopt;
    }
    if (http) {
      const auto status = r.integer(a, "httpStatus", true, 200, 599);
      if (!status) return std::nullopt;
      abort.http_status = static_cast<uint32_t>(*status);
    } else {
      const auto text = r.str(a, "grpcStatus", true);
      if (!text) return std::nullopt;
      std::optional<uint32_t> code = mixer::grpcCodeByName(*text);
      if (!code && !text->empty() &&
          std::all_of(text->begin(), text->end(), [](char c) { return c >= '0' && c <= '9'; }) &&
          text->size() <= 2 && std::stoi(*text) <= 16) {
        code = static_cast<uint32_t>(std::stoi(*text));
      }
      if (!code || *code == 0) {
        r.error(a["grpcStatus"],
                "grpcStatus must be a non-OK gRPC status name such as "
                "UNAVAILABLE (or its number), got '" +
                    *text + "'");
        return std::nullopt;
      }
      abort.grpc_status = code;
    }
    const auto pct = parsePercentage(a, r);
    if (!pct) return std::nullopt;
    abort.percent = *pct;
    fault.abort = abort;
  }
  if (!fault.delay && !fault.abort) {
    r.error(node, "fault needs a delay or an abort");
    return std::nullopt;
  }
  return fault;
}

std::optional<HttpRoute> parseHttpRoute(const YAML::Node& node, YamlReader& r, std::string_view ns,
                                        const ParseOptions& options) {
  if (!r.expectMap(
          node, "http route",
          {"name", "match", "route", "timeout", "retries", "fault", "redirect", "rewrite", "mirror",
           "mirrorPercentage", "headers", "corsPolicy", "delegate", "directResponse"})) {
    return std::nullopt;
  }
  if (reportUnsupported(node, r, "an http route",
                        {"redirect", "rewrite", "mirror", "mirrorPercentage", "headers",
                         "corsPolicy", "delegate", "directResponse"})) {
    return std::nullopt;
  }
  HttpRoute route;
  route.line = YamlReader::lineOf(node);
  route.name = r.str(node, "name", false).value_or("");
  bool ok = true;
  if (const YAML::Node m = node["match"]; m.IsDefined() && !m.IsNull()) {
    if (!r.expectSequence(m, "match")) return std::nullopt;
    for (const YAML::Node& item : m) {
      if (!r.expectMap(item, "match",
                       {"name", "uri", "headers", "ignoreUriCase", "method", "authority", "port",
                        "queryParams", "sourceLabels", "gateways", "withoutHeaders",
                        "sourceNamespace", "scheme"})) {
        ok = false;
        continue;
      }
      if (reportUnsupported(item, r, "a match",
                            {"method", "authority", "port", "queryParams", "sourceLabels",
                             "gateways", "withoutHeaders", "sourceNamespace", "scheme"})) {
        ok = false;
        continue;
      }
      HttpMatch match;
      if (item["uri"].IsDefined()) {
        match.uri = parseStringMatch(item["uri"], r, "uri match");
        if (!match.uri) ok = false;
      }
      if (const YAML::Node h = item["headers"]; h.IsDefined()) {
        if (!h.IsMap()) {
          r.error(h, "headers must map header names to matches");
          ok = false;
        } else {
          for (const auto& kv : h) {
            std::string name = kv.first.IsScalar() ? kv.first.Scalar() : "";
            if (!model::isUtf8(name)) name = "";
            if (name.empty() || name[0] == ':') {
              r.error(kv.first, "header match needs an application header name, got '" + name +
                                    "' (pseudo-headers are not matched by gRPC clients)");
              ok = false;
              continue;
            }
            auto sm = parseStringMatch(kv.second, r, "header match");
            if (!sm) {
              ok = false;
              continue;
            }
            std::string lower = name;
            std::transform(lower.begin(), lower.end(), lower.begin(),
                           [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
            match.headers.emplace_back(lower, *sm);
          }
          std::sort(match.headers.begin(), match.headers.end(),
                    [](const auto& a, const auto& b) { return a.first < b.first; });
        }
      }
      if (item["ignoreUriCase"].IsDefined()) {
        const auto v = r.str(item, "ignoreUriCase", true);
        if (v != "true" && v != "false") {
          r.error(item["ignoreUriCase"], "ignoreUriCase must be true or false");
          ok = false;
        }
        match.ignore_uri_case = v == "true";
      }
      route.matches.push_back(std::move(match));
    }
  }
  const YAML::Node dests = node["route"];
  if (!dests.IsDefined() || dests.IsNull()) {
    r.error(node, "http route needs a 'route' list of destinations");
    return std::nullopt;
  }
  if (!r.expectSequence(dests, "route")) return std::nullopt;
  for (const YAML::Node& d : dests) {
    if (!r.expectMap(d, "route destination", {"destination", "weight", "headers"})) {
      ok = false;
      continue;
    }
    if (reportUnsupported(d, r, "a route destination", {"headers"})) {
      ok = false;
      continue;
    }
    const YAML::Node dest = d["destination"];
    if (!dest.IsDefined()) {
      r.error(d, "route destination needs a 'destination'");
      ok = false;
      continue;
    }
    if (!r.expectMap(dest, "destination", {"host", "subset", "port"})) {
      ok = false;
      continue;
    }
    RouteDestination rd;
    const auto host = r.str(dest, "host", true);
    if (!host) {
      ok = false;
      continue;
    }
    if (!model::isDnsName(*host)) {
      r.error(dest["host"], "destination host '" + *host + "' is not a DNS name");
      ok = false;
      continue;
    }
    rd.destination.host = expandHost(*host, ns, options);
    rd.destination.subset = r.str(dest, "subset", false).value_or("");
    if (rd.destination.subset.find('|') != std::string::npos) {
      r.error(dest["subset"], "subset name '" + rd.destination.subset + "' contains '|'");
      ok = false;
      continue;
    }
    if (const YAML::Node p = dest["port"]; p.IsDefined()) {
      if (!r.expectMap(p, "destination port", {"number"})) {
        ok = false;
        continue;
      }
      const auto number = r.integer(p, "number", true, 1, 65535);
      if (!number) {
        ok = false;
        continue;
      }
      rd.destination.port = static_cast<uint32_t>(*number);
    }
    if (d["weight"].IsDefined()) {
      const auto w = r.integer(d, "weight", true, 0, 100);
      if (!w) {
        ok = false;
        continue;
      }
      rd.weight = static_cast<uint32_t>(*w);
    } else if (dests.size() > 1) {
      rd.weight = 0;  // Istio: unset weights among several destinations count as 0
    }
    route.route.push_back(rd);
  }
  if (route.route.empty()) {
    if (ok) r.error(dests, "http route needs at least one destination");
    return std::nullopt;
  }
  if (route.route.size() > 1) {
    uint32_t total = 0;
    for (const RouteDestination& rd : route.route) total += rd.weight;
    if (total != 100) {
      r.error(dests, "route weights must add up to 100, got " + std::to_string(total));
      ok = false;
    }
  }
  if (node["timeout"].IsDefined()) {
    route.timeout = r.duration(node, "timeout", true);
    if (!route.timeout) ok = false;
  }
  if (const YAML::Node rt = node["retries"]; rt.IsDefined()) {
    if (!r.expectMap(rt, "retries",
                     {"attempts", "perTryTimeout", "retryOn", "retryRemoteLocalities"})) {
      return std::nullopt;
    }
    Retries retries;
    const auto attempts = r.integer(rt, "attempts", true, 0, 100);
    if (!attempts) return std::nullopt;
    retries.attempts = static_cast<uint32_t>(*attempts);
    if (rt["perTryTimeout"].IsDefined()) {
      retries.per_try_timeout = r.duration(rt, "perTryTimeout", true);
      if (!retries.per_try_timeout) ok = false;
    }
    retries.retry_on = r.str(rt, "retryOn", false).value_or("");
    route.retries = retries;
  }
  if (const YAML::Node f = node["fault"]; f.IsDefined()) {
    route.fault = parseFault(f, r);
    if (!route.fault) ok = false;
  }
  if (!ok) return std::nullopt;
  return route;
}

std::optional<LoadBalancer> parseLoadBalancer(const YAML::Node& policy, YamlReader& r) {
  if (!r.expectMap(policy, "trafficPolicy",
                   {"loadBalancer", "connectionPool", "outlierDetection", "tls",
                    "portLevelSettings", "tunnel"})) {
    return std::nullopt;
  }
  // Reported, and the load balancer is still checked so that one pass shows every problem.
  reportUnsupported(policy, r, "a trafficPolicy",
                    {"connectionPool", "outlierDetection", "tls", "portLevelSettings", "tunnel"});
  const YAML::Node lb = policy["loadBalancer"];
  if (!lb.IsDefined()) return std::nullopt;
  if (!r.expectMap(lb, "loadBalancer",
                   {"simple", "consistentHash", "localityLbSetting", "warmupDurationSecs"})) {
    return std::nullopt;
  }
  if (reportUnsupported(lb, r, "a loadBalancer", {"localityLbSetting", "warmupDurationSecs"})) {
    return std::nullopt;
  }
  LoadBalancer out;
  const bool simple = lb["simple"].IsDefined();
  const bool hash = lb["consistentHash"].IsDefined();
  if (simple == hash) {
    r.error(lb, "loadBalancer needs exactly one of simple, consistentHash");
    return std::nullopt;
  }
  if (simple) {
    const std::string s = r.str(lb, "simple", true).value_or("");
    if (s == "ROUND_ROBIN" || s == "UNSPECIFIED") {
      out.kind = LoadBalancer::Kind::kRoundRobin;
    } else if (s == "LEAST_REQUEST" || s == "LEAST_CONN") {
      out.kind = LoadBalancer::Kind::kLeastRequest;
    } else if (s == "RANDOM") {
      out.kind = LoadBalancer::Kind::kRandom;
    } else {
      r.error(lb["simple"], "unsupported load balancer '" + s +
                                "' (ROUND_ROBIN, LEAST_REQUEST, RANDOM, or consistentHash)");
      return std::nullopt;
    }
    return out;
  }
  const YAML::Node ch = lb["consistentHash"];
  if (!r.expectMap(ch, "consistentHash",
                   {"httpHeaderName", "minimumRingSize", "useSourceIp", "httpCookie",
                    "httpQueryParameterName", "ringHash", "maglev"})) {
    return std::nullopt;
  }
  if (reportUnsupported(
          ch, r, "consistentHash",
          {"useSourceIp", "httpCookie", "httpQueryParameterName", "ringHash", "maglev"})) {
    return std::nullopt;
  }
  out.kind = LoadBalancer::Kind::kRingHash;
  out.hash_header = r.str(ch, "httpHeaderName", false).value_or("");
  if (const auto size = r.integer(ch, "minimumRingSize", false, 1, 8 * 1024 * 1024)) {
    out.minimum_ring_size = static_cast<uint64_t>(*size);
  }
  return out;
}

void parseVirtualService(const YAML::Node& spec, const Origin& origin, std::string name,
                         std::string ns, YamlReader& r, const ParseOptions& options,
                         RoutingConfig* config) {
  if (!r.expectMap(spec, "VirtualService spec",
                   {"hosts", "gateways", "http", "tcp", "tls", "exportTo"})) {
    return;
  }
  if (reportUnsupported(spec, r, "a VirtualService", {"tcp", "tls"})) return;
  VirtualService vs;
  vs.name = std::move(name);
  vs.namespace_ = std::move(ns);
  vs.origin = origin;
  for (const std::string& h : r.stringList(spec, "hosts", true)) {
    if (!model::isDnsName(h)) {
      r.error(spec["hosts"], "host '" + h + "' is not a service host (a DNS name)");
      return;
    }
    vs.hosts.push_back(expandHost(h, vs.namespace_, options));
  }
  if (vs.hosts.empty()) return;
  bool ok = true;
  if (const YAML::Node http = spec["http"]; http.IsDefined() && !http.IsNull()) {
    if (!r.expectSequence(http, "http")) return;
    for (const YAML::Node& item : http) {
      auto route = parseHttpRoute(item, r, vs.namespace_, options);
      if (!route) {
        ok = false;
        continue;
      }
      vs.http.push_back(std::move(*route));
    }
  }
  // Each match becomes a route carrying its headers and destinations, once per service port:
  // bounded so that aliases cannot turn a small file into an enormous route table.
  size_t cost = 0;
  for (const HttpRoute& route : vs.http) {
    const size_t per_match = 1 + route.route.size();
    if (route.matches.empty()) cost += per_match;
    for (const HttpMatch& m : route.matches) cost += per_match + m.headers.size();
  }
  if (cost > kMaxVirtualServiceCost) {
    r.error(spec["http"], "VirtualService has " + std::to_string(cost) +
                              " route entries (matches x (headers + destinations)), more than " +
                              std::to_string(kMaxVirtualServiceCost));
    return;
  }
  if (ok) config->virtual_services.push_back(std::move(vs));
}

void parseDestinationRule(const YAML::Node& spec, const Origin& origin, std::string name,
                          std::string ns, YamlReader& r, const ParseOptions& options,
                          RoutingConfig* config) {
  if (!r.expectMap(spec, "DestinationRule spec",
                   {"host", "trafficPolicy", "subsets", "exportTo", "workloadSelector"})) {
    return;
  }
  if (reportUnsupported(spec, r, "a DestinationRule", {"workloadSelector"})) return;
  DestinationRule dr;
  dr.name = std::move(name);
  dr.namespace_ = std::move(ns);
  dr.origin = origin;
  const auto host = r.str(spec, "host", true);
  if (!host) return;
  if (!model::isDnsName(*host)) {
    r.error(spec["host"], "host '" + *host + "' is not a DNS name");
    return;
  }
  dr.host = expandHost(*host, dr.namespace_, options);
  bool ok = true;
  if (spec["trafficPolicy"].IsDefined()) {
    dr.load_balancer = parseLoadBalancer(spec["trafficPolicy"], r);
  }
  if (const YAML::Node subsets = spec["subsets"]; subsets.IsDefined() && !subsets.IsNull()) {
    if (!r.expectSequence(subsets, "subsets")) return;
    std::set<std::string> names;
    for (const YAML::Node& s : subsets) {
      if (!r.expectMap(s, "subset", {"name", "labels", "trafficPolicy"})) {
        ok = false;
        continue;
      }
      Subset subset;
      const auto sname = r.str(s, "name", true);
      if (!sname) {
        ok = false;
        continue;
      }
      if (sname->empty() || sname->find('|') != std::string::npos) {
        r.error(s["name"], "subset name '" + *sname + "' is empty or contains '|'");
        ok = false;
        continue;
      }
      if (!names.insert(*sname).second) {
        r.error(s["name"], "subset '" + *sname + "' is defined twice");
        ok = false;
        continue;
      }
      subset.name = *sname;
      subset.labels = r.stringMap(s, "labels");
      if (s["trafficPolicy"].IsDefined()) {
        subset.load_balancer = parseLoadBalancer(s["trafficPolicy"], r);
      }
      dr.subsets.push_back(std::move(subset));
    }
  }
  if (ok) config->destination_rules.push_back(std::move(dr));
}

void parseServiceEntry(const YAML::Node& spec, const Origin& origin, std::string ns, YamlReader& r,
                       const ParseOptions& options, RoutingConfig* config) {
  if (!r.expectMap(spec, "ServiceEntry spec",
                   {"hosts", "addresses", "ports", "location", "resolution", "endpoints",
                    "exportTo", "subjectAltNames", "workloadSelector"})) {
    return;
  }
  if (reportUnsupported(spec, r, "a ServiceEntry", {"workloadSelector"})) return;
  const std::vector<std::string> hosts = r.stringList(spec, "hosts", true);
  for (const std::string& h : hosts) {
    if (!model::isDnsName(h)) {
      r.error(spec["hosts"], "host '" + h + "' is not a DNS name");
      return;
    }
  }
  const std::vector<std::string> addresses = r.stringList(spec, "addresses", false);
  const std::string resolution = r.str(spec, "resolution", false).value_or("NONE");
  model::Resolution res;
  if (resolution == "STATIC") {
    res = model::Resolution::kStatic;
  } else if (resolution == "DNS" || resolution == "DNS_ROUND_ROBIN") {
    res = model::Resolution::kDns;
  } else {
    r.error(spec["resolution"].IsDefined() ? spec["resolution"] : spec,
            "resolution must be STATIC or DNS for proxyless clients, got '" + resolution + "'");
    return;
  }
  std::vector<std::pair<model::ServicePort, uint32_t>> ports;  // port, target port
  const YAML::Node pl = spec["ports"];
  if (!pl.IsDefined() || !r.expectSequence(pl, "ports")) {
    if (!pl.IsDefined()) r.error(spec, "ServiceEntry needs ports");
    return;
  }
  if (pl.size() > model::kMaxPortsPerService) {
    r.error(pl, "ServiceEntry has " + std::to_string(pl.size()) + " ports, more than " +
                    std::to_string(model::kMaxPortsPerService));
    return;
  }
  for (const YAML::Node& p : pl) {
    if (!r.expectMap(p, "port", {"number", "protocol", "name", "targetPort"})) return;
    model::ServicePort port;
    const auto number = r.integer(p, "number", true, 1, 65535);
    if (!number) return;
    port.number = static_cast<uint32_t>(*number);
    port.name = r.str(p, "name", false).value_or("");
    if (const auto proto = r.str(p, "protocol", false)) {
      const auto parsed = model::parseProtocol(*proto);
      if (!parsed) {
        r.error(p["protocol"], "unknown protocol '" + *proto + "'");
        return;
      }
      port.protocol = *parsed;
    }
    const auto target = r.integer(p, "targetPort", false, 1, 65535);
    for (const auto& [seen, t] : ports) {
      if (seen.number == port.number) {
        r.error(p, "port " + std::to_string(port.number) + " is declared twice");
        return;
      }
    }
    ports.emplace_back(port, target ? static_cast<uint32_t>(*target) : port.number);
  }
  if (hosts.size() * ports.size() > kMaxServiceEntryInstances) {
    r.error(pl, "ServiceEntry has " + std::to_string(hosts.size() * ports.size()) +
                    " host x port combinations, more than " +
                    std::to_string(kMaxServiceEntryInstances));
    return;
  }
  std::vector<model::ServiceInstance> instances;
  if (const YAML::Node eps = spec["endpoints"]; eps.IsDefined() && !eps.IsNull()) {
    if (!r.expectSequence(eps, "endpoints")) return;
    // hosts x ports x endpoints resources: bounded so that one entry cannot exhaust memory.
    const size_t product = std::max<size_t>(1, hosts.size()) * ports.size() * eps.size();
    if (product > kMaxServiceEntryInstances) {
      r.error(eps, "ServiceEntry has " + std::to_string(product) +
                       " host x port x endpoint combinations, more than " +
                       std::to_string(kMaxServiceEntryInstances));
      return;
    }
    for (const YAML::Node& e : eps) {
      if (!r.expectMap(
              e, "endpoint",
              {"address", "ports", "labels", "locality", "weight", "network", "serviceAccount"})) {
        return;
      }
      const auto address = r.str(e, "address", true);
      if (!address) return;
      if (!model::isDnsName(*address) &&
          address->find_first_not_of("0123456789abcdefABCDEF:.") != std::string::npos) {
        r.error(e["address"],
                "endpoint address '" + *address + "' is neither an IP nor a DNS name");
        return;
      }
      const auto port_map = r.stringMap(e, "ports");
      for (const auto& [port, target] : ports) {
        model::ServiceInstance inst;
        inst.address = *address;
        inst.service_port = port.number;
        inst.port = target;
        if (auto it = port_map.find(port.name); it != port_map.end()) {
          inst.port = static_cast<uint32_t>(std::atoi(it->second.c_str()));
          if (inst.port == 0 || inst.port > 65535) {
            r.error(e["ports"], "endpoint port '" + it->second + "' is not a port number");
            return;
          }
        }
        inst.labels = r.stringMap(e, "labels");
        inst.locality = model::parseLocality(r.str(e, "locality", false).value_or(""));
        instances.push_back(std::move(inst));
      }
    }
  }
  if (res == model::Resolution::kStatic) {
    for (const auto& inst : instances) {
      if (inst.address.find_first_not_of("0123456789.:abcdefABCDEF") != std::string::npos) {
        r.error(spec["endpoints"],
                "STATIC endpoint address must be an IP, got '" + inst.address + "'");
        return;
      }
    }
  }
  for (const std::string& h : hosts) {
    model::Service s;
    s.hostname = expandHost(h, ns, options);
    s.address = addresses.empty() ? "" : addresses[0];
    for (const auto& [port, target] : ports) s.ports.push_back(port);
    s.resolution = res;
    s.instances = instances;
    if (res == model::Resolution::kDns && s.instances.empty()) {
      for (const auto& [port, target] : ports) {
        model::ServiceInstance inst;
        inst.address = s.hostname;
        inst.port = target;
        inst.service_port = port.number;
        s.instances.push_back(inst);
      }
    }
    s.origin = origin.str();
    config->service_entries.push_back(std::move(s));
  }
}

}  // namespace

std::string expandHost(std::string_view host, std::string_view ns, const ParseOptions& options) {
  const size_t dots = std::count(host.begin(), host.end(), '.');
  if (dots == 0) return std::string(host) + "." + std::string(ns) + "." + options.domain_suffix;
  if (dots == 1) return std::string(host) + "." + options.domain_suffix;
  return std::string(host);
}

const Subset* DestinationRule::findSubset(std::string_view subset_name) const {
  for (const Subset& s : subsets) {
    if (s.name == subset_name) return &s;
  }
  return nullptr;
}

const VirtualService* RoutingConfig::virtualServiceFor(std::string_view fqdn) const {
  for (const VirtualService& vs : virtual_services) {
    for (const std::string& h : vs.hosts) {
      if (h == fqdn) return &vs;
    }
  }
  return nullptr;
}

const DestinationRule* RoutingConfig::destinationRuleFor(std::string_view fqdn) const {
  for (const DestinationRule& dr : destination_rules) {
    if (dr.host == fqdn) return &dr;
  }
  return nullptr;
}

void parseRoutingYaml(std::string_view text, const std::string& file_name,
                      const ParseOptions& options, RoutingConfig* config,
                      std::vector<ConfigError>* errors) {
  YamlReader r(file_name, errors);
  for (const YAML::Node& doc : loadDocuments(text, &r)) {
    if (!r.expectMap(doc, "resource", {"apiVersion", "kind", "metadata", "spec", "status"})) {
      continue;
    }
    const auto api = r.str(doc, "apiVersion", true);
    const auto kind = r.str(doc, "kind", true);
    if (!api || !kind) continue;
    if (!api->starts_with(kApiGroup) ||
        (*api != "networking.istio.io/v1alpha3" && *api != "networking.istio.io/v1beta1" &&
         *api != "networking.istio.io/v1")) {
      r.error(doc["apiVersion"],
              "apiVersion must be networking.istio.io/v1alpha3, v1beta1 or "
              "v1, got '" +
                  *api + "'");
      continue;
    }
    const YAML::Node meta = doc["metadata"];
    if (!meta.IsDefined()) {
      r.error(doc, "missing required field 'metadata'");
      continue;
    }
    if (!r.expectMap(meta, "metadata",
                     {"name", "namespace", "labels", "annotations", "resourceVersion", "uid",
                      "generation", "creationTimestamp"})) {
      continue;
    }
    const auto name = r.str(meta, "name", true);
    if (!name) continue;
    const std::string ns = r.str(meta, "namespace", false).value_or(options.default_namespace);
    if (!model::isDnsName(ns) || ns.find('.') != std::string::npos) {
      r.error(meta["namespace"], "namespace '" + ns + "' is not a DNS label");
      continue;
    }
    const YAML::Node spec = doc["spec"];
    if (!spec.IsDefined()) {
      r.error(doc, "missing required field 'spec'");
      continue;
    }
    const Origin origin{file_name, YamlReader::lineOf(doc)};
    if (*kind == "VirtualService") {
      parseVirtualService(spec, origin, *name, ns, r, options, config);
    } else if (*kind == "DestinationRule") {
      parseDestinationRule(spec, origin, *name, ns, r, options, config);
    } else if (*kind == "ServiceEntry") {
      parseServiceEntry(spec, origin, ns, r, options, config);
    } else {
      r.error(doc["kind"],
              "unsupported kind '" + *kind + "' (VirtualService, DestinationRule, ServiceEntry)");
    }
  }
}

void validateRouting(const RoutingConfig& config, std::vector<ConfigError>* errors) {
  std::map<std::string, const VirtualService*> vs_by_host;
  for (const VirtualService& vs : config.virtual_services) {
    for (const std::string& h : vs.hosts) {
      auto [it, inserted] = vs_by_host.emplace(h, &vs);
      if (!inserted) {
        errors->push_back({vs.origin.file, vs.origin.line,
                           "host " + h + " already has VirtualService " + it->second->name +
                               " at " + it->second->origin.str()});
      }
    }
  }
  std::map<std::string, const DestinationRule*> dr_by_host;
  for (const DestinationRule& dr : config.destination_rules) {
    auto [it, inserted] = dr_by_host.emplace(dr.host, &dr);
    if (!inserted) {
      errors->push_back({dr.origin.file, dr.origin.line,
                         "host " + dr.host + " already has DestinationRule " + it->second->name +
                             " at " + it->second->origin.str()});
    }
  }
  for (const VirtualService& vs : config.virtual_services) {
    for (const HttpRoute& route : vs.http) {
      for (const RouteDestination& rd : route.route) {
        if (rd.destination.subset.empty()) continue;
        auto it = dr_by_host.find(rd.destination.host);
        if (it == dr_by_host.end() || it->second->findSubset(rd.destination.subset) == nullptr) {
          errors->push_back({vs.origin.file, route.line,
                             "subset '" + rd.destination.subset + "' of " + rd.destination.host +
                                 " is not defined by any DestinationRule"});
        }
      }
    }
  }
}

namespace {

size_t routeEntries(const VirtualService& vs) {
  size_t cost = 0;
  for (const HttpRoute& route : vs.http) {
    const size_t per_match = 1 + route.route.size();
    if (route.matches.empty()) cost += per_match;
    for (const HttpMatch& m : route.matches) cost += per_match + m.headers.size();
  }
  return cost;
}

}  // namespace

void validateTranslationSize(const RoutingConfig& config,
                             const std::vector<model::Service>& services,
                             std::vector<ConfigError>* errors) {
  std::map<std::string, size_t> ports;
  for (const model::Service& s : config.service_entries) ports[s.hostname] = s.ports.size();
  for (const model::Service& s : services) ports[s.hostname] = s.ports.size();
  size_t routes = 0;
  for (const VirtualService& vs : config.virtual_services) {
    size_t host_ports = 0;
    for (const std::string& h : vs.hosts) {
      if (auto it = ports.find(h); it != ports.end()) host_ports += it->second;
    }
    routes += routeEntries(vs) * host_ports;
    if (routes > kMaxTranslatedRouteEntries) {
      errors->push_back({vs.origin.file, vs.origin.line,
                         "VirtualService " + vs.name +
                             " brings the route entries across all "
                             "service ports to more than " +
                             std::to_string(kMaxTranslatedRouteEntries)});
      return;
    }
  }
  size_t clusters = 0;
  for (const DestinationRule& dr : config.destination_rules) {
    if (auto it = ports.find(dr.host); it != ports.end()) {
      clusters += dr.subsets.size() * it->second;
    }
    if (clusters > kMaxTranslatedSubsetClusters) {
      errors->push_back({dr.origin.file, dr.origin.line,
                         "DestinationRule " + dr.name +
                             " brings the subset clusters across all "
                             "service ports to more than " +
                             std::to_string(kMaxTranslatedSubsetClusters)});
      return;
    }
  }
}

bool loadRoutingDir(const std::string& dir, const ParseOptions& options, RoutingConfig* config,
                    std::vector<ConfigError>* errors) {
  const size_t before = errors->size();
  std::string error;
  const std::vector<std::string> files = model::yamlFilesIn(dir, &error);
  if (!error.empty()) {
    errors->push_back({dir, 1, error});
    return false;
  }
  RoutingConfig loaded;
  for (const std::string& f : files) {
    std::string text;
    if (!model::readFile(f, &text, &error)) {
      errors->push_back({f, 1, error});
      continue;
    }
    parseRoutingYaml(text, f, options, &loaded, errors);
  }
  validateRouting(loaded, errors);
  if (errors->size() != before) return false;
  *config = std::move(loaded);
  return true;
}

}  // namespace pilot::config
