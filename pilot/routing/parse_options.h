// What the parsers of the routing resources share: the options that qualify their short hosts
// and name a resource's default namespace, and where a resource came from (file:line, for errors).
// Plain values; thread-compatible.
#pragma once

#include <string>
#include <string_view>

#include "pilot/model/service.h"

namespace pilot::routing {

struct ParseOptions {
  std::string domain_suffix = "svc.cluster.local";
  std::string default_namespace = "default";
};

// Expands a short host ("reviews" or "reviews.ns") in `ns` to its FQDN; hosts with two or more
// dots are taken as they are.
inline std::string expandHost(std::string_view host, std::string_view ns,
                              const ParseOptions& options) {
  return model::expandHost(host, ns, options.domain_suffix);
}

// Where a resource came from.
struct Origin {
  std::string file;
  int line = 0;
  std::string str() const { return file + ":" + std::to_string(line); }
};

}  // namespace pilot::routing
