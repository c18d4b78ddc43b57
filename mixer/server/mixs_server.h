// MixsServer: the mixs process' servers: istio.mixer.v1 and the Envoy front-ends over gRPC (with
// the gRPC health service and server reflection, all on completion queues: queue_server.h), the
// self-monitoring HTTP endpoints and, when asked, HTTP forward-auth and the lean port.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "base/http_server.h"
#include "base/monitoring_server.h"
#include "frontends/envoy/envoy_services.h"
#include "frontends/envoy/forward_auth.h"
#include "mixer/adapter_host/adapter_host.h"
#include "mixer/adapter_host/prometheus_counter_registry.h"
#include "mixer/runtime/config_store.h"
#include "mixer/server/grpc_acceptor.h"
#include "mixer/server/health_state.h"
#include "mixer/server/lean_port.h"
#include "mixer/server/mixer_service.h"
#include "mixer/server/queue_server.h"
#include "mixer/server/reflection.h"
#include "mixer/server/server_metrics.h"
#include "mixer/server/status_page.h"
#include "security/tls/caller_gate.h"
#include "security/tls/credentials.h"

namespace grpc {
class Server;
namespace experimental {
class ExternalConnectionAcceptor;
}
}  // namespace grpc

namespace mixer::server {

struct ServerOptions {
  // host:port for gRPC; ":9091" listens on every interface; port 0 picks a free port.
  std::string address = ":9091";
  // Monitoring port, on the same host as `address`; 0 picks a free port, -1 disables.
  int monitoring_port = 9093;
  // host:port of the monitoring endpoints; when set, it wins over `monitoring_port` and the
  // `address` host (":PORT" listens on every interface).
  std::string monitoring_address;
  // Serve the status page (/status and its JSON twins, status_page.h) on the monitoring port
  // (--debug-views): it shows policy decisions and can change the log level, so it is opt-in.
  bool debug_views = false;
  std::string config_dir;
  // Serve a configuration directory as Istio's mixs did: each invalid resource is left out
  // (logged, counted in mixer_config_skipped_resources, shown on the status page) and the rest
  // serves, instead of the whole directory being refused (runtime::LoadOptions).
  bool skip_invalid_resources = false;
  // Where the embedded configuration's prometheus handler serves /metrics (empty: port 42422 on
  // the monitoring host, or on every interface when that host is every interface).
  std::string prometheus_address;
  // Directories of adapter .so files; empty: the build's or install's adapter directory.
  std::vector<std::string> adapter_dirs;
  // Threads serving the gRPC port, each with its own completion queue (--grpc-threads); 0: one
  // per CPU. One by default: gRPC 1.51 reads a connection on whichever thread polls, and with
  // several queues a call read by one thread is often run by another, which costs a hand-off
  // per call (docs/performance.md §17).
  int grpc_threads = 1;
  // Requests larger than this are refused by gRPC with RESOURCE_EXHAUSTED, unread (Istio's mixs
  // default: 1 MiB).
  size_t max_message_size = 1024 * 1024;
  // What one request may carry (--max-attributes-per-request etc.; docs/limits.md).
  api::DecodeLimits limits;

  // Connection and stream limits of the gRPC port (docs/limits.md).
  // Open connections; 0: 10,000, kept well below the open-file limit (defaultMaxConnections).
  int max_connections = 0;
  // Streams (calls) in flight per connection, advertised as SETTINGS_MAX_CONCURRENT_STREAMS
  // (Istio's mixs default: 1024).
  int max_concurrent_streams = 1024;
  // Pings closer together than this (with or without calls in flight) are strikes; more than
  // `max_ping_strikes` of them close the connection with GOAWAY ENHANCE_YOUR_CALM. 0 strikes:
  // never close.
  std::chrono::milliseconds keepalive_min_time{std::chrono::minutes(5)};
  int max_ping_strikes = 2;
  // A connection without calls for this long is closed with GOAWAY; 0: never.
  std::chrono::milliseconds max_connection_idle{std::chrono::minutes(10)};
  // A connection must complete its handshake (the HTTP/2 preface and settings) within this.
  std::chrono::milliseconds handshake_timeout{std::chrono::seconds(20)};
  // Largest request header block (metadata) a call may send, in bytes.
  int max_metadata_size = 8 * 1024;

  // TLS on the gRPC port (docs/security.md): --tls-cert, --tls-key and, for mTLS, --tls-client-ca
  // (client certificates then required and verified). No certificate: plain text.
  security::tls::TlsFiles tls;
  // Who may call which API, and whose identity claims are believed (--callers; needs mTLS).
  std::string callers_file;

  // HTTP forward-auth (nginx auth_request, Traefik ForwardAuth, Caddy forward_auth) on this
  // host:port; empty: off. docs/envoy.md, "HTTP forward-auth".
  std::string forward_auth_address;
  // Quotas asked on every forward-auth check, "NAME" or "NAME=AMOUNT" (--forward-auth-quota).
  std::vector<std::string> forward_auth_quotas;
  // Event-loop threads of the forward-auth port (--forward-auth-threads): a check that waits on
  // a quota adapter (redisquota) holds only its own loop's connections.
  int forward_auth_threads = 1;

  // The lean port (lean_port.h): Check and Report over libnghttp2 on one thread, on this
  // host:port; empty: off. The limits, TLS and callers above apply to it too.
  std::string lean_address;
  // Threads of the lean port (--lean-threads), each with its own listening socket on the port
  // (SO_REUSEPORT) and its own connections; --max-connections is split evenly over them.
  int lean_threads = 1;
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
  // The forward-auth port, or -1 when it is off.
  int forwardAuthPort() const { return forward_auth_http_ ? forward_auth_http_->port() : -1; }
  // The lean port, or -1 when it is off.
  int leanPort() const { return lean_.empty() ? -1 : lean_.front()->port(); }
  // The connection limit in effect and whether the gRPC port accepts connections now (false at
  // the limit or while descriptors are exhausted).
  int maxConnections() const { return max_connections_; }
  bool accepting() const { return acceptor_ && acceptor_->accepting(); }

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
  std::unique_ptr<security::tls::CallerGate> gate_;  // null: no caller identities
  std::unique_ptr<MixerService> service_;
  std::unique_ptr<frontends::envoy::EnvoyFrontends> envoy_;
  std::unique_ptr<HealthState> health_;  // before the acceptor, which reports to it
  std::unique_ptr<Reflection> reflection_;
  std::unique_ptr<QueueServer> queues_;  // outlives grpc_, which holds its services and queues
  std::unique_ptr<grpc::experimental::ExternalConnectionAcceptor> grpc_acceptor_;
  std::unique_ptr<grpc::Server> grpc_;
  std::unique_ptr<GrpcAcceptor> acceptor_;
  int max_connections_ = 0;
  std::unique_ptr<StatusPage> status_page_;  // outlives monitoring_, which serves it
  std::unique_ptr<MonitoringServer> monitoring_;
  std::vector<std::unique_ptr<LeanPort>> lean_;  // one per --lean-threads, on one port
  std::unique_ptr<frontends::envoy::ForwardAuth> forward_auth_;
  std::unique_ptr<HttpServer> forward_auth_http_;  // stopped before forward_auth_ goes
  std::string grpc_address_;
  std::string monitoring_host_;
  int grpc_port_ = 0;
  std::atomic<bool> ready_{false};
  bool stopped_ = false;
};

// The embedded configuration's prometheus address for a monitoring host: port 42422 on it
// (IPv4: "::1" and "localhost" give 127.0.0.1:42422), ":42422" for every interface.
std::string defaultPrometheusAddress(const std::string& host);

// Splits "host:port" (host may be empty or a bracketed IPv6 address). False when malformed.
bool splitHostPort(const std::string& address, std::string* host, int* port);

}  // namespace mixer::server
