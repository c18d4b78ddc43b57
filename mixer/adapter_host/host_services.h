// The services the host offers adapters through mixer_host_api: logging, clocks, a background
// executor with timers, and counters exposed on /metrics. Also the host's own counters about
// adapter calls (deadlines, invalid results).
#ifndef MIXER_ADAPTER_HOST_HOST_SERVICES_H_
#define MIXER_ADAPTER_HOST_HOST_SERVICES_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "mixer/adapter_sdk/mixer_adapter.h"

namespace mixer::adapter_host {

using Labels = std::vector<std::pair<std::string, std::string>>;

// A monotonically increasing counter. Thread-safe.
class Counter {
 public:
  virtual ~Counter() = default;
  virtual void add(double delta) = 0;
};

// Where counters live. The server backs this with prometheus-cpp (a Family per name, one child
// per label set); tests use InMemoryCounterRegistry. Thread-safe.
class CounterRegistry {
 public:
  virtual ~CounterRegistry() = default;
  // The counter for `name` and `labels`, created on first use. The pointer stays valid for the
  // registry's lifetime. `name` is a full metric name, e.g. "mixer_adapter_dropped_lines_total".
  virtual Counter* counter(const std::string& name, const std::string& help,
                           const Labels& labels) = 0;
};

// An in-memory CounterRegistry, for tests and for running without /metrics. Thread-safe.
class InMemoryCounterRegistry : public CounterRegistry {
 public:
  InMemoryCounterRegistry();
  ~InMemoryCounterRegistry() override;
  Counter* counter(const std::string& name, const std::string& help, const Labels& labels) override;
  // The value of a counter, 0 when it was never created.
  double value(const std::string& name, const Labels& labels) const;
  // The sum over every label set of `name`.
  double total(const std::string& name) const;

 private:
  class Cell;
  mutable std::mutex mu_;
  std::map<std::pair<std::string, Labels>, std::unique_ptr<Cell>> cells_;
};

// Runs tasks and timers on a small pool of background threads (adapters start no threads of
// their own). Thread-safe. Tasks run in due-time order; a task must not block for long.
class BackgroundExecutor {
 public:
  explicit BackgroundExecutor(int threads = 2);
  ~BackgroundExecutor();  // calls shutdown()
  BackgroundExecutor(const BackgroundExecutor&) = delete;
  BackgroundExecutor& operator=(const BackgroundExecutor&) = delete;

  // Runs `task` soon. False after shutdown().
  bool post(std::function<void()> task);
  // Runs `task` after `delay_ns` (<= 0: soon). Returns an id > 0, or 0 after shutdown().
  uint64_t schedule(int64_t delay_ns, std::function<void()> task);
  // True when the timer was removed before it started running.
  bool cancel(uint64_t id);
  // Tasks and timers scheduled and not yet run or cancelled.
  size_t pending();
  // Stops accepting work, runs tasks that are already due, drops timers not yet due (without
  // running them: an adapter frees what its timers hold in close_handler, and cancels them), and
  // joins the threads. Idempotent. Must not be called from an executor thread.
  void shutdown();

 private:
  void run(size_t index);

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  uint64_t next_id_ = 1;
  // Guarded by mu_: when each thread waiting on cv_ wakes by itself (kRunning: it is not waiting,
  // and looks at the queue before it does). schedule() wakes one only for a task due earlier.
  std::vector<int64_t> wakes_at_;
  int64_t last_schedule_ns_ = 0;  // while calls come, an idle thread waits in ticks, not forever
  std::set<std::pair<int64_t, uint64_t>> queue_;  // (due monotonic ns, id)
  std::map<uint64_t, std::pair<int64_t, std::function<void()>>> tasks_;
  std::vector<std::thread> threads_;
};

// Log lines from adapters (and the host about adapters). Thread-safe.
using LogSink =
    std::function<void(int32_t severity, std::string_view adapter, std::string_view message)>;

// A LogSink that writes "W adapter denier: message" lines to stderr.
LogSink stderrLogSink();

int64_t monotonicNowNs();
int64_t unixNowNs();

// The host services shared by every adapter, plus one mixer_host_api table per adapter (so logs
// and counters are attributed to it). Thread-safe. Must outlive every loaded adapter and handler,
// and the executor must be shut down before it is destroyed: it unloads the adapters' shared
// objects, whose code background tasks may still run.
class HostServices {
 public:
  // `counters` and `executor` are borrowed and must outlive this object.
  HostServices(CounterRegistry* counters, BackgroundExecutor* executor,
               LogSink log = stderrLogSink());
  ~HostServices();

  // A new services table for one adapter. `adapter` names it in logs and counter labels until
  // setAdapterName() (the loader learns the real name only after the entry point ran).
  // OWNERSHIP: the table is owned by this object and stays valid for its lifetime.
  const mixer_host_api* createApi(const std::string& adapter);
  void setAdapterName(const mixer_host_api* api, const std::string& adapter);

  // Keeps a dlopen handle until this object is destroyed (adapters stay mapped while their host
  // services exist: their host tables and background tasks refer to them).
  void adoptLibrary(void* dl_handle);

  // Counts a failed adapter call: mixer_adapter_call_errors_total{adapter,call,reason}.
  void countCallError(const std::string& adapter, const char* call, const char* reason);

  void log(int32_t severity, std::string_view adapter, std::string_view message) const;

  CounterRegistry* counters() const { return counters_; }
  BackgroundExecutor* executor() const { return executor_; }

  // Runs `close` soon, as a task of its own on the executor (or, once the executor has stopped,
  // on the host's closing thread, started on first use and drained by finishDeferredCloses). For
  // a handler whose last user let go of it inside that adapter's own completion (a reload's old
  // configuration outlived by one quota call, say): closing it there would have the adapter
  // wait, in close_handler, for the very callback it is running.
  void closeLater(std::function<void()> close);
  // Runs every close handed to closeLater and stops the closing thread. The adapter host calls
  // it once the executor has stopped (no completion can hand over another), before adapters are
  // unloaded. Idempotent.
  void finishDeferredCloses();

 private:
  struct AdapterContext;
  void runCloses();

  CounterRegistry* counters_;
  BackgroundExecutor* executor_;
  LogSink log_;
  std::mutex mu_;
  std::vector<std::unique_ptr<AdapterContext>> contexts_;
  std::vector<void*> libraries_;
  std::mutex close_mu_;
  std::condition_variable close_cv_;
  std::vector<std::function<void()>> closes_;
  bool closes_stopping_ = false;
  std::thread closer_;
};

}  // namespace mixer::adapter_host

#endif  // MIXER_ADAPTER_HOST_HOST_SERVICES_H_
