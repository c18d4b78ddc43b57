// MonitoringServer: mixs' self-monitoring HTTP endpoints on the monitoring port:
//   /metrics  Prometheus text exposition of the server's registry
//   /healthz  200 while the process serves
//   /readyz   200 while the server is ready (config loaded, gRPC accepting), else 503
//   /version  the build version as JSON
// Served by one event-loop thread (mixer/common/http_server.h), never on gRPC threads, so idle or
// slow clients cannot starve the probes. Thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <prometheus/registry.h>
#include "absl/status/statusor.h"
#include "mixer/common/http_server.h"

namespace mixer::server {

class MonitoringServer {
 public:
  // Listens on host:port (host "" = every interface; port 0 = a free port).
  static absl::StatusOr<std::unique_ptr<MonitoringServer>> start(
      const std::string& host, int port, std::shared_ptr<prometheus::Registry> registry,
      std::function<bool()> ready);
  ~MonitoringServer();

  int port() const { return http_->port(); }

 private:
  MonitoringServer() = default;
  HttpResponse handle(const std::string& path) const;

  std::shared_ptr<prometheus::Registry> registry_;
  std::function<bool()> ready_;
  std::unique_ptr<HttpServer> http_;
};

}  // namespace mixer::server
