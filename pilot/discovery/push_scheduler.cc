#include "pilot/discovery/push_scheduler.h"

#include "base/log.h"
#include "pilot/model/file_registry.h"
#include "pilot/routing/translation_size.h"
#include "pilot/rules/store.h"
#include "pilot/xds/translate.h"

namespace pilot::discovery {

PushScheduler::PushScheduler(SchedulerOptions options, model::ServiceRegistry* registry,
                             xds::XdsMetrics* metrics)
    : options_(std::move(options)), registry_(registry), metrics_(metrics) {}

bool PushScheduler::loadInitial(std::vector<model::ConfigError>* errors) {
  const size_t before = errors->size();
  registry_->list(&services_, errors);
  if (!options_.config_dir.empty()) {
    config_fingerprint_ = model::dirFingerprint(options_.config_dir);
    routing::loadRoutingDir(options_.config_dir, options_.parse, &routing_, errors);
  } else if (options_.config_etcd) {
    rules::loadRoutingEtcd(*options_.config_etcd, options_.parse, &routing_, errors,
                           &config_fingerprint_);
  }
  if (errors->size() == before) routing::validateTranslationSize(routing_, services_, errors);
  if (errors->size() != before) return false;
  snapshot_ = xds::buildSnapshot(services_, routing_, nullptr, 1);
  return true;
}

bool PushScheduler::start(xds::DiscoveryServer* server, std::string* error) {
  server_ = server;
  if (!registry_->watch([this] { notify(); }, error)) return false;
  if (!options_.config_dir.empty() && !config_watcher_.start(
                                          options_.config_dir, [this] { notify(); }, error)) {
    return false;
  }
  thread_ = std::thread([this] { run(); });
  notify();  // a change between loadInitial() and the watches starting is not lost
  return true;
}

void PushScheduler::notify() {
  std::lock_guard<std::mutex> lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  if (!pending_) first_event_ = now;
  last_event_ = now;
  pending_ = true;
  cv_.notify_all();
}

void PushScheduler::stop() {
  registry_->stop();
  config_watcher_.stop();
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

void PushScheduler::run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    if (!pending_) {
      cv_.wait(lock, [this] { return pending_ || stopping_; });
      continue;
    }
    const auto deadline =
        std::min(last_event_ + options_.debounce_after, first_event_ + options_.debounce_max);
    if (std::chrono::steady_clock::now() < deadline) {
      cv_.wait_until(lock, deadline);
      continue;
    }
    pending_ = false;
    lock.unlock();
    std::shared_ptr<const xds::Snapshot> next = rebuild();
    if (next != nullptr) server_->publish(next);
    lock.lock();
  }
}

std::shared_ptr<const xds::Snapshot> PushScheduler::rebuild() {
  bool ok = true;
  std::vector<model::ConfigError> errors;
  std::vector<model::Service> services;
  std::vector<model::Service> previous_services = services_;
  routing::RoutingConfig previous_routing = routing_;
  std::string previous_fingerprint = config_fingerprint_;
  if (registry_->list(&services, &errors)) {
    services_ = std::move(services);
  } else {
    ok = false;
    MIXER_LOG(Error) << "registry reload failed; serving the last good services:\n"
                     << model::formatErrors(errors);
  }
  errors.clear();
  bool routing_unchanged = true;
  if (!options_.config_dir.empty()) {
    std::string fingerprint = model::dirFingerprint(options_.config_dir);
    if (fingerprint != config_fingerprint_) {
      routing_unchanged = false;
      routing::RoutingConfig routing;
      if (routing::loadRoutingDir(options_.config_dir, options_.parse, &routing, &errors)) {
        routing_ = std::move(routing);
        config_fingerprint_ = std::move(fingerprint);
      } else {
        ok = false;
        MIXER_LOG(Error) << "config reload failed; serving the last good config:\n"
                         << model::formatErrors(errors);
      }
    }
  } else if (options_.config_etcd) {
    routing::RoutingConfig routing;
    std::string fingerprint;
    const bool loaded = rules::loadRoutingEtcd(*options_.config_etcd, options_.parse, &routing,
                                               &errors, &fingerprint);
    if (!fingerprint.empty() || loaded) {
      if (fingerprint != config_fingerprint_) {
        routing_unchanged = false;
        if (loaded) {
          routing_ = std::move(routing);
          config_fingerprint_ = std::move(fingerprint);
        } else {
          ok = false;
          MIXER_LOG(Error) << "config reload failed; serving the last good config:\n"
                           << model::formatErrors(errors);
        }
      }
    } else {
      ok = false;
      MIXER_LOG(Error) << "config reload failed; serving the last good config:\n"
                       << model::formatErrors(errors);
    }
  }
  errors.clear();
  routing::validateTranslationSize(routing_, services_, &errors);
  if (!errors.empty()) {
    // The new services with the current config would translate into too much: keep serving
    // what was served.
    MIXER_LOG(Error) << "reload rejected; serving the last good snapshot:\n"
                     << model::formatErrors(errors);
    metrics_->config_reloads_failed.Increment();
    services_ = std::move(previous_services);
    routing_ = std::move(previous_routing);
    config_fingerprint_ = std::move(previous_fingerprint);
    return nullptr;
  }
  (ok ? metrics_->config_reloads_ok : metrics_->config_reloads_failed).Increment();
  xds::BuildHints hints;
  hints.previous_services = &previous_services;
  hints.routing_unchanged = routing_unchanged;
  auto next =
      xds::buildSnapshot(services_, routing_, snapshot_.get(), snapshot_->version + 1, hints);
  const auto changes = xds::countChanges(*snapshot_, *next);
  size_t total = 0;
  for (size_t c : changes) total += c;
  if (total == 0) return nullptr;
  MIXER_LOG(Info) << "snapshot " << next->version << ": " << changes[0] << " clusters, "
                  << changes[1] << " endpoint sets, " << changes[2] << " listeners, " << changes[3]
                  << " route configs changed";
  snapshot_ = next;
  return next;
}

}  // namespace pilot::discovery
