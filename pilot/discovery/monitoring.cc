#include "pilot/discovery/monitoring.h"

namespace pilot::discovery {

mixer::MonitoringServer::Options monitoringOptions(const std::string& host, int port,
                                                   std::shared_ptr<prometheus::Registry> registry,
                                                   const xds::DiscoveryServer* discovery,
                                                   const xds::DiscoveryServer* sync) {
  mixer::MonitoringServer::Options o;
  o.host = host;
  o.port = port;
  o.registry = std::move(registry);
  o.routes.push_back(
      {[](std::string_view path) { return path == "/debug/config_dump"; },
       [discovery](const mixer::HttpRequest&) -> mixer::HttpResponse {
         if (discovery == nullptr) {
           return {404, "text/plain",
                   "the debug views are off: start pilot-discovery with --debug-views to serve "
                   "/debug/config_dump\n"};
         }
         return {200, "application/json", discovery->configDumpJson()};
       }});
  o.routes.push_back({[](std::string_view path) { return path == "/debug/syncz"; },
                      [sync](const mixer::HttpRequest&) -> mixer::HttpResponse {
                        if (sync == nullptr) {
                          return {404, "text/plain", "no discovery server\n"};
                        }
                        return {200, "application/json", sync->syncJson()};
                      }});
  o.not_found = "not found: try /metrics, /debug/config_dump, /debug/syncz, /healthz\n";
  return o;
}

}  // namespace pilot::discovery
