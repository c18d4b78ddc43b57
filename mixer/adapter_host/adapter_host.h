// AdapterHost: the adapter side of a `mixs` process in one object: executor, host services and
// registry, created and destroyed in the right order, with the adapters of the configured
// directories loaded.
//
//   AdapterHost::Options options;
//   options.adapter_dirs = flags.adapter_dirs;          // empty: {defaultAdapterDir()}
//   options.counters = &prometheus_counters;            // optional; in-memory by default
//   AdapterHost adapters(std::move(options));
//   for (const auto& e : adapters.loadErrors()) LOG(ERROR) << e;
//   LOG(INFO) << loadedAdaptersSummary(adapters.registry());
#ifndef MIXER_ADAPTER_HOST_ADAPTER_HOST_H_
#define MIXER_ADAPTER_HOST_ADAPTER_HOST_H_

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "mixer/adapter_host/adapter_registry.h"
#include "mixer/adapter_host/host_services.h"

namespace mixer::adapter_host {

// Thread-safe after construction. Every Handler created from its registry must be destroyed
// before the AdapterHost.
class AdapterHost {
 public:
  struct Options {
    // Directories to load, in order; empty means {defaultAdapterDir()}.
    std::vector<std::string> adapter_dirs;
    // Threads of the executor adapters use for background work and the host for deadlines.
    int executor_threads = 2;
    // OWNERSHIP: borrowed, must outlive the AdapterHost; nullptr: an owned in-memory registry.
    CounterRegistry* counters = nullptr;
    LogSink log = stderrLogSink();
  };

  explicit AdapterHost(Options options);
  // Stops the executor (dropping timers not yet due), then unloads the adapters.
  ~AdapterHost();
  AdapterHost(const AdapterHost&) = delete;
  AdapterHost& operator=(const AdapterHost&) = delete;

  AdapterRegistry& registry() { return *registry_; }
  const AdapterRegistry& registry() const { return *registry_; }
  HostServices& services() { return *services_; }
  BackgroundExecutor& executor() { return *executor_; }
  // The directories that were loaded (after defaulting).
  const std::vector<std::string>& adapterDirs() const { return dirs_; }
  // One message per file or directory that failed to load, naming it.
  const std::vector<std::string>& loadErrors() const { return load_errors_; }

 private:
  std::vector<std::string> dirs_;
  std::unique_ptr<InMemoryCounterRegistry> owned_counters_;
  std::unique_ptr<BackgroundExecutor> executor_;
  std::unique_ptr<HostServices> services_;
  std::unique_ptr<AdapterRegistry> registry_;
  std::vector<std::string> load_errors_;
};

// `mixs adapters` / `mixs server --list-adapters`: loads `dirs` (empty: the default), prints
// each load error to `err` and the adapter table to `out`. Returns the exit status: 0, or 1 when a
// file or directory failed to load.
int listAdapters(const std::vector<std::string>& dirs, std::ostream& out, std::ostream& err);

}  // namespace mixer::adapter_host

#endif  // MIXER_ADAPTER_HOST_ADAPTER_HOST_H_
