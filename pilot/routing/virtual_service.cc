#include "pilot/routing/virtual_service.h"

#include <re2/re2.h>

#include <algorithm>
#include <cctype>

#include "base/grpc_codes.h"

namespace pilot::routing {
namespace {

using model::YamlReader;

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
      std::optional<uint32_t> code = mixer::base::grpcCodeByName(*text);
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
  if (r.reportUnsupported(node, "an http route",
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
      if (r.reportUnsupported(item, "a match",
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
    if (r.reportUnsupported(d, "a route destination", {"headers"})) {
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

}  // namespace

size_t routeEntries(const VirtualService& vs) {
  size_t cost = 0;
  for (const HttpRoute& route : vs.http) {
    const size_t per_match = 1 + route.route.size();
    if (route.matches.empty()) cost += per_match;
    for (const HttpMatch& m : route.matches) cost += per_match + m.headers.size();
  }
  return cost;
}

std::optional<VirtualService> parseVirtualService(const YAML::Node& spec, const Origin& origin,
                                                  std::string name, std::string ns, YamlReader& r,
                                                  const ParseOptions& options) {
  if (!r.expectMap(spec, "VirtualService spec",
                   {"hosts", "gateways", "http", "tcp", "tls", "exportTo"})) {
    return std::nullopt;
  }
  if (r.reportUnsupported(spec, "a VirtualService", {"tcp", "tls"})) return std::nullopt;
  VirtualService vs;
  vs.name = std::move(name);
  vs.namespace_ = std::move(ns);
  vs.origin = origin;
  for (const std::string& h : r.stringList(spec, "hosts", true)) {
    if (!model::isDnsName(h)) {
      r.error(spec["hosts"], "host '" + h + "' is not a service host (a DNS name)");
      return std::nullopt;
    }
    vs.hosts.push_back(expandHost(h, vs.namespace_, options));
  }
  if (vs.hosts.empty()) return std::nullopt;
  bool ok = true;
  if (const YAML::Node http = spec["http"]; http.IsDefined() && !http.IsNull()) {
    if (!r.expectSequence(http, "http")) return std::nullopt;
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
  const size_t cost = routeEntries(vs);
  if (cost > kMaxVirtualServiceRouteEntries) {
    r.error(spec["http"], "VirtualService has " + std::to_string(cost) +
                              " route entries (matches x (headers + destinations)), more than " +
                              std::to_string(kMaxVirtualServiceRouteEntries));
    return std::nullopt;
  }
  if (!ok) return std::nullopt;
  return vs;
}

}  // namespace pilot::routing
