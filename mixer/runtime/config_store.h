// ConfigStore: the configuration being served, and its hot reload.
//
// Holds the current Dispatcher (a compiled ConfigSnapshot plus the report queue); request threads
// take it with current() — one atomic shared_ptr load, no mutex — and keep it for the request.
// Reload: the config directory is watched with inotify (the directory tree, recursively). Only a
// completed change counts: a file closed after writing, renamed in or out, deleted, or its
// attributes changed (never a write to a file still open, so a slow writer is not loaded
// half-written). After such changes settle (debounce), the directory is loaded and compiled off the
// request path and, only if it has no error at all, swapped in atomically. On errors the old
// configuration keeps serving; every error is logged with file:line:column, and counted:
//   mixer_config_errors_total     configuration errors found by reloads
//   mixer_config_reloads_total    reload attempts, by result (ok|error)
//   mixer_config_unavailable_handlers  handlers of the serving configuration reported
//                                 unavailable (unavailable_handlers.h)
//   mixer_config_skipped_resources  errors whose resources skip_invalid_resources left out
//   mixer_config_generation       generation of the configuration being served (1 = first)
//   mixer_report_batches_dropped_total, mixer_report_instances_dropped_total,
//   mixer_report_handler_errors_total
//
// Thread-safe.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "config/loader.h"
#include "mixer/runtime/dispatcher.h"

namespace mixer::runtime {

// The YAML of the configuration served when no --config-dir is given (see docs/configuration.md;
// the source is mixer/runtime/embedded_config.yaml).
std::string_view embeddedDefaultConfig();
// The same with its prometheus handler serving on `prometheus_address` (empty: ":42422").
std::string embeddedDefaultConfig(std::string_view prometheus_address);

struct LoadedConfig {
  ConfigSnapshotConstSharedPtr snapshot;  // null when there were errors
  std::vector<config::ConfigError> errors;
  // Handlers reported unavailable (unavailable_handlers.h): not errors; their rules are skipped.
  std::vector<config::ConfigError> unavailable;
  // With LoadOptions::skip_invalid_resources: the errors whose resources were left out so that
  // the rest serves (as Istio's mixs served it). Empty otherwise.
  std::vector<config::ConfigError> skipped;
  // `kind: template` and `kind: adapter` documents (checked, not used by this mixs).
  size_t descriptor_documents = 0;
  size_t files = 0;
  size_t documents = 0;
};

struct LoadOptions {
  bool validate_only = false;  // see compileSnapshot(): check only, create no handler
  // Istio's behaviour for invalid resources: instead of refusing the whole directory, leave out
  // each resource with an error (a document, or a rule's reference to a handler or instance),
  // then what needed it, until the rest compiles; report them in LoadedConfig::skipped. Errors
  // that hold no resource (YAML syntax, an unreadable file) still refuse the directory.
  bool skip_invalid_resources = false;
  // For the embedded configuration, and every prometheus handler of a directory that sets no
  // address; empty: ":42422" (the adapter's default).
  std::string prometheus_address;
};

// Loads and compiles a directory (or, when `dir` is empty, the embedded default configuration).
LoadedConfig loadConfig(const std::string& dir, const adapter_host::AdapterRegistry& adapters,
                        const attribute::VocabularyConstSharedPtr& base, uint64_t generation,
                        const LoadOptions& options = {});

// What the status page shows of the configuration (ConfigStore::status()).
struct ConfigStatus {
  std::string source;              // the directory, or "embedded default configuration"
  int64_t loaded_unix_millis = 0;  // when the serving configuration was loaded
  size_t files = 0;
  size_t documents = 0;
  // The last reload attempt (0: none yet), whether it was swapped in, and its errors.
  int64_t last_reload_unix_millis = 0;
  bool last_reload_ok = true;
  std::vector<std::string> last_reload_errors;
  uint64_t reloads_ok = 0;
  uint64_t reloads_failed = 0;
  // Handlers of the serving configuration reported unavailable: name, and why.
  std::vector<std::pair<std::string, std::string>> unavailable;
  // Resources left out of the serving configuration (skip_invalid_resources): their errors.
  std::vector<std::string> skipped;
};

class ConfigStore final : public DispatcherSource, private ReportQueue::Counters {
 public:
  struct Options {
    std::string config_dir;          // empty: the embedded default configuration, never reloaded
    std::string prometheus_address;  // the embedded configuration's /metrics; empty: ":42422"
    const adapter_host::AdapterRegistry* adapters = nullptr;  // OWNERSHIP: borrowed
    attribute::VocabularyConstSharedPtr base_vocabulary;
    std::shared_ptr<prometheus::Registry> registry;  // for the counters above; may be null
    absl::Duration debounce = absl::Milliseconds(200);
    absl::Duration adapter_timeout = absl::Seconds(1);
    size_t report_queue_batches = 10000;
    // LoadOptions::skip_invalid_resources, for the first load and every reload.
    bool skip_invalid_resources = false;
  };

  // Loads the initial configuration; fails (with every error) when it does not compile.
  static absl::StatusOr<std::unique_ptr<ConfigStore>> create(
      Options options, std::vector<config::ConfigError>* errors);
  ~ConfigStore() override;

  DispatcherConstSharedPtr current() const override {
    return current_.load(std::memory_order_acquire);
  }
  uint64_t generation() const { return current()->snapshot().generation(); }

  // Loads and compiles the directory now; swaps it in if valid. Returns the errors (empty:
  // swapped).
  std::vector<config::ConfigError> reload();

  ConfigStatus status() const;

  // Starts watching the config directory (no-op for the embedded configuration).
  absl::Status startWatching();
  // Stops watching and delivers queued reports. Idempotent.
  void shutdown();

 private:
  explicit ConfigStore(Options options);
  void watch();
  void dropped(size_t instances) override;
  void failed(const std::string& handler) override;
  LoadOptions loadOptions() const;
  // Logs the unavailable handlers and skipped resources of the configuration now serving and
  // sets their gauges.
  void reportUnavailable(const LoadedConfig& loaded);
  // Notes a configuration swapped in, or a reload rejected, for status().
  void noteLoaded(const LoadedConfig& loaded, bool reload);
  void noteRejected(const LoadedConfig& loaded);

  Options options_;
  std::unique_ptr<ReportQueue> reports_;
  std::atomic<std::shared_ptr<const Dispatcher>> current_;
  std::mutex reload_mu_;  // one reload at a time
  uint64_t next_generation_ = 1;
  mutable std::mutex status_mu_;
  ConfigStatus status_;

  int inotify_fd_ = -1;
  int stop_pipe_[2] = {-1, -1};
  std::thread watcher_;

  prometheus::Counter* errors_total_ = nullptr;
  prometheus::Counter* reloads_ok_ = nullptr;
  prometheus::Counter* reloads_error_ = nullptr;
  prometheus::Gauge* generation_gauge_ = nullptr;
  prometheus::Gauge* unavailable_gauge_ = nullptr;
  prometheus::Gauge* skipped_gauge_ = nullptr;
  prometheus::Counter* batches_dropped_ = nullptr;
  prometheus::Counter* instances_dropped_ = nullptr;
  prometheus::Counter* handler_errors_ = nullptr;
};

}  // namespace mixer::runtime
