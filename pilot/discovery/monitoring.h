// pilot-discovery's HTTP monitoring endpoints: /metrics (Prometheus text), /debug/config_dump
// (what each connected node subscribed to and was sent), /debug/syncz (the same without the
// resources: versions sent, ACKed, NACKed; `sync`), /healthz. Served by one event-loop thread
// (mixer/common/http_server.h); the handlers only read thread-safe objects.
#pragma once

#include <memory>
#include <string>

#include <prometheus/registry.h>

#include "mixer/common/http_server.h"
#include "pilot/xds/ads_server.h"

namespace pilot::discovery {

class MonitoringServer {
 public:
  // Listens on host:port (port 0 picks one); nullptr with `error` set on failure. `discovery`:
  // the server whose state /debug/config_dump shows; null: the debug views are off (404).
  static std::unique_ptr<MonitoringServer> start(const std::string& host, int port,
                                                 std::shared_ptr<prometheus::Registry> registry,
                                                 const xds::DiscoveryServer* discovery,
                                                 std::string* error,
                                                 const xds::DiscoveryServer* sync = nullptr);
  ~MonitoringServer();
  int port() const { return http_->port(); }

 private:
  MonitoringServer() = default;
  mixer::HttpResponse handle(const std::string& path) const;

  std::shared_ptr<prometheus::Registry> registry_;
  const xds::DiscoveryServer* discovery_ = nullptr;
  const xds::DiscoveryServer* sync_ = nullptr;  // /debug/syncz, always on
  std::unique_ptr<mixer::HttpServer> http_;
};

}  // namespace pilot::discovery
