#include "pilot/routing/destination_rule.h"

#include <set>

namespace pilot::routing {
namespace {

using model::YamlReader;

std::optional<LoadBalancer> parseLoadBalancer(const YAML::Node& policy, YamlReader& r) {
  if (!r.expectMap(policy, "trafficPolicy",
                   {"loadBalancer", "connectionPool", "outlierDetection", "tls",
                    "portLevelSettings", "tunnel"})) {
    return std::nullopt;
  }
  // Reported, and the load balancer is still checked so that one pass shows every problem.
  r.reportUnsupported(policy, "a trafficPolicy",
                      {"connectionPool", "outlierDetection", "tls", "portLevelSettings", "tunnel"});
  const YAML::Node lb = policy["loadBalancer"];
  if (!lb.IsDefined()) return std::nullopt;
  if (!r.expectMap(lb, "loadBalancer",
                   {"simple", "consistentHash", "localityLbSetting", "warmupDurationSecs"})) {
    return std::nullopt;
  }
  if (r.reportUnsupported(lb, "a loadBalancer", {"localityLbSetting", "warmupDurationSecs"})) {
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
  if (r.reportUnsupported(
          ch, "consistentHash",
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

}  // namespace

const Subset* DestinationRule::findSubset(std::string_view subset_name) const {
  for (const Subset& s : subsets) {
    if (s.name == subset_name) return &s;
  }
  return nullptr;
}

std::optional<DestinationRule> parseDestinationRule(const YAML::Node& spec, const Origin& origin,
                                                    std::string name, std::string ns, YamlReader& r,
                                                    const ParseOptions& options) {
  if (!r.expectMap(spec, "DestinationRule spec",
                   {"host", "trafficPolicy", "subsets", "exportTo", "workloadSelector"})) {
    return std::nullopt;
  }
  if (r.reportUnsupported(spec, "a DestinationRule", {"workloadSelector"})) return std::nullopt;
  DestinationRule dr;
  dr.name = std::move(name);
  dr.namespace_ = std::move(ns);
  dr.origin = origin;
  const auto host = r.str(spec, "host", true);
  if (!host) return std::nullopt;
  if (!model::isDnsName(*host)) {
    r.error(spec["host"], "host '" + *host + "' is not a DNS name");
    return std::nullopt;
  }
  dr.host = expandHost(*host, dr.namespace_, options);
  bool ok = true;
  if (spec["trafficPolicy"].IsDefined()) {
    dr.load_balancer = parseLoadBalancer(spec["trafficPolicy"], r);
  }
  if (const YAML::Node subsets = spec["subsets"]; subsets.IsDefined() && !subsets.IsNull()) {
    if (!r.expectSequence(subsets, "subsets")) return std::nullopt;
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
  if (!ok) return std::nullopt;
  return dr;
}

}  // namespace pilot::routing
