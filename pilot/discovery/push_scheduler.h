// Turns change notifications from the registry and the config directory into snapshots: it
// debounces (a quiet period of `debounce_after` since the last notification, but no longer than
// `debounce_max` since the first), reloads both sources, keeps the last good one of a source that
// fails to load (errors logged with file:line and counted), and publishes a new snapshot only if
// some resource changed. Thread-safe; notify() may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "pilot/model/dir_watcher.h"
#include "pilot/model/etcd_registry.h"
#include "pilot/model/service.h"
#include "pilot/routing/routing_config.h"
#include "pilot/xds/ads_server.h"

namespace pilot::discovery {

struct SchedulerOptions {
  std::string config_dir;  // "" = no routing config (unless config_etcd)
  // Routing config in etcd keys under config_etcd->prefix (docs/pilot.md); changes are found by
  // the etcd registry's polling of the store revision, which notify()s.
  std::optional<model::EtcdOptions> config_etcd;
  routing::ParseOptions parse;
  std::chrono::milliseconds debounce_after{100};
  std::chrono::milliseconds debounce_max{10000};
};

class PushScheduler {
 public:
  PushScheduler(SchedulerOptions options, model::ServiceRegistry* registry,
                xds::XdsMetrics* metrics);
  ~PushScheduler() { stop(); }

  // Loads both sources once. Returns false (and the errors) if either fails: a server must not
  // start from a configuration it cannot read.
  bool loadInitial(std::vector<model::ConfigError>* errors);
  std::shared_ptr<const xds::Snapshot> snapshot() const { return snapshot_; }

  // Starts watching and publishing to `server`.
  bool start(xds::DiscoveryServer* server, std::string* error);
  void notify();
  void stop();

 private:
  void run();
  // Reloads and returns a new snapshot, or nullptr if nothing changed.
  std::shared_ptr<const xds::Snapshot> rebuild();

  const SchedulerOptions options_;
  model::ServiceRegistry* const registry_;
  xds::XdsMetrics* const metrics_;
  xds::DiscoveryServer* server_ = nullptr;
  model::DirWatcher config_watcher_;

  // Owned by the scheduler thread after start().
  std::vector<model::Service> services_;
  routing::RoutingConfig routing_;
  std::string config_fingerprint_;  // of the config directory routing_ was loaded from
  std::shared_ptr<const xds::Snapshot> snapshot_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool pending_ = false;
  bool stopping_ = false;
  std::chrono::steady_clock::time_point first_event_;
  std::chrono::steady_clock::time_point last_event_;
  std::thread thread_;
};

}  // namespace pilot::discovery
