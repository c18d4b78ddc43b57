// MonitoringServer: mixs' self-monitoring HTTP endpoints on the monitoring port:
//   /metrics  Prometheus text exposition of the server's registry
//   /healthz  200 while the process serves
//   /readyz   200 while the server is ready (config loaded, gRPC accepting), else 503
//   /version  the build version as JSON
//   /status   the operator's page and its JSON twins (status_page.h), with --debug-views only
// Served by one event-loop thread (mixer/common/http_server.h), never on gRPC threads, so idle or
// slow clients cannot starve the probes. Thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <prometheus/registry.h>
#include "absl/status/statusor.h"
#include "mixer/common/http_server.h"
#include "mixer/server/status_page.h"

namespace mixer::server {

class MonitoringServer {
 public:
  // Listens on host:port (host "" = every interface; port 0 = a free port). `status`: the
  // status page, borrowed (outlives the server); null: /status answers 404 (--debug-views off).
  static absl::StatusOr<std::unique_ptr<MonitoringServer>> start(
      const std::string& host, int port, std::shared_ptr<prometheus::Registry> registry,
      std::function<bool()> ready, const StatusPage* status = nullptr);
  ~MonitoringServer();

  int port() const { return http_->port(); }

 private:
  MonitoringServer() = default;
  HttpResponse handle(const HttpRequest& request) const;

  std::shared_ptr<prometheus::Registry> registry_;
  std::function<bool()> ready_;
  const StatusPage* status_ = nullptr;  // null: the debug views are off
  std::unique_ptr<HttpServer> http_;
};

}  // namespace mixer::server
