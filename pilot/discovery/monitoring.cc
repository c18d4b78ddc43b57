#include "pilot/discovery/monitoring.h"

#include <prometheus/text_serializer.h>

namespace pilot::discovery {

std::unique_ptr<MonitoringServer> MonitoringServer::start(
    const std::string& host, int port, std::shared_ptr<prometheus::Registry> registry,
    const xds::DiscoveryServer* discovery, std::string* error, const xds::DiscoveryServer* sync) {
  std::unique_ptr<MonitoringServer> s(new MonitoringServer());
  s->sync_ = sync;
  s->registry_ = std::move(registry);
  s->discovery_ = discovery;
  mixer::HttpServer::Options options;
  options.host = host;
  options.port = port;
  const MonitoringServer* raw = s.get();
  auto http = mixer::HttpServer::start(
      std::move(options), [raw](const std::string& path) { return raw->handle(path); });
  if (!http.ok()) {
    *error = std::string(http.status().message()) + " (the monitoring endpoints)";
    return nullptr;
  }
  s->http_ = *std::move(http);
  return s;
}

MonitoringServer::~MonitoringServer() = default;

mixer::HttpResponse MonitoringServer::handle(const std::string& path) const {
  if (path == "/metrics") {
    prometheus::TextSerializer serializer;
    return {200, "text/plain; version=0.0.4; charset=utf-8",
            serializer.Serialize(registry_->Collect())};
  }
  if (path == "/debug/config_dump") {
    if (discovery_ == nullptr) {
      return {404, "text/plain",
              "the debug views are off: start pilot-discovery with --debug-views to serve "
              "/debug/config_dump\n"};
    }
    return {200, "application/json", discovery_->configDumpJson()};
  }
  if (path == "/debug/syncz") {
    // Versions only (no configuration): served without --debug-views, for meshctl proxy-status.
    if (sync_ == nullptr) return {404, "text/plain", "no discovery server\n"};
    return {200, "application/json", sync_->syncJson()};
  }
  if (path == "/healthz") {
    return {200, "text/plain", "ok\n"};
  }
  return {404, "text/plain",
          "not found: try /metrics, /debug/config_dump, /debug/syncz, /healthz\n"};
}

}  // namespace pilot::discovery
