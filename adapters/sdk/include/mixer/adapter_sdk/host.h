// host.h: Host, the C++ face of the host's services table (logging, clocks, executor, timers,
// counters). Part of the header-only SDK; adapter.h includes it.
#ifndef MIXER_ADAPTER_SDK_HOST_H_
#define MIXER_ADAPTER_SDK_HOST_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <utility>

#include "mixer/adapter_sdk/mixer_adapter.h"

namespace mixer::adapter_sdk {

// The host's services (logging, clocks, executor, counters) for this adapter. Thread-safe.
class Host {
 public:
  Host() = default;
  explicit Host(const mixer_host_api* api) : api_(api) {}

  void log(int32_t severity, std::string_view message) const {
    if (api_ != nullptr && api_->log != nullptr) {
      api_->log(api_->host_ctx, severity, mixer_string{message.data(), message.size()});
    }
  }
  void info(std::string_view message) const { log(MIXER_LOG_INFO, message); }
  void warning(std::string_view message) const { log(MIXER_LOG_WARNING, message); }
  void error(std::string_view message) const { log(MIXER_LOG_ERROR, message); }

  int64_t nowUnixNs() const { return api_ == nullptr ? 0 : api_->now_unix_ns(api_->host_ctx); }
  int64_t monotonicNs() const { return api_ == nullptr ? 0 : api_->monotonic_ns(api_->host_ctx); }

  // Runs `task` soon on a host background thread. Returns false if the host refused (shutdown).
  bool post(std::function<void()> task) const {
    if (api_ == nullptr) {
      return false;
    }
    auto* boxed = new std::function<void()>(std::move(task));
    if (api_->post(api_->host_ctx, &Host::runTask, boxed) != MIXER_OK) {
      delete boxed;
      return false;
    }
    return true;
  }

  // A scheduled timer; pass it to cancel().
  struct Timer {
    uint64_t id = 0;
    std::function<void()>* task = nullptr;
  };
  // Runs `task` after `delay_ns` on a host background thread. Timer.id == 0 when refused.
  Timer schedule(int64_t delay_ns, std::function<void()> task) const {
    if (api_ == nullptr) {
      return {};
    }
    auto* boxed = new std::function<void()>(std::move(task));
    uint64_t id = api_->schedule(api_->host_ctx, delay_ns, &Host::runTask, boxed);
    if (id == 0) {
      delete boxed;
      return {};
    }
    return Timer{id, boxed};
  }
  // True when the timer was cancelled before it ran.
  bool cancel(const Timer& timer) const {
    if (api_ == nullptr || timer.id == 0) {
      return false;
    }
    if (api_->cancel(api_->host_ctx, timer.id) == 1) {
      delete timer.task;
      return true;
    }
    return false;
  }

  // A counter exposed by the host on /metrics as mixer_adapter_<name>_total{adapter="..."}.
  class Counter {
   public:
    Counter() = default;
    Counter(const mixer_host_api* api, uint64_t id) : api_(api), id_(id) {}
    void add(double delta = 1) const {
      if (api_ != nullptr && id_ != 0) {
        api_->counter_add(api_->host_ctx, id_, delta);
      }
    }

   private:
    const mixer_host_api* api_ = nullptr;
    uint64_t id_ = 0;
  };
  Counter declareCounter(const char* name, const char* help) const {
    if (api_ == nullptr) {
      return {};
    }
    return Counter(api_, api_->declare_counter(api_->host_ctx, name, help));
  }

  const mixer_host_api* raw() const { return api_; }

 private:
  static void runTask(void* arg) {
    std::unique_ptr<std::function<void()>> task(static_cast<std::function<void()>*>(arg));
    try {
      (*task)();
    } catch (...) {
      // No exception may reach a host thread; the adapter's own code should have handled it.
    }
  }
  const mixer_host_api* api_ = nullptr;
};

}  // namespace mixer::adapter_sdk

#endif  // MIXER_ADAPTER_SDK_HOST_H_
