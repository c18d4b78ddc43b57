// pilot-discovery's HTTP monitoring endpoints: /metrics (Prometheus text), /debug/config_dump
// (what each connected node subscribed to and was sent), /healthz. Thread-safe: civetweb serves
// requests on its own threads; the handlers only read thread-safe objects.
#pragma once

#include <memory>
#include <string>

#include <prometheus/registry.h>

#include "pilot/xds/ads_server.h"

struct mg_context;
struct mg_connection;

namespace pilot::discovery {

class MonitoringServer {
 public:
  // Listens on host:port (port 0 picks one); nullptr with `error` set on failure.
  static std::unique_ptr<MonitoringServer> start(const std::string& host, int port,
                                                 std::shared_ptr<prometheus::Registry> registry,
                                                 const xds::DiscoveryServer* discovery,
                                                 std::string* error);
  ~MonitoringServer();
  int port() const { return port_; }

 private:
  MonitoringServer() = default;
  static int handle(mg_connection* conn, void* self);

  mg_context* ctx_ = nullptr;
  std::string host_;
  int port_ = 0;
  std::shared_ptr<prometheus::Registry> registry_;
  const xds::DiscoveryServer* discovery_ = nullptr;
};

}  // namespace pilot::discovery
