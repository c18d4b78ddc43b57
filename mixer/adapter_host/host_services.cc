#include "mixer/adapter_host/host_services.h"

#include <dlfcn.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <limits>

#include "base/log.h"

namespace mixer::adapter_host {

class InMemoryCounterRegistry::Cell : public Counter {
 public:
  void add(double delta) override {
    double current = value_.load();
    while (!value_.compare_exchange_weak(current, current + delta)) {
    }
  }
  double value() const { return value_.load(); }

 private:
  std::atomic<double> value_{0};
};

InMemoryCounterRegistry::InMemoryCounterRegistry() = default;
InMemoryCounterRegistry::~InMemoryCounterRegistry() = default;

Counter* InMemoryCounterRegistry::counter(const std::string& name, const std::string& help,
                                          const Labels& labels) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& cell = cells_[{name, labels}];
  if (cell == nullptr) {
    cell = std::make_unique<Cell>();
  }
  return cell.get();
}

double InMemoryCounterRegistry::value(const std::string& name, const Labels& labels) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = cells_.find({name, labels});
  return it == cells_.end() ? 0 : it->second->value();
}

double InMemoryCounterRegistry::total(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  double sum = 0;
  for (const auto& [key, cell] : cells_) {
    if (key.first == name) {
      sum += cell->value();
    }
  }
  return sum;
}

int64_t monotonicNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t unixNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {
constexpr int64_t kRunning = std::numeric_limits<int64_t>::min();
constexpr int64_t kForever = std::numeric_limits<int64_t>::max();
// An idle thread (no task queued) wakes at this interval while tasks were scheduled within the
// last second, so that a task due later than the next tick needs no wake-up of its own.
constexpr int64_t kIdleTickNs = 100'000'000;
constexpr int64_t kBusyNs = 1'000'000'000;
}  // namespace

BackgroundExecutor::BackgroundExecutor(int threads) {
  const size_t n = threads < 1 ? 1 : static_cast<size_t>(threads);
  wakes_at_.assign(n, kRunning);
  for (size_t i = 0; i < n; ++i) {
    threads_.emplace_back([this, i] { run(i); });
  }
}

BackgroundExecutor::~BackgroundExecutor() { shutdown(); }

bool BackgroundExecutor::post(std::function<void()> task) {
  return schedule(0, std::move(task)) != 0;
}

uint64_t BackgroundExecutor::schedule(int64_t delay_ns, std::function<void()> task) {
  const int64_t now = monotonicNowNs();
  const int64_t due = now + (delay_ns > 0 ? delay_ns : 0);
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) {
    return 0;
  }
  const uint64_t id = next_id_++;
  tasks_.emplace(id, std::make_pair(due, std::move(task)));
  queue_.emplace(due, id);
  last_schedule_ns_ = now;
  // A waiting thread sleeps until the earliest task it saw is due (or, idle, a tick): only a task
  // due before every waiting thread wakes anyway needs to wake one, and a running thread looks at
  // the queue before it waits. (Every adapter call with a deadline schedules a task due a timeout
  // away; waking a thread for each would cost a context switch per call.)
  bool waiting = false;
  int64_t first_wake = kForever;
  for (const int64_t at : wakes_at_) {
    if (at != kRunning) {
      waiting = true;
      first_wake = std::min(first_wake, at);
    }
  }
  if (waiting && due < first_wake) {
    cv_.notify_one();
  }
  return id;
}

bool BackgroundExecutor::cancel(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = tasks_.find(id);
  if (it == tasks_.end()) {
    return false;
  }
  queue_.erase({it->second.first, id});
  tasks_.erase(it);
  return true;
}

size_t BackgroundExecutor::pending() {
  std::lock_guard<std::mutex> lock(mu_);
  return tasks_.size();
}

void BackgroundExecutor::shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && threads_.empty()) {
      return;
    }
    stopping_ = true;
    cv_.notify_all();
  }
  for (std::thread& t : threads_) {
    if (t.joinable()) {
      t.join();
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  threads_.clear();
  queue_.clear();
  tasks_.clear();
}

void BackgroundExecutor::run(size_t index) {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    wakes_at_[index] = kRunning;
    const int64_t now = monotonicNowNs();
    if (!queue_.empty() && queue_.begin()->first <= now) {
      const uint64_t id = queue_.begin()->second;
      queue_.erase(queue_.begin());
      auto it = tasks_.find(id);
      std::function<void()> task = std::move(it->second.second);
      tasks_.erase(it);
      lock.unlock();
      task();
      lock.lock();
      continue;
    }
    if (stopping_) {
      return;  // only timers that are not yet due remain
    }
    int64_t wake_at = kForever;
    if (!queue_.empty()) {
      wake_at = queue_.begin()->first;
    } else if (now - last_schedule_ns_ < kBusyNs) {
      wake_at = now + kIdleTickNs;
    }
    wakes_at_[index] = wake_at;
    if (wake_at == kForever) {
      cv_.wait(lock);
    } else {
      cv_.wait_for(lock, std::chrono::nanoseconds(wake_at - now));
    }
  }
}

LogSink stderrLogSink() {
  return [](int32_t severity, std::string_view adapter, std::string_view message) {
    static const char kLetters[] = {'D', 'I', 'W', 'E'};
    const char letter = severity >= 0 && severity <= 3 ? kLetters[severity] : '?';
    const std::string safe = logSafe(message);  // adapters may log what clients sent
    std::fprintf(stderr, "%c adapter %.*s: %s\n", letter, static_cast<int>(adapter.size()),
                 adapter.data(), safe.c_str());
  };
}

// The host_ctx of one adapter's mixer_host_api.
struct HostServices::AdapterContext {
  HostServices* services = nullptr;
  mixer_host_api api{};
  mutable std::mutex mu;
  std::string adapter;
  std::map<std::string, uint64_t> counter_ids;
  // id - 1 -> counter. Created on first add, so that counters declared while the entry point
  // runs (before the loader knows the adapter's name) carry the right adapter label.
  struct DeclaredCounter {
    std::string name;
    std::string help;
    Counter* counter = nullptr;
  };
  std::vector<DeclaredCounter> counters;

  std::string name() const {
    std::lock_guard<std::mutex> lock(mu);
    return adapter;
  }
};

namespace {

bool validCounterName(const char* name) {
  if (name == nullptr || *name == '\0') {
    return false;
  }
  for (const char* p = name; *p != '\0'; ++p) {
    const char c = *p;
    const bool ok = (c >= 'a' && c <= 'z') || c == '_' || (p != name && c >= '0' && c <= '9');
    if (!ok) {
      return false;
    }
  }
  return true;
}

}  // namespace

HostServices::HostServices(CounterRegistry* counters, BackgroundExecutor* executor, LogSink log)
    : counters_(counters), executor_(executor), log_(std::move(log)) {}

HostServices::~HostServices() {
  finishDeferredCloses();
  // Unloading runs the adapters' static destructors; newest first, as with any stack of modules.
  for (auto it = libraries_.rbegin(); it != libraries_.rend(); ++it) {
    dlclose(*it);
  }
}

void HostServices::closeLater(std::function<void()> close) {
  // A task of its own on the executor, which can still run (and cancel) the adapter's timers;
  // once the executor has stopped, the closing thread, drained after it.
  if (executor_->post(close)) {
    return;
  }
  std::lock_guard<std::mutex> lock(close_mu_);
  if (closes_stopping_) {
    close();  // the executor has stopped: no adapter callback is running any more
    return;
  }
  closes_.push_back(std::move(close));
  if (!closer_.joinable()) {
    closer_ = std::thread([this] { runCloses(); });
  }
  close_cv_.notify_one();
}

void HostServices::runCloses() {
  std::unique_lock<std::mutex> lock(close_mu_);
  while (true) {
    if (!closes_.empty()) {
      std::vector<std::function<void()>> batch;
      batch.swap(closes_);
      lock.unlock();
      for (auto& close : batch) {
        close();
      }
      lock.lock();
      continue;
    }
    if (closes_stopping_) {
      return;
    }
    close_cv_.wait(lock);
  }
}

void HostServices::finishDeferredCloses() {
  std::thread closer;
  {
    std::lock_guard<std::mutex> lock(close_mu_);
    closes_stopping_ = true;
    close_cv_.notify_one();
    closer.swap(closer_);
  }
  if (closer.joinable()) {
    closer.join();  // it runs what is queued, then stops
  }
}

void HostServices::adoptLibrary(void* dl_handle) {
  std::lock_guard<std::mutex> lock(mu_);
  libraries_.push_back(dl_handle);
}

void HostServices::log(int32_t severity, std::string_view adapter, std::string_view message) const {
  if (log_) {
    log_(severity, adapter, message);
  }
}

void HostServices::countCallError(const std::string& adapter, const char* call,
                                  const char* reason) {
  counters_
      ->counter("mixer_adapter_call_errors_total",
                "Adapter calls that failed in the host: deadline exceeded, invalid result, "
                "adapter error, late or repeated completion.",
                {{"adapter", adapter}, {"call", call}, {"reason", reason}})
      ->add(1);
}

const mixer_host_api* HostServices::createApi(const std::string& adapter) {
  auto context = std::make_unique<AdapterContext>();
  context->services = this;
  context->adapter = adapter;
  mixer_host_api& api = context->api;
  api.struct_size = sizeof(mixer_host_api);
  api.abi_version = MIXER_ADAPTER_ABI_VERSION;
  api.host_ctx = context.get();
  api.log = [](void* ctx, int32_t severity, mixer_string message) {
    auto* c = static_cast<AdapterContext*>(ctx);
    c->services->log(severity, c->name(),
                     message.data == nullptr ? std::string_view()
                                             : std::string_view(message.data, message.size));
  };
  api.now_unix_ns = [](void*) { return unixNowNs(); };
  api.monotonic_ns = [](void*) { return monotonicNowNs(); };
  api.post = [](void* ctx, mixer_task_fn fn, void* arg) -> mixer_result {
    if (fn == nullptr) {
      return MIXER_ERR_INVALID_ARGUMENT;
    }
    auto* c = static_cast<AdapterContext*>(ctx);
    return c->services->executor_->post([fn, arg] { fn(arg); }) ? MIXER_OK : MIXER_ERR_UNAVAILABLE;
  };
  api.schedule = [](void* ctx, int64_t delay_ns, mixer_task_fn fn, void* arg) -> uint64_t {
    if (fn == nullptr) {
      return 0;
    }
    auto* c = static_cast<AdapterContext*>(ctx);
    return c->services->executor_->schedule(delay_ns, [fn, arg] { fn(arg); });
  };
  api.cancel = [](void* ctx, uint64_t id) -> int32_t {
    auto* c = static_cast<AdapterContext*>(ctx);
    return c->services->executor_->cancel(id) ? 1 : 0;
  };
  api.declare_counter = [](void* ctx, const char* name, const char* help) -> uint64_t {
    auto* c = static_cast<AdapterContext*>(ctx);
    if (!validCounterName(name)) {
      return 0;
    }
    std::lock_guard<std::mutex> lock(c->mu);
    auto it = c->counter_ids.find(name);
    if (it != c->counter_ids.end()) {
      return it->second;
    }
    c->counters.push_back(
        {std::string("mixer_adapter_") + name + "_total", help == nullptr ? "" : help, nullptr});
    const uint64_t id = c->counters.size();
    c->counter_ids.emplace(name, id);
    return id;
  };
  api.counter_add = [](void* ctx, uint64_t id, double delta) {
    auto* c = static_cast<AdapterContext*>(ctx);
    Counter* counter = nullptr;
    {
      std::lock_guard<std::mutex> lock(c->mu);
      if (id == 0 || id > c->counters.size() || !(delta >= 0)) {
        return;
      }
      AdapterContext::DeclaredCounter& declared = c->counters[id - 1];
      if (declared.counter == nullptr) {
        declared.counter = c->services->counters_->counter(declared.name, declared.help,
                                                           {{"adapter", c->adapter}});
      }
      counter = declared.counter;
    }
    counter->add(delta);
  };
  const mixer_host_api* out = &context->api;
  std::lock_guard<std::mutex> lock(mu_);
  contexts_.push_back(std::move(context));
  return out;
}

void HostServices::setAdapterName(const mixer_host_api* api, const std::string& adapter) {
  auto* c = static_cast<AdapterContext*>(api->host_ctx);
  std::lock_guard<std::mutex> lock(c->mu);
  c->adapter = adapter;
}

}  // namespace mixer::adapter_host
