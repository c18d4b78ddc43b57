#include "mixer/adapter_host/adapter_host.h"

namespace mixer::adapter_host {

AdapterHost::AdapterHost(Options options) : dirs_(std::move(options.adapter_dirs)) {
  if (dirs_.empty()) {
    dirs_.push_back(defaultAdapterDir());
  }
  CounterRegistry* counters = options.counters;
  if (counters == nullptr) {
    owned_counters_ = std::make_unique<InMemoryCounterRegistry>();
    counters = owned_counters_.get();
  }
  executor_ = std::make_unique<BackgroundExecutor>(options.executor_threads);
  services_ = std::make_unique<HostServices>(counters, executor_.get(), std::move(options.log));
  registry_ = std::make_unique<AdapterRegistry>(services_.get());
  loadAdapterDirs(dirs_, registry_.get(), &load_errors_);
}

AdapterHost::~AdapterHost() {
  executor_->shutdown();              // no adapter task may run while the adapters are unloaded
  services_->finishDeferredCloses();  // handlers closed after their last completion
  registry_.reset();
  services_.reset();
  executor_.reset();
}

int listAdapters(const std::vector<std::string>& dirs, std::ostream& out, std::ostream& err) {
  AdapterHost::Options options;
  options.adapter_dirs = dirs;
  options.executor_threads = 1;
  options.log = [&err](int32_t, std::string_view adapter, std::string_view message) {
    err << "adapter " << adapter << ": " << message << "\n";
  };
  AdapterHost host(std::move(options));
  for (const std::string& error : host.loadErrors()) {
    err << "error: " << error << "\n";
  }
  printAdapters(host.registry(), out);
  return host.loadErrors().empty() ? 0 : 1;
}

}  // namespace mixer::adapter_host
