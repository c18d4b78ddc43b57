// pilot-discovery's monitoring endpoints, served by the shared monitoring server
// (base/monitoring_server.h): /metrics, /healthz, and pilot's own views:
//   /debug/config_dump  what each connected node subscribed to and was sent (--debug-views)
//   /debug/syncz        the same without the resources: versions sent, ACKed, NACKed (always;
//                       `meshctl proxy-status` reads it)
// The handlers only read thread-safe objects.
#pragma once

#include <memory>
#include <string>

#include <prometheus/registry.h>

#include "base/monitoring_server.h"
#include "pilot/xds/ads_server.h"

namespace pilot::discovery {

// The options for host:port (port 0 picks one). `discovery`: the server whose state
// /debug/config_dump shows, null when the debug views are off (404); `sync`: the one
// /debug/syncz shows. Both borrowed: they outlive the monitoring server.
mixer::MonitoringServer::Options monitoringOptions(const std::string& host, int port,
                                                   std::shared_ptr<prometheus::Registry> registry,
                                                   const xds::DiscoveryServer* discovery,
                                                   const xds::DiscoveryServer* sync);

}  // namespace pilot::discovery
