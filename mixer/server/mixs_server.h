// MixsServer: the mixs process' servers: istio.mixer.v1 and the Envoy front-ends over gRPC (with
// the gRPC health service and server reflection) and the self-monitoring HTTP endpoints.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "frontends/envoy/envoy_services.h"
#include "mixer/adapter_host/adapter_host.h"
#include "mixer/adapter_host/prometheus_counter_registry.h"
#include "mixer/runtime/config_store.h"
#include "mixer/server/mixer_service.h"
#include "mixer/server/monitoring_server.h"
#include "mixer/server/server_metrics.h"

namespace grpc {
class Server;
}

namespace mixer::server {

struct ServerOptions {
  // host:port for gRPC; ":9091" listens on every interface; port 0 picks a free port.
  std::string address = ":9091";
  // Monitoring port, on the same host as `address`; 0 picks a free port, -1 disables.
  int monitoring_port = 9093;
  std::string config_dir;
  // Where the embedded configuration's prometheus handler serves /metrics (empty: ":42422").
  std::string prometheus_address;
  // Directories of adapter .so files; empty: the build's or install's adapter directory.
  std::vector<std::string> adapter_dirs;
  // Requests larger than this get INVALID_ARGUMENT (Istio's mixs default: 1 MiB).
  size_t max_message_size = 1024 * 1024;
};

class MixsServer {
 public:
  // Fails when the configuration does not compile (`config_errors` then lists every error).
  static absl::StatusOr<std::unique_ptr<MixsServer>> start(
      const ServerOptions& options, std::vector<config::ConfigError>* config_errors);
  ~MixsServer();

  // The address gRPC listens on (the host as given, the port as bound).
  const std::string& grpcAddress() const { return grpc_address_; }
  int grpcPort() const { return grpc_port_; }
  int monitoringPort() const { return monitoring_ ? monitoring_->port() : -1; }
  const std::string& monitoringHost() const { return monitoring_host_; }

  // Stops accepting calls and waits for in-flight calls to finish, up to `grace`; calls still
  // running then are cancelled.
  void shutdown(std::chrono::milliseconds grace);

  const adapter_host::AdapterHost& adapters() const { return *adapters_; }
  const runtime::ConfigStore& config() const { return *config_; }

 private:
  MixsServer() = default;

  ServerMetrics metrics_;
  // Declared before everything that may hold handlers, so that it is destroyed after them.
  std::unique_ptr<adapter_host::PrometheusCounterRegistry> adapter_counters_;
  std::unique_ptr<adapter_host::AdapterHost> adapters_;
  std::unique_ptr<runtime::ConfigStore> config_;
  std::unique_ptr<MixerService> service_;
  std::unique_ptr<frontends::envoy::EnvoyFrontends> envoy_;
  std::unique_ptr<grpc::Server> grpc_;
  std::unique_ptr<MonitoringServer> monitoring_;
  std::string grpc_address_;
  std::string monitoring_host_;
  int grpc_port_ = 0;
  std::atomic<bool> ready_{false};
  bool stopped_ = false;
};

// Splits "host:port" (host may be empty or a bracketed IPv6 address). False when malformed.
bool splitHostPort(const std::string& address, std::string* host, int* port);

}  // namespace mixer::server
