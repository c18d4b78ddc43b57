#include "mixer/runtime/config_store.h"

#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "base/log.h"
#include "base/str_cat.h"
#include "mixer/runtime/status_log.h"
#include "mixer/runtime/unavailable_handlers.h"

namespace mixer::runtime {
namespace {

// What the watcher listens for. A file being written in place reports IN_MODIFY on every write
// and IN_CLOSE_WRITE once, when its writer closes it: only completed changes start a reload, so a
// writer that pauses mid-file is never loaded half-written. Write-then-rename (IN_MOVED_TO)
// remains the recommended way to change a file. IN_CREATE counts for new directories only (a new
// file reports IN_CLOSE_WRITE once written).
constexpr uint32_t kWatchMask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE |
                                IN_DELETE | IN_DELETE_SELF | IN_ATTRIB;

bool completesAChange(uint32_t mask) {
  if (mask & IN_CREATE) {
    return (mask & IN_ISDIR) != 0;
  }
  return (mask & (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_DELETE_SELF |
                  IN_ATTRIB | IN_Q_OVERFLOW)) != 0;
}

// Loads `dir` again and again, each time leaving out the resources that held the previous
// pass's errors (and so, on the next pass, what referred to them), until a pass compiles without
// error or leaves out nothing new. Each error whose resource was left out is appended to
// `skipped`; what remains in the returned result's errors (and what compiling it finds) could
// not be skipped.
config::LoadResult loadSkippingInvalid(const std::string& dir,
                                       const adapter_host::AdapterRegistry& adapters,
                                       const attribute::VocabularyConstSharedPtr& base,
                                       std::vector<config::ConfigError>* skipped) {
  // Each pass leaves out at least one more resource; a chain of references is rarely longer
  // than handler <- rule, instance <- rule.
  constexpr int kMaxPasses = 16;
  std::set<std::string> skip;
  for (int pass = 1;; ++pass) {
    config::LoadResult loaded = config::loadDirectory(dir, skip);
    std::vector<config::ConfigError> errors = loaded.errors;
    compileSnapshot(loaded.model, adapters, base, 0, &errors, /*validate_only=*/true);
    std::set<std::string> added;
    for (const config::ConfigError& e : errors) {
      std::string place = config::skipPlaceFor(e, loaded);
      if (place.empty()) {
        continue;
      }
      if (skip.insert(place).second || added.count(place) != 0) {
        added.insert(std::move(place));
        skipped->push_back(e);
      }
    }
    if (added.empty() || pass == kMaxPasses) {
      return loaded;
    }
  }
}

}  // namespace

std::string embeddedDefaultConfig(std::string_view prometheus_address) {
  std::string yaml(embeddedDefaultConfig());
  if (!prometheus_address.empty()) {
    static constexpr std::string_view kDefault = "address: \":42422\"";
    const size_t at = yaml.find(kDefault);
    if (at != std::string::npos) {
      yaml.replace(at, kDefault.size(), base::strCat("address: \"", prometheus_address, "\""));
    }
  }
  return yaml;
}

LoadedConfig loadConfig(const std::string& dir, const adapter_host::AdapterRegistry& adapters,
                        const attribute::VocabularyConstSharedPtr& base, uint64_t generation,
                        const LoadOptions& options) {
  config::LoadResult loaded;
  std::vector<config::ConfigError> skipped;
  if (dir.empty()) {
    config::loadText(embeddedDefaultConfig(options.prometheus_address),
                     "<embedded default configuration>", &loaded);
    config::resolve(&loaded);
  } else {
    if (options.skip_invalid_resources) {
      loaded = loadSkippingInvalid(dir, adapters, base, &skipped);
    } else {
      loaded = config::loadDirectory(dir);
    }
    // The address also serves every prometheus handler of the directory that sets none (an
    // aspect-model `impl: prometheus` block has no params).
    if (!options.prometheus_address.empty()) {
      for (config::Handler& h : loaded.model.handlers) {
        if (h.adapter == "prometheus" && (!h.params || h.params.IsNull() || h.params.IsMap()) &&
            !h.params["address"].IsDefined()) {
          if (!h.params.IsMap()) {
            h.params = YAML::Node(YAML::NodeType::Map);
          }
          h.params["address"] = options.prometheus_address;
        }
      }
    }
  }
  LoadedConfig out;
  out.files = loaded.files;
  out.documents = loaded.documents;
  out.descriptor_documents = loaded.descriptor_documents;
  out.errors = std::move(loaded.errors);
  out.skipped = std::move(skipped);
  out.unavailable = unavailableHandlers(loaded.model);
  // Compiled even when the loader found errors, to report every error at once.
  out.snapshot =
      compileSnapshot(loaded.model, adapters, base, generation, &out.errors, options.validate_only);
  return out;
}

ConfigStore::ConfigStore(Options options) : options_(std::move(options)) {
  if (options_.registry) {
    auto& r = *options_.registry;
    errors_total_ =
        &prometheus::BuildCounter()
             .Name("mixer_config_errors_total")
             .Help("Configuration errors found by reloads (the old config kept serving).")
             .Register(r)
             .Add({});
    auto& reloads = prometheus::BuildCounter()
                        .Name("mixer_config_reloads_total")
                        .Help("Configuration reload attempts, by result.")
                        .Register(r);
    reloads_ok_ = &reloads.Add({{"result", "ok"}});
    reloads_error_ = &reloads.Add({{"result", "error"}});
    unavailable_gauge_ =
        &prometheus::BuildGauge()
             .Name("mixer_config_unavailable_handlers")
             .Help(
                 "Handlers of the serving configuration reported unavailable (their rules are "
                 "skipped), e.g. kubernetesenv without a Kubernetes API.")
             .Register(r)
             .Add({});
    skipped_gauge_ = &prometheus::BuildGauge()
                          .Name("mixer_config_skipped_resources")
                          .Help(
                              "Invalid resources left out of the serving configuration "
                              "(--skip-invalid-resources), each logged with its error.")
                          .Register(r)
                          .Add({});
    generation_gauge_ = &prometheus::BuildGauge()
                             .Name("mixer_config_generation")
                             .Help("Generation of the configuration being served (1 = the first).")
                             .Register(r)
                             .Add({});
    batches_dropped_ = &prometheus::BuildCounter()
                            .Name("mixer_report_batches_dropped_total")
                            .Help("Report batches dropped because the report queue was full.")
                            .Register(r)
                            .Add({});
    instances_dropped_ = &prometheus::BuildCounter()
                              .Name("mixer_report_instances_dropped_total")
                              .Help("Report instances dropped because the report queue was full.")
                              .Register(r)
                              .Add({});
    handler_errors_ = &prometheus::BuildCounter()
                           .Name("mixer_report_handler_errors_total")
                           .Help("Report batches a handler failed to take.")
                           .Register(r)
                           .Add({});
  }
  reports_ = std::make_unique<ReportQueue>(options_.report_queue_batches, options_.adapter_timeout,
                                           static_cast<ReportQueue::Counters*>(this));
}

absl::StatusOr<std::unique_ptr<ConfigStore>> ConfigStore::create(
    Options options, std::vector<config::ConfigError>* errors) {
  std::unique_ptr<ConfigStore> store(new ConfigStore(std::move(options)));
  LoadedConfig loaded =
      loadConfig(store->options_.config_dir, *store->options_.adapters,
                 store->options_.base_vocabulary, store->next_generation_, store->loadOptions());
  if (!loaded.snapshot) {
    *errors = std::move(loaded.errors);
    return absl::InvalidArgumentError(base::strCat(errors->size(), " configuration error(s) in ",
                                                   store->options_.config_dir.empty()
                                                       ? std::string("the embedded configuration")
                                                       : store->options_.config_dir));
  }
  ++store->next_generation_;
  store->current_.store(std::make_shared<const Dispatcher>(loaded.snapshot, store->reports_.get(),
                                                           store->options_.adapter_timeout));
  if (store->generation_gauge_ != nullptr) {
    store->generation_gauge_->Set(static_cast<double>(loaded.snapshot->generation()));
  }
  store->reportUnavailable(loaded);
  store->noteLoaded(loaded, false);
  return store;
}

ConfigStore::~ConfigStore() { shutdown(); }

LoadOptions ConfigStore::loadOptions() const {
  LoadOptions o;
  o.prometheus_address = options_.prometheus_address;
  o.skip_invalid_resources = options_.skip_invalid_resources;
  return o;
}

std::vector<config::ConfigError> ConfigStore::reload() {
  std::lock_guard<std::mutex> lock(reload_mu_);
  LoadedConfig loaded = loadConfig(options_.config_dir, *options_.adapters,
                                   options_.base_vocabulary, next_generation_, loadOptions());
  if (!loaded.snapshot) {
    if (reloads_error_ != nullptr) {
      reloads_error_->Increment();
      errors_total_->Increment(static_cast<double>(loaded.errors.size()));
    }
    MIXER_LOG(Error) << "configuration in " << options_.config_dir << " rejected ("
                     << loaded.errors.size() << " errors); still serving generation "
                     << generation();
    for (const auto& e : loaded.errors) {
      MIXER_LOG(Error) << e.str();
    }
    noteRejected(loaded);
    return loaded.errors;
  }
  ++next_generation_;
  current_.store(
      std::make_shared<const Dispatcher>(loaded.snapshot, reports_.get(), options_.adapter_timeout),
      std::memory_order_release);
  if (reloads_ok_ != nullptr) {
    reloads_ok_->Increment();
    generation_gauge_->Set(static_cast<double>(loaded.snapshot->generation()));
  }
  MIXER_LOG(Info) << "configuration generation " << loaded.snapshot->generation()
                  << " serving: " << loaded.snapshot->ruleCount() << " rules, "
                  << loaded.snapshot->handlerCount() << " handlers, "
                  << loaded.snapshot->instanceCount() << " instances from " << loaded.files
                  << " files";
  reportUnavailable(loaded);
  noteLoaded(loaded, true);
  return {};
}

namespace {
int64_t nowUnixMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
}  // namespace

void ConfigStore::noteLoaded(const LoadedConfig& loaded, bool reload) {
  std::lock_guard<std::mutex> lock(status_mu_);
  status_.source =
      options_.config_dir.empty() ? "embedded default configuration" : options_.config_dir;
  status_.loaded_unix_millis = nowUnixMillis();
  status_.files = loaded.files;
  status_.documents = loaded.documents;
  status_.unavailable.clear();
  for (const auto& u : loaded.unavailable) {
    const size_t q1 = u.message.find('\'');
    const size_t q2 = q1 == std::string::npos ? q1 : u.message.find('\'', q1 + 1);
    status_.unavailable.emplace_back(
        q2 == std::string::npos ? std::string() : u.message.substr(q1 + 1, q2 - q1 - 1), u.str());
  }
  status_.skipped.clear();
  for (const auto& e : loaded.skipped) {
    status_.skipped.push_back(e.str());
  }
  if (reload) {
    status_.last_reload_unix_millis = status_.loaded_unix_millis;
    status_.last_reload_ok = true;
    status_.last_reload_errors.clear();
    ++status_.reloads_ok;
  }
}

void ConfigStore::noteRejected(const LoadedConfig& loaded) {
  std::lock_guard<std::mutex> lock(status_mu_);
  status_.last_reload_unix_millis = nowUnixMillis();
  status_.last_reload_ok = false;
  status_.last_reload_errors.clear();
  for (const auto& e : loaded.errors) {
    status_.last_reload_errors.push_back(e.str());
  }
  ++status_.reloads_failed;
}

ConfigStatus ConfigStore::status() const {
  std::lock_guard<std::mutex> lock(status_mu_);
  return status_;
}

void ConfigStore::reportUnavailable(const LoadedConfig& loaded) {
  if (unavailable_gauge_ != nullptr) {
    unavailable_gauge_->Set(static_cast<double>(loaded.unavailable.size()));
  }
  for (const auto& w : loaded.unavailable) {
    MIXER_LOG(Warn) << w.str();
  }
  if (skipped_gauge_ != nullptr) {
    skipped_gauge_->Set(static_cast<double>(loaded.skipped.size()));
  }
  for (const auto& e : loaded.skipped) {
    MIXER_LOG(Warn) << "skipped: " << e.str();
  }
}

absl::Status ConfigStore::startWatching() {
  if (options_.config_dir.empty() || watcher_.joinable()) {
    return absl::OkStatus();
  }
  inotify_fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd_ < 0 || pipe(stop_pipe_) != 0) {
    return absl::InternalError("cannot watch the configuration directory (inotify)");
  }
  std::error_code ec;
  inotify_add_watch(inotify_fd_, options_.config_dir.c_str(), kWatchMask);
  for (auto it = std::filesystem::recursive_directory_iterator(options_.config_dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory(ec)) {
      inotify_add_watch(inotify_fd_, it->path().c_str(), kWatchMask);
    }
  }
  watcher_ = std::thread([this] { watch(); });
  return absl::OkStatus();
}

void ConfigStore::watch() {
  const int debounce_ms = static_cast<int>(absl::ToInt64Milliseconds(options_.debounce));
  bool dirty = false;
  alignas(inotify_event) char buf[16 * 1024];
  while (true) {
    pollfd fds[2] = {{inotify_fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    const int n = poll(fds, 2, dirty ? debounce_ms : -1);
    if (n < 0) {
      continue;
    }
    if (fds[1].revents != 0) {
      return;
    }
    if (n == 0) {
      // Quiet for the debounce interval after a completed change: load what is there now.
      dirty = false;
      // New subdirectories need watches too.
      std::error_code ec;
      for (auto it = std::filesystem::recursive_directory_iterator(options_.config_dir, ec);
           !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
        if (it->is_directory(ec)) {
          inotify_add_watch(inotify_fd_, it->path().c_str(), kWatchMask);
        }
      }
      reload();
      continue;
    }
    ssize_t len;
    while ((len = read(inotify_fd_, buf, sizeof(buf))) > 0) {
      for (ssize_t at = 0; at < len;) {
        const auto* event = reinterpret_cast<const inotify_event*>(buf + at);
        at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
        dirty = dirty || completesAChange(event->mask);
      }
    }
  }
}

void ConfigStore::shutdown() {
  if (watcher_.joinable()) {
    const char c = 'x';
    (void)!write(stop_pipe_[1], &c, 1);
    watcher_.join();
  }
  for (int* fd : {&inotify_fd_, &stop_pipe_[0], &stop_pipe_[1]}) {
    if (*fd >= 0) {
      close(*fd);
      *fd = -1;
    }
  }
  if (reports_) {
    reports_->shutdown();
  }
}

void ConfigStore::dropped(size_t instances) {
  if (batches_dropped_ != nullptr) {
    batches_dropped_->Increment();
    instances_dropped_->Increment(static_cast<double>(instances));
  }
}

void ConfigStore::failed(const std::string& handler) {
  if (handler_errors_ != nullptr) {
    handler_errors_->Increment();
  }
  HandlerErrors::global().failed(handler, "a report batch failed");
}

}  // namespace mixer::runtime
