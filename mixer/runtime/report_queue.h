// ReportQueue: hands report batches to adapter handlers off the request thread.
//
// Request threads evaluate report instances (they need the request's attributes) and submit one
// batch per handler per Report call; a worker thread calls the handlers. The queue is bounded:
// when full, a batch is dropped and counted (`mixer_report_batches_dropped_total`), never blocking
// a request. Failed handler calls are counted and logged. shutdown() delivers what is queued.
//
// Wake-ups: a submit wakes the worker only when it sleeps for good (nothing came for a whole
// `linger`) or when kWakeAt batches wait. Otherwise the worker, having delivered what it found,
// waits `linger` and then takes every batch that came meanwhile: under a steady stream of Report
// calls it wakes once per linger for all of them, not once per call (each wake-up costs a request
// thread a futex call and the worker a context switch, more than delivering a small batch). A batch
// waits at most `linger` for delivery.
//
// Thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "mixer/adapter_host/handler.h"
#include "mixer/runtime/encoded_instances.h"

namespace mixer::runtime {

struct ReportBatch {
  adapter_host::Handler* handler = nullptr;  // kept alive by `owner`
  std::shared_ptr<const void> owner;         // what owns the handler (the config snapshot)
  EncodedInstances instances;                // finalized by the worker, just before the call
};

class ReportQueue {
 public:
  struct Counters {
    virtual ~Counters() = default;
    virtual void dropped(size_t instances) = 0;
    virtual void failed(const std::string& handler) = 0;
  };

  static constexpr absl::Duration kDefaultLinger = absl::Milliseconds(5);
  static constexpr size_t kWakeAt = 32;

  // `max_batches`: queued batches beyond this are dropped.
  ReportQueue(size_t max_batches, absl::Duration call_timeout, Counters* counters,
              absl::Duration linger = kDefaultLinger);
  ~ReportQueue();  // shutdown()

  // Never blocks on adapters. False when the batch was dropped (queue full or shut down).
  bool submit(ReportBatch batch);

  // An empty buffer for the next batch: one a delivered batch used (cleared, its capacity kept),
  // so that steady-state Reports do not grow fresh arrays for every batch; or a new one.
  EncodedInstances acquire();

  // Stops accepting batches, delivers every queued batch, joins the worker. Idempotent.
  void shutdown();

  size_t queued() const;
  // How many times submit() woke the worker (tests, benchmarks).
  uint64_t wakeups() const;

 private:
  void run();

  const size_t max_batches_;
  const absl::Duration call_timeout_;
  const absl::Duration linger_;
  Counters* counters_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<ReportBatch> queue_;
  std::vector<EncodedInstances> recycled_;  // at most kMaxRecycled
  static constexpr size_t kMaxRecycled = 32;
  bool stopping_ = false;
  bool sleeping_ = true;  // the worker waits with no time limit: a submit must wake it
  uint64_t wakeups_ = 0;
  std::thread worker_;
};

}  // namespace mixer::runtime
