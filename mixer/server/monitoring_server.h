// MonitoringServer: mixs' self-monitoring HTTP endpoints on the monitoring port:
//   /metrics  Prometheus text exposition of the server's registry
//   /healthz  200 while the process serves
//   /readyz   200 once the server is ready (config loaded, gRPC listening), else 503
//   /version  the build version as JSON
// Runs on its own small thread pool, never on gRPC threads. Thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <prometheus/registry.h>
#include "absl/status/statusor.h"

struct mg_context;
struct mg_connection;

namespace mixer::server {

class MonitoringServer {
 public:
  // Listens on host:port (host "" = every interface; port 0 = a free port).
  static absl::StatusOr<std::unique_ptr<MonitoringServer>> start(
      const std::string& host, int port, std::shared_ptr<prometheus::Registry> registry,
      std::function<bool()> ready);
  ~MonitoringServer();

  int port() const { return port_; }

 private:
  MonitoringServer() = default;
  static int handle(::mg_connection* conn, void* self);

  mg_context* ctx_ = nullptr;
  std::string host_;
  int port_ = 0;
  std::shared_ptr<prometheus::Registry> registry_;
  std::function<bool()> ready_;
};

}  // namespace mixer::server
