// MonitoringServer: a binary's self-monitoring HTTP endpoints, one implementation for mixs and
// pilot-discovery:
//   /metrics  Prometheus text exposition of the binary's registry
//   /healthz  200 while the process serves
//   /readyz   200 while Options::ready says so, else 503 (only with Options::ready)
//   /version  Options::version_json (only when set)
// plus the binary's own routes (mixs' /status pages, pilot's /debug/* views), tried first.
// Served by one event-loop thread (http_server.h), never on a request-serving thread, so idle or
// slow clients cannot starve the probes. Thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <prometheus/registry.h>

#include "absl/status/statusor.h"
#include "base/http_server.h"

namespace mixer {

class MonitoringServer {
 public:
  struct Route {
    // True for the paths this route serves.
    std::function<bool(std::string_view path)> serves;
    std::function<HttpResponse(const HttpRequest&)> handle;
    // Every method reaches it; else only GET and HEAD do (others get 405), as for the built-in
    // endpoints.
    bool any_method = false;
  };
  struct Options {
    std::string host;  // "" = every interface
    int port = 0;      // 0 = a free port
    std::shared_ptr<prometheus::Registry> registry;
    std::function<bool()> ready;  // null: no /readyz
    std::string version_json;     // empty: no /version
    std::vector<Route> routes;
    // The 404 body: the paths to try.
    std::string not_found = "not found\n";
    // For routes that take a POST (mixs' log-level form): the largest body read.
    size_t max_body_bytes = 0;
  };

  // Listens; an error naming "the monitoring endpoints" on failure.
  static absl::StatusOr<std::unique_ptr<MonitoringServer>> start(Options options);
  ~MonitoringServer();
  int port() const { return http_->port(); }

 private:
  MonitoringServer() = default;
  HttpResponse handle(const HttpRequest& request) const;

  Options options_;
  std::unique_ptr<HttpServer> http_;
};

}  // namespace mixer
